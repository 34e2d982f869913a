/**
 * What berth's exit status means, so scripts can branch on the kind of failure without
 * parsing messages. Every error code must pick a status: a new code fails the typecheck here.
 */
import type { ErrorCode } from '../api/index.js';

/** Exit statuses of the berth CLI. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  AUTH: 4,
  CONFLICT: 5,
  UNAVAILABLE: 6,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  UNAUTHENTICATED: EXIT.AUTH,
  PERMISSION_DENIED: EXIT.AUTH,
  NOT_FOUND: EXIT.NOT_FOUND,
  ALREADY_EXISTS: EXIT.CONFLICT,
  FAILED_PRECONDITION: EXIT.CONFLICT,
  CANCELLED: EXIT.CONFLICT,
  QUOTA_EXCEEDED: EXIT.CONFLICT,
  UNSUPPORTED: EXIT.FAILURE,
  PROVIDER_UNAVAILABLE: EXIT.UNAVAILABLE,
  NO_NODE_AVAILABLE: EXIT.UNAVAILABLE,
  NODE_OFFLINE: EXIT.UNAVAILABLE,
  UNAVAILABLE: EXIT.UNAVAILABLE,
  PROTOCOL_MISMATCH: EXIT.FAILURE,
  TIMEOUT: EXIT.FAILURE,
  INTERNAL: EXIT.FAILURE,
};

/** The exit status for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code];
}

/** Maps a remote command's exit code onto what a process can return; anything outside 0-255 becomes 1 rather than wrapping around to success. */
export function processExitCode(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT.FAILURE;
}
