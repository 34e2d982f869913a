import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeExecData, encodeExecData } from './agent-protocol.js';

describe('exec data frames', () => {
  it('round-trip any payload for every kind', () => {
    fc.assert(
      fc.property(fc.constantFrom('stdout', 'stderr', 'stdin' as const), fc.uuid(), fc.uint8Array({ maxLength: 4096 }), (kind, id, bytes) => {
        const frame = encodeExecData(kind, id, Buffer.from(bytes));
        expect(decodeExecData(frame)).toEqual({ kind, sessionId: id, payload: Buffer.from(bytes) });
      }),
    );
  });

  it('refuse malformed frames and ids of the wrong length', () => {
    expect(decodeExecData(Buffer.from([1, 2, 3]))).toBeNull();
    expect(decodeExecData(Buffer.concat([Buffer.from([9]), Buffer.alloc(36, 97)]))).toBeNull();
    expect(() => encodeExecData('stdout', 'short', Buffer.alloc(0))).toThrow(/36/);
  });
});
