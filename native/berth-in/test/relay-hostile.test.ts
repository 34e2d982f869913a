/**
 * Whatever arrives on a relay's stdin, berth-in ends cleanly (exit 0 or 1, one-line message)
 * and never panics. Random bytes and random well-framed sequences, each against a fresh relay
 * with a live connection, so the frames reach real connection state.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRelayFrame, RELAY_FRAME, RelayDecoder, type RelayFrameType } from '../../../src/api/relay-protocol.js';
import { BIN, requireBinary } from './harness.js';

beforeAll(() => requireBinary());

/** Starts a relay, opens one connection through it, feeds `input` and closes stdin; resolves with how it ended. */
function feed(input: Buffer[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['relay', 'tcp', '--port', '0']);
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.stdin.on('error', () => {});
    const decoder = new RelayDecoder();
    let started = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.stdout.on('data', (c: Buffer) => {
      for (const f of decoder.push(c)) {
        if (f.type === RELAY_FRAME.READY && !started) {
          started = true;
          const sock = connect(JSON.parse(f.payload.toString()).port, '127.0.0.1');
          sock.on('error', () => {});
          sock.on('data', () => {});
          sock.once('connect', () => sock.write('x'));
          sock.once('close', () => {});
          child.once('exit', () => sock.destroy());
        }
        if (f.type === RELAY_FRAME.OPEN) {
          for (const b of input) child.stdin.write(b);
          child.stdin.end();
        }
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function expectClean(r: { code: number | null; signal: string | null; stderr: string }): void {
  expect(r.signal).toBeNull();
  expect([0, 1]).toContain(r.code);
  expect(r.stderr).not.toMatch(/panic:|goroutine /);
  if (r.code === 1) expect(r.stderr).toMatch(/^berth-in: failed: [^\n]*\n$/);
}

const types = Object.values(RELAY_FRAME) as RelayFrameType[];

describe('berth-in relay on hostile stdin', () => {
  it('ends cleanly on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), async (chunks) => {
        expectClean(await feed(chunks.map((c) => Buffer.from(c))));
      }),
      { numRuns: 40 },
    );
  });

  it('ends cleanly on random frames for live and unknown connections', async () => {
    const frameArb = fc.record({
      type: fc.oneof(fc.constantFrom(...types), fc.integer({ min: 0, max: 255 })),
      // Connection 1 is the live one.
      id: fc.oneof(fc.constant(1), fc.constant(0), fc.nat({ max: 0xffff_ffff })),
      payload: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array([0xff, 0xff, 0xff, 0xff])), fc.constant(new Uint8Array([0, 0, 0, 1]))),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { maxLength: 12 }), async (frames) => {
        const bytes = frames.map((f) => {
          const b = encodeRelayFrame(RELAY_FRAME.DATA, f.id, f.payload);
          b.writeUInt8(f.type, 0);
          return b;
        });
        expectClean(await feed(bytes));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a declared length over 64 KiB and an unknown type with exit 1', async () => {
    const huge = Buffer.alloc(9);
    huge.writeUInt8(RELAY_FRAME.DATA, 0);
    huge.writeUInt32BE(1, 1);
    huge.writeUInt32BE(0xffff_ffff, 5);
    const r1 = await feed([huge]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('frame length 4294967295 is over 65536');
    const r2 = await feed([Buffer.from([0x42, 0, 0, 0, 1, 0, 0, 0, 0])]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('unknown frame type 0x42');
  });
});
