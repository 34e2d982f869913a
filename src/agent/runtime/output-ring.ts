/** The bounded replay buffer of a kept terminal (see kept-terminals.ts). */
import { TERMINAL_REPLAY_BYTES } from '../../api/index.js';

/** Recent output, at most `limit` bytes (the oldest dropped first). */
export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = TERMINAL_REPLAY_BYTES) {}

  /** Adds output. */
  push(data: Buffer): void {
    const chunk = data.length > this.limit ? data.subarray(data.length - this.limit) : data;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** Everything kept, oldest first. */
  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
