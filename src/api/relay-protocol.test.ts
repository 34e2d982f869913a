import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeRelayData,
  encodeRelayFrame,
  encodeRelayWindow,
  RELAY_FRAME,
  RELAY_MAX_PAYLOAD,
  RelayDecoder,
  type RelayFrameType,
  RelayProtocolError,
  relayWindowBytes,
} from './relay-protocol.js';

const frameArb = fc.record({
  type: fc.constantFrom(...(Object.values(RELAY_FRAME) as RelayFrameType[])),
  id: fc.nat({ max: 0xffff_ffff }),
  payload: fc.uint8Array({ maxLength: 300 }),
});

/** Cuts `bytes` at the given fractions, so a stream arrives in arbitrary pieces. */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

describe('relay frames', () => {
  it('round-trips any frames cut at any points', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeRelayFrame(f.type, f.id, f.payload)));
        const d = new RelayDecoder();
        const got = cut(stream, cuts).flatMap((c) => d.push(c));
        expect(got.map((f) => ({ type: f.type, id: f.id, payload: new Uint8Array(f.payload) }))).toEqual(
          frames.map((f) => ({ ...f, payload: new Uint8Array(f.payload) })),
        );
        expect(d.pending).toBe(0);
      }),
    );
  });

  it('never throws on arbitrary bytes except with RelayProtocolError, and stays broken after', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const d = new RelayDecoder();
        let broken: unknown = null;
        for (const c of chunks) {
          try {
            d.push(c);
          } catch (err) {
            expect(err).toBeInstanceOf(RelayProtocolError);
            broken = err;
            break;
          }
        }
        if (broken) expect(() => d.push(Buffer.from([1]))).toThrow(RelayProtocolError);
      }),
    );
  });

  it('refuses an unknown type and an oversized length from the header alone', () => {
    expect(() => new RelayDecoder().push(Buffer.from([0x08, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/unknown relay frame type 0x08/);
    const huge = Buffer.alloc(9);
    huge.writeUInt8(RELAY_FRAME.DATA, 0);
    huge.writeUInt32BE(RELAY_MAX_PAYLOAD + 1, 5);
    expect(() => new RelayDecoder().push(huge)).toThrow(RelayProtocolError);
    expect(() => encodeRelayFrame(RELAY_FRAME.DATA, 1, Buffer.alloc(RELAY_MAX_PAYLOAD + 1))).toThrow(RelayProtocolError);
  });

  it('splits data at the payload limit and encodes windows', () => {
    const frames = encodeRelayData(3, Buffer.alloc(RELAY_MAX_PAYLOAD * 2 + 5, 7));
    expect(frames.map((f) => f.length - 9)).toEqual([RELAY_MAX_PAYLOAD, RELAY_MAX_PAYLOAD, 5]);
    const [w] = new RelayDecoder().push(encodeRelayWindow(9, 123_456));
    expect(w.type).toBe(RELAY_FRAME.WINDOW);
    expect(relayWindowBytes(w)).toBe(123_456);
    expect(() => relayWindowBytes({ type: RELAY_FRAME.WINDOW, id: 1, payload: Buffer.alloc(3) })).toThrow(RelayProtocolError);
  });
});
