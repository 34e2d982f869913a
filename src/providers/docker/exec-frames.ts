/**
 * The wire format of berth-in's exec server (native/berth-in/execframes.go): the relay's frame
 * header (1 byte type, 4 bytes id — always 0 here —, 4 bytes length, big endian) with the exec
 * server's own types.
 */

/** Frame types, as execframes.go names them. */
export const EXEC_FRAME = {
  hello: 0x41,
  request: 0x42,
  stdin: 0x43,
  eof: 0x44,
  resize: 0x45,
  signal: 0x46,
  stdout: 0x47,
  stderr: 0x48,
  exit: 0x49,
} as const;

const HEADER = 9;
/** Largest payload of any frame but the request; the server refuses more. */
export const MAX_EXEC_PAYLOAD = 65536;
/** Largest request frame the server accepts. */
export const MAX_EXEC_REQUEST = 4 << 20;

/** One decoded frame. */
export interface ExecFrame {
  type: number;
  payload: Buffer;
}

/** One frame as bytes, ready for a single write. */
export function encodeExecFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const buf = Buffer.alloc(HEADER + payload.length);
  buf[0] = type;
  buf.writeUInt32BE(payload.length, 5);
  payload.copy(buf, HEADER);
  return buf;
}

/** Splits a byte stream into frames; throws on a type or length the server would never send. */
export class ExecFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** The whole frames completed by `chunk`, in order. */
  push(chunk: Buffer): ExecFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: ExecFrame[] = [];
    while (this.pending.length >= HEADER) {
      const type = this.pending[0];
      const length = this.pending.readUInt32BE(5);
      if (type < EXEC_FRAME.hello || type > EXEC_FRAME.exit) throw new Error(`unknown exec frame type 0x${type.toString(16)}`);
      if (length > MAX_EXEC_PAYLOAD) throw new Error(`exec frame of ${length} bytes is over ${MAX_EXEC_PAYLOAD}`);
      if (this.pending.length < HEADER + length) break;
      out.push({ type, payload: this.pending.subarray(HEADER, HEADER + length) });
      this.pending = this.pending.subarray(HEADER + length);
    }
    return out;
  }
}
