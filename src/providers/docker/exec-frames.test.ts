import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXEC_FRAME, ExecFrameDecoder, encodeExecFrame, MAX_EXEC_PAYLOAD } from './exec-frames.js';

const types = Object.values(EXEC_FRAME);

describe('exec server frames', () => {
  it('decode back to what was encoded, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...types), payload: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => encodeExecFrame(f.type, Buffer.from(f.payload))));
          const decoder = new ExecFrameDecoder();
          const out: { type: number; payload: Buffer }[] = [];
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length];
            out.push(...decoder.push(bytes.subarray(at, at + n)));
            at += n;
          }
          expect(out.map((f) => ({ type: f.type, payload: [...f.payload] }))).toEqual(frames.map((f) => ({ type: f.type, payload: [...f.payload] })));
        },
      ),
    );
  });

  it('refuses an unknown type or an oversized length before reading the payload', () => {
    expect(() => new ExecFrameDecoder().push(encodeExecFrame(0x04, Buffer.from('relay data')))).toThrow(/unknown exec frame type/);
    const big = encodeExecFrame(EXEC_FRAME.stdout);
    big.writeUInt32BE(MAX_EXEC_PAYLOAD + 1, 5);
    expect(() => new ExecFrameDecoder().push(big)).toThrow(/over/);
  });
});
