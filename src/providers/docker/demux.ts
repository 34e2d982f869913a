/**
 * Docker's multiplexed exec stream (no tty): frames of an 8-byte header — stream type
 * (1 stdout, 2 stderr), three zero bytes, big-endian payload length — followed by the payload.
 * Frames arrive split across chunks arbitrarily, so the parser keeps what it has not used yet.
 */
import { Writable, type Writable as WritableType } from 'node:stream';

const HEADER_BYTES = 8;

/** Parses frames out of chunks; call push() per chunk, and it hands out whole or partial payloads in order. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private stream: 1 | 2 = 1;

  /** Feeds a chunk; `emit` receives payload pieces with their stream (1 stdout, 2 stderr). */
  push(chunk: Buffer, emit: (stream: 1 | 2, data: Buffer) => void): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length);
        emit(this.stream, buf.subarray(0, take));
        this.remaining -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < HEADER_BYTES) {
        this.pending = Buffer.from(buf);
        return;
      }
      // Type 0 is stdin echo and 3 is a system error; both are shown as stderr rather than lost.
      this.stream = buf[0] === 1 ? 1 : 2;
      this.remaining = buf.readUInt32BE(4);
      buf = buf.subarray(HEADER_BYTES);
    }
  }
}

/** A Writable that splits Docker's multiplexed stream into stdout and stderr, ending both when it ends. */
export function createDemuxer(stdout: WritableType, stderr: WritableType): Writable {
  const parser = new FrameParser();
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      let waits = 0;
      const done = (): void => {
        waits -= 1;
        if (waits === 0) callback();
      };
      waits += 1;
      parser.push(chunk, (stream, data) => {
        const target = stream === 1 ? stdout : stderr;
        // Respect the reader's pace: do not take more from Docker until this payload is drained.
        if (!target.write(data)) {
          waits += 1;
          target.once('drain', done);
        }
      });
      done();
    },
    final(callback) {
      stdout.end();
      stderr.end();
      callback();
    },
  });
}
