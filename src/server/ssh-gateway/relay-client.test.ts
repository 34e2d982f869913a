/**
 * The gateway's relay client against hostile or broken relays: whatever the process in the
 * workspace prints (garbage, FAIL, frames out of order, windows overrun, random frames), the
 * gateway never throws, and what it sends back is always well-formed relay frames that respect
 * the protocol (no DATA after EOF, never past the granted window). The exec is an in-memory
 * stand-in for the hub; the real relay is exercised in forwarding.test.ts.
 */

import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Channel } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { encodeRelayFrame, RELAY_FRAME, RELAY_INITIAL_WINDOW, RelayDecoder, type RelayFrame, type Workspace } from '../../api/index.js';
import type { ExecSink } from '../agents/hub.js';
import { withBerthIn } from './berth-in.js';
import { Relay } from './relay-client.js';

const ws = { id: 'w', nodeId: 'n', name: 'demo' } as Workspace;
const log = pino({ level: 'silent' });

/** A hub whose one exec prints `output` (then exits with `code` unless null) and records stdin. */
function fakeHub(output: Buffer[], code: number | null = null) {
  const stdin: Buffer[] = [];
  let eof = false;
  let closed = false;
  const hub = {
    openExec: async (_n: string, _w: string, _r: unknown, sink: ExecSink) => {
      setImmediate(() => {
        for (const o of output) sink.output('stdout', o);
        if (code !== null) sink.exit(code);
      });
      return {
        stdin: (d: Buffer) => void stdin.push(Buffer.from(d)),
        eof: () => void (eof = true),
        resize: () => {},
        pauseOutput: () => {},
        resumeOutput: () => {},
        close: () => {
          closed = true;
          sink.exit(-1);
        },
      };
    },
  };
  return { hub, stdin, ended: () => eof || closed };
}

/** A channel stand-in: takes writes, ignores eof and close. */
class FakeChannel extends Duplex {
  override _read(): void {}
  override _write(_c: Buffer, _e: BufferEncoding, cb: () => void): void {
    cb();
  }
  eof(): void {}
  close(): void {}
}

const ready = encodeRelayFrame(RELAY_FRAME.READY, 0, Buffer.from('{"port":4242}'));
const start = (hub: ReturnType<typeof fakeHub>['hub'], openChannel = async () => new FakeChannel() as unknown as Channel) =>
  Relay.start({ hub }, ws, { cmd: ['berth-in', 'relay'], log, openChannel });

describe('relay client against a broken relay', () => {
  it('refuses garbage, a FAIL frame and an early exit with what went wrong', async () => {
    await expect(start(fakeHub([Buffer.from('#!/bin/sh garbage, not frames')]).hub)).rejects.toThrow(/garbage: unknown relay frame type/);
    await expect(start(fakeHub([encodeRelayFrame(RELAY_FRAME.FAIL, 0, Buffer.from('listen tcp 127.0.0.1:80: bind: permission denied'))]).hub)).rejects.toThrow(
      /permission denied/,
    );
    await expect(start(fakeHub([], 1).hub)).rejects.toThrow(/exited with status 1 before listening/);
  });

  it('turns a missing berth-in into advice to restart the workspace', async () => {
    const { hub } = fakeHub([], 127);
    await expect(
      withBerthIn({}, ws, () => Relay.start({ hub }, ws, { cmd: ['x'], log, openChannel: async () => new FakeChannel() as unknown as Channel })),
    ).rejects.toThrow(/no \/\.berth\/bin\/berth-in.*berth ws restart demo/);
  });

  it('reports where it listens, and closes its stdin on stop', async () => {
    const f = fakeHub([ready]);
    const relay = await start(f.hub);
    expect(relay.ready).toEqual({ port: 4242 });
    relay.stop();
    expect(f.ended()).toBe(true);
  });

  it('never throws and only ever answers with well-formed, in-window frames, whatever frames it is sent (fuzzed)', async () => {
    const frame = fc.record({
      type: fc.integer({ min: 1, max: 7 }),
      id: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.nat()),
      payload: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array([0, 4, 0, 0])), fc.constant(Buffer.from('{"peer":"127.0.0.1:5"}'))),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { maxLength: 40 }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300_000 }), { maxLength: 3 }),
        async (frames, clientData) => {
          const channels: FakeChannel[] = [];
          // Connection 1 always opens first, so every run carries client bytes against a window.
          const open1 = encodeRelayFrame(RELAY_FRAME.OPEN, 1, Buffer.from('{"peer":"127.0.0.1:5"}'));
          const f = fakeHub([ready, open1, ...frames.map((x) => encodeRelayFrame(x.type as 1, x.id, x.payload))]);
          const relay = await start(f.hub, async () => {
            const ch = new FakeChannel();
            channels.push(ch);
            // The client sends bytes and then its EOF on every channel, as fast as it can.
            setImmediate(() => {
              for (const d of clientData) ch.push(Buffer.from(d));
              ch.push(null);
            });
            return ch as unknown as Channel;
          });
          await new Promise((r) => setTimeout(r, 5));
          relay.stop();
          const sent: RelayFrame[] = new RelayDecoder().push(Buffer.concat(f.stdin));
          const perId = new Map<number, { data: number; granted: number; eof: boolean; closed: boolean }>();
          for (const s of sent) {
            expect([RELAY_FRAME.DATA, RELAY_FRAME.EOF, RELAY_FRAME.CLOSE, RELAY_FRAME.WINDOW]).toContain(s.type);
            const st = perId.get(s.id) ?? { data: 0, granted: 0, eof: false, closed: false };
            perId.set(s.id, st);
            expect(st.closed).toBe(false);
            if (s.type === RELAY_FRAME.DATA) {
              expect(st.eof).toBe(false);
              st.data += s.payload.length;
            }
            if (s.type === RELAY_FRAME.EOF) st.eof = true;
            if (s.type === RELAY_FRAME.CLOSE) st.closed = true;
          }
          // What the relay granted us, per id, from the frames it sent.
          for (const x of frames)
            if (x.type === RELAY_FRAME.WINDOW && x.payload.length === 4 && perId.has(x.id)) perId.get(x.id)!.granted += Buffer.from(x.payload).readUInt32BE(0);
          for (const st of perId.values()) expect(st.data).toBeLessThanOrEqual(RELAY_INITIAL_WINDOW + st.granted);
          // Left alone by the relay, connection 1 carried the client's bytes.
          if (clientData.length > 0 && !frames.some((x) => x.id === 1)) expect(perId.get(1)?.data ?? 0).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
