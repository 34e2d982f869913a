/** How errors reach the user: one line a person can act on, or JSON for scripts. */
import type { Writable } from 'node:stream';
import type { ApiError } from '../../api/index.js';

/** The human form: `error: CODE: message (field: x)`, plus the detail on a second line when there is one. */
export function formatErrorText(error: ApiError): string {
  const field = error.field ? ` (field: ${error.field})` : '';
  const detail = error.detail ? `\n  detail: ${error.detail}` : '';
  return `error: ${error.code}: ${error.message}${field}${detail}\n`;
}

/** Writes an error to stderr in the chosen form; JSON is `{"error": {...}}`. */
export function writeError(stderr: Writable, error: ApiError, json: boolean): void {
  stderr.write(json ? JSON.stringify({ error }) + '\n' : formatErrorText(error));
}
