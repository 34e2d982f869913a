import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../api/index.js';
import { EXIT, exitCodeFor, processExitCode } from './exit-codes.js';

describe('exit codes', () => {
  it.each<[ErrorCode, number]>([
    ['INVALID_ARGUMENT', 2],
    ['NOT_FOUND', 3],
    ['UNAUTHENTICATED', 4],
    ['PERMISSION_DENIED', 4],
    ['ALREADY_EXISTS', 5],
    ['FAILED_PRECONDITION', 5],
    ['PROVIDER_UNAVAILABLE', 6],
    ['NO_NODE_AVAILABLE', 6],
    ['NODE_OFFLINE', 6],
    ['UNAVAILABLE', 6],
    ['INTERNAL', 1],
    ['TIMEOUT', 1],
    ['UNSUPPORTED', 1],
    ['PROTOCOL_MISMATCH', 1],
  ])('%s → %i', (code, status) => {
    expect(exitCodeFor(code)).toBe(status);
  });

  it('gives every registered code a non-zero status', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) expect(exitCodeFor(code)).toBeGreaterThan(0);
  });

  it('passes command exit codes through when a process can return them', () => {
    expect(processExitCode(0)).toBe(0);
    expect(processExitCode(42)).toBe(42);
    expect(processExitCode(255)).toBe(255);
    // 256 would wrap to 0 and turn a failure into success.
    expect(processExitCode(256)).toBe(EXIT.FAILURE);
    expect(processExitCode(-1)).toBe(EXIT.FAILURE);
  });
});
