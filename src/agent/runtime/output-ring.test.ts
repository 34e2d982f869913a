/** The replay buffer of reattachable terminals: always exactly the latest output, never more than its bound. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutputRing } from './output-ring.js';

describe('OutputRing', () => {
  it('holds the last `limit` bytes of everything pushed, in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 30 }), (limit, chunks) => {
        const ring = new OutputRing(limit);
        for (const c of chunks) ring.push(Buffer.from(c));
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        expect(ring.contents().equals(all.subarray(Math.max(0, all.length - limit)))).toBe(true);
      }),
    );
  });
});
