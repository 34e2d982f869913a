import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDemuxer, FrameParser } from './demux.js';

function frame(stream: 1 | 2, data: string): Buffer {
  const payload = Buffer.from(data);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a buffer at the given cut points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

describe('FrameParser', () => {
  it('reassembles stdout and stderr however the frames are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<1 | 2>(1, 2), fc.string({ maxLength: 50 })), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 15 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map(([s, d]) => frame(s, d)));
          const got = { 1: [] as Buffer[], 2: [] as Buffer[] };
          const parser = new FrameParser();
          for (const chunk of split(wire, cuts)) parser.push(chunk, (s, d) => got[s].push(Buffer.from(d)));
          const want = (s: 1 | 2): string =>
            frames
              .filter(([fs]) => fs === s)
              .map(([, d]) => d)
              .join('');
          expect(Buffer.concat(got[1]).toString()).toBe(want(1));
          expect(Buffer.concat(got[2]).toString()).toBe(want(2));
        },
      ),
    );
  });
});

describe('createDemuxer', () => {
  it('writes each stream to its own output and ends both at the end', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const demux = createDemuxer(stdout, stderr);
    const out = text(stdout);
    const err = text(stderr);
    const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world')]);
    demux.write(wire.subarray(0, 3));
    demux.write(wire.subarray(3, 17));
    demux.end(wire.subarray(17));
    expect(await out).toBe('hello world');
    expect(await err).toBe('oops');
  });
});
