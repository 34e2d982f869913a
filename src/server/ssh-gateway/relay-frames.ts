/**
 * The relay frames of `berth-in relay` (contract: docs/berth-in.md), as the gateway uses them:
 * a streaming decoder that never trusts its input and an encoder. Each frame: 1 byte type,
 * 4 bytes connection id, 4 bytes payload length (big endian, at most 65536), payload.
 */

/** Frame types. */
export const FRAME = { ready: 0x01, fail: 0x02, open: 0x03, data: 0x04, eof: 0x05, close: 0x06, window: 0x07 } as const;
/** Largest payload of one frame. */
export const MAX_FRAME_PAYLOAD = 65536;
/** What each side may send per connection before the other grants more. */
export const INITIAL_WINDOW = 256 * 1024;
const HEADER = 9;

/** One decoded frame. */
export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

/** Encodes one frame in one buffer. */
export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`relay frame payload of ${payload.length} bytes is over ${MAX_FRAME_PAYLOAD}`);
  const buf = Buffer.allocUnsafe(HEADER + payload.length);
  buf[0] = type;
  buf.writeUInt32BE(id >>> 0, 1);
  buf.writeUInt32BE(payload.length, 5);
  payload.copy(buf, HEADER);
  return buf;
}

/** A WINDOW frame granting `bytes` more on `id`. */
export function windowFrame(id: number, bytes: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(bytes >>> 0, 0);
  return encodeFrame(FRAME.window, id, p);
}

/** Splits a byte stream into frames; throws on an unknown type or an oversized length. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private size = 0;

  /** Adds bytes; returns the frames completed by them. */
  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.size += chunk.length;
    const frames: Frame[] = [];
    if (this.size < HEADER) return frames;
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.size);
    let at = 0;
    while (buf.length - at >= HEADER) {
      const type = buf[at];
      if (type < FRAME.ready || type > FRAME.window) throw new Error(`unknown relay frame type 0x${type.toString(16).padStart(2, '0')}`);
      const len = buf.readUInt32BE(at + 5);
      if (len > MAX_FRAME_PAYLOAD) throw new Error(`relay frame length ${len} is over ${MAX_FRAME_PAYLOAD}`);
      if (buf.length - at < HEADER + len) break;
      // A copy, so one retained frame does not pin a whole read buffer.
      frames.push({ type, id: buf.readUInt32BE(at + 1), payload: Buffer.from(buf.subarray(at + HEADER, at + HEADER + len)) });
      at += HEADER + len;
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? [buf] : [];
    this.size = buf.length;
    return frames;
  }
}
