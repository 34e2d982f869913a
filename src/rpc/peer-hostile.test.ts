/**
 * Hostile frames straight into an RpcPeer, many per second: whatever arrives, nothing may
 * throw out of the socket listener (that would end the process), and every request gets a
 * response with a registered code.
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ERROR_CODES } from '../api/index.js';
import { RpcPeer } from './peer.js';

/** Just enough of a ws socket for RpcPeer: frames go in with emit, answers are collected. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  send(data: string | Buffer): void {
    this.sent.push(typeof data === 'string' ? JSON.parse(data) : data);
  }
}

const names = [
  'workspace.create',
  'workspace.inspect',
  'exec.open',
  'image.list',
  'op.log',
  'exec.exit',
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '',
];
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(...names),
  fc.dictionary(fc.constantFrom(...names, 'opId', 'sessionId'), fc.jsonValue()),
);
const frame = fc.oneof(
  fc
    .record(
      {
        type: fc.constantFrom('request', 'response', 'event', 'hello', 'heartbeat', 'welcome', 'constructor'),
        id: fc.oneof(fc.string(), fc.constantFrom(...names)),
        method: fc.constantFrom(...names),
        name: fc.constantFrom(...names),
        params: value,
        payload: value,
        result: value,
        error: value,
      },
      { requiredKeys: ['type'] },
    )
    .map((f) => JSON.stringify(f)),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);

describe('RpcPeer under hostile frames', () => {
  it('never throws out of the socket listener and answers every request with a registered code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(frame, fc.boolean()), { maxLength: 10 }), async (frames) => {
        const socket = new FakeSocket();
        const handlerErrors: unknown[] = [];
        new RpcPeer(socket as unknown as WebSocket, {
          onRequest: async () => ({ status: 'running' }),
          onEvent: () => {},
          onFrame: () => {},
          onBinary: () => {},
          onHandlerError: (err) => handlerErrors.push(err),
        });
        for (const [text, binary] of frames) socket.emit('message', binary ? Buffer.from(text) : Buffer.from(text), binary);
        await new Promise((r) => setImmediate(r));
        for (const out of socket.sent as Array<{ type: string; error?: { code: string } }>) {
          expect(out.type).toBe('response');
          if (out.error) expect(Object.hasOwn(ERROR_CODES, out.error.code)).toBe(true);
          if (out.error) expect(out.error.code).not.toBe('INTERNAL');
        }
        expect(handlerErrors).toEqual([]);
      }),
      { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 500) },
    );
  });
});
