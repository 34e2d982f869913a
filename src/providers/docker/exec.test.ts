import { describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { normalizeExitCode } from './exec.js';
import { makeHandle, readHandle } from './handle.js';
import { statusOfContainer } from './provider.js';

describe('normalizeExitCode', () => {
  const notFound = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "x": executable file not found in $PATH: unknown';
  it('turns a runtime "not found" into 127 and leaves other codes alone', () => {
    expect(normalizeExitCode(126, 0, notFound)).toBe(127);
    expect(normalizeExitCode(126, 0, 'exec: "/a/b": stat /a/b: no such file or directory')).toBe(127);
    expect(normalizeExitCode(126, 0, 'exec: "/etc": permission denied')).toBe(126);
    // The command itself exited 126 (it started: its pid is known), whatever it printed.
    expect(normalizeExitCode(126, 4242, notFound)).toBe(126);
    expect(normalizeExitCode(0, 0, '')).toBe(0);
    expect(normalizeExitCode(3, 77, '')).toBe(3);
  });
});

describe('docker handles', () => {
  it('round-trips and refuses foreign or future handles', () => {
    const h = makeHandle('w1', { containerId: 'c', containerName: 'berth-x', volumeName: 'berth-home-w1' });
    expect(h).toEqual({
      workspaceId: 'w1',
      kind: 'docker',
      version: 1,
      driverState: { containerId: 'c', containerName: 'berth-x', volumeName: 'berth-home-w1' },
    });
    expect(readHandle(h).containerId).toBe('c');
    expect(() => readHandle({ ...h, kind: 'lxc' })).toThrow(BerthError);
    expect(() => readHandle({ ...h, version: 2 })).toThrow(BerthError);
    expect(() => readHandle({ ...h, driverState: {} })).toThrow(BerthError);
  });
});

describe('statusOfContainer', () => {
  it('maps engine states to provider statuses', () => {
    expect(statusOfContainer({ Status: 'running', Running: true })).toBe('running');
    expect(statusOfContainer({ Status: 'created', Running: false })).toBe('stopped');
    expect(statusOfContainer({ Status: 'exited', Running: false })).toBe('stopped');
    expect(statusOfContainer({ Status: 'paused', Running: true })).toBe('unknown');
    expect(statusOfContainer({ Status: 'restarting', Running: true })).toBe('unknown');
    expect(statusOfContainer(undefined)).toBe('unknown');
  });
});
