/** Machine-readable output for --json. */
import type { Writable } from 'node:stream';

/** Writes a value as indented JSON followed by a newline. */
export function writeJson(out: Writable, value: unknown): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}
