/**
 * The relay frames `berth-in relay tcp|unix` speaks on its stdin/stdout (the Go side is
 * native/berth-in/frames.go; docs/berth-in.md): 1 byte type, 4 bytes connection id, 4 bytes
 * payload length (both big endian, at most 64 KiB), payload. Used for ssh -R and ssh -A,
 * where connections accepted inside a workspace are carried over one exec session.
 */

/** Frame types; READY, FAIL and OPEN only ever come from berth-in. */
export const RELAY_FRAME = {
  READY: 0x01,
  FAIL: 0x02,
  OPEN: 0x03,
  DATA: 0x04,
  EOF: 0x05,
  CLOSE: 0x06,
  WINDOW: 0x07,
} as const;
/** One of RELAY_FRAME's values. */
export type RelayFrameType = (typeof RELAY_FRAME)[keyof typeof RELAY_FRAME];

/** Bytes before each payload. */
export const RELAY_HEADER_BYTES = 9;
/** Largest payload of one frame; a longer declared length is refused before anything is buffered. */
export const RELAY_MAX_PAYLOAD = 65_536;
/** DATA bytes either side may send per connection before the other grants more with WINDOW. */
export const RELAY_INITIAL_WINDOW = 256 * 1024;

/** A decoded frame. */
export interface RelayFrame {
  type: RelayFrameType;
  id: number;
  payload: Buffer;
}

/** Input that is not relay frames (unknown type, oversized length, a bad field); the relay must end. */
export class RelayProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayProtocolError';
  }
}

/** Encodes one frame; throws RelayProtocolError for a payload over RELAY_MAX_PAYLOAD or a bad id. */
export function encodeRelayFrame(type: RelayFrameType, id: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (payload.length > RELAY_MAX_PAYLOAD)
    throw new RelayProtocolError(`A relay frame carries at most ${RELAY_MAX_PAYLOAD} bytes, not ${payload.length}; split the data.`);
  if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new RelayProtocolError(`Relay connection id ${id} is not a 32-bit unsigned integer.`);
  const out = Buffer.allocUnsafe(RELAY_HEADER_BYTES + payload.length);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(id, 1);
  out.writeUInt32BE(payload.length, 5);
  out.set(payload, RELAY_HEADER_BYTES);
  return out;
}

/** DATA frames for `data`, split at RELAY_MAX_PAYLOAD. */
export function encodeRelayData(id: number, data: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += RELAY_MAX_PAYLOAD) out.push(encodeRelayFrame(RELAY_FRAME.DATA, id, data.subarray(at, at + RELAY_MAX_PAYLOAD)));
  return out;
}

/** A WINDOW frame granting `bytes` more. */
export function encodeRelayWindow(id: number, bytes: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(bytes, 0);
  return encodeRelayFrame(RELAY_FRAME.WINDOW, id, p);
}

const KNOWN_TYPES = new Set<number>(Object.values(RELAY_FRAME));

/**
 * Decodes frames from a byte stream cut at arbitrary points. `push` returns the frames now
 * complete; it throws RelayProtocolError (and only that) for an unknown type or a length over
 * the limit, after which the decoder refuses all further input.
 */
export class RelayDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private broken: RelayProtocolError | null = null;

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Adds bytes and returns every frame they complete. */
  push(chunk: Uint8Array): RelayFrame[] {
    if (this.broken) throw this.broken;
    if (chunk.length) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: RelayFrame[] = [];
    for (;;) {
      if (this.buffered < RELAY_HEADER_BYTES) return frames;
      const head = this.peek(RELAY_HEADER_BYTES);
      const type = head.readUInt8(0);
      const length = head.readUInt32BE(5);
      if (!KNOWN_TYPES.has(type)) throw this.fail(`unknown relay frame type 0x${type.toString(16).padStart(2, '0')}`);
      if (length > RELAY_MAX_PAYLOAD) throw this.fail(`relay frame length ${length} is over the ${RELAY_MAX_PAYLOAD}-byte limit`);
      if (this.buffered < RELAY_HEADER_BYTES + length) return frames;
      const whole = this.take(RELAY_HEADER_BYTES + length);
      frames.push({ type: type as RelayFrameType, id: whole.readUInt32BE(1), payload: Buffer.from(whole.subarray(RELAY_HEADER_BYTES)) });
    }
  }

  private fail(message: string): RelayProtocolError {
    this.broken = new RelayProtocolError(message);
    this.chunks = [];
    this.buffered = 0;
    return this.broken;
  }

  /** The first n buffered bytes (n ≤ buffered), joining chunks only as far as needed. */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    const out = this.peek(n);
    const first = this.chunks[0];
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** The payload of a WINDOW frame: how many more bytes may be sent; RelayProtocolError unless 4 bytes. */
export function relayWindowBytes(frame: RelayFrame): number {
  if (frame.payload.length !== 4) throw new RelayProtocolError(`a WINDOW frame carries 4 bytes, not ${frame.payload.length}`);
  return frame.payload.readUInt32BE(0);
}
