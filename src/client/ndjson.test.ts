import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNdjsonLines } from './ndjson.js';

async function collect(chunks: Uint8Array[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const v of readNdjsonLines(
    (async function* () {
      yield* chunks;
    })(),
  ))
    out.push(v);
  return out;
}

describe('readNdjsonLines', () => {
  it('yields the same values however the bytes are split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        async (values, cuts, trailingNewline) => {
          const text = values.map((v) => JSON.stringify(v)).join('\n') + (trailingNewline ? '\n' : '');
          const bytes = Buffer.from(text, 'utf8');
          // Cut anywhere, even inside a multi-byte character.
          const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let last = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(last, p));
            last = p;
          }
          expect(await collect(chunks)).toEqual(JSON.parse(JSON.stringify(values)));
        },
      ),
    );
  });

  it('skips blank lines', async () => {
    expect(await collect([Buffer.from('\n{"a":1}\n\n\n2\n')])).toEqual([{ a: 1 }, 2]);
  });
});
