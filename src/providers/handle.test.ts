import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { makeHandle as dockerHandle, readHandle as readDocker } from './docker/handle.js';
import { checkHandle, stateString } from './handle.js';
import { makeHandle as lxcHandle, readHandle as readLxc } from './lxc/handle.js';
import { containerName, shortId } from './naming.js';
import type { WorkspaceHandle } from './provider.js';
import { makeHandle as qemuHandle, readHandle as readQemu } from './qemu/handle.js';

const h: WorkspaceHandle = { workspaceId: 'w1', kind: 'lxc', version: 2, driverState: { name: 'x', n: 3 } };

/** The error a call throws (failing the test when it does not throw). */
function thrown(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error('expected the call to throw');
}

describe('checkHandle', () => {
  it('accepts its own kind at its own version', () => {
    expect(() => checkHandle(h, 'lxc', 2)).not.toThrow();
  });

  it('refuses another kind, naming both with the right article', () => {
    expect(thrown(() => checkHandle(h, 'docker', 2))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'provider',
      message: 'Workspace w1 is a lxc workspace, not a Docker one.',
    });
    expect(thrown(() => checkHandle({ ...h, kind: 'qemu' }, 'lxc', 2)).message).toContain('not an LXC one');
  });

  it('says "newer" for a handle from a newer agent and "older" for one from an older agent', () => {
    const newer = thrown(() => checkHandle({ ...h, version: 3 }, 'lxc', 2));
    expect(newer).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(newer.message).toMatch(/newer berth agent \(handle version 3, this agent reads 2\): upgrade this agent/);
    const older = thrown(() => checkHandle({ ...h, version: 1 }, 'lxc', 2));
    expect(older).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(older.message).toMatch(/older berth agent \(handle version 1, this agent reads 2\)/);
    expect(older.message).not.toMatch(/upgrade this agent/);
  });

  it('refuses a handle from disk that has no version', () => {
    const noVersion = JSON.parse('{"workspaceId":"w1","kind":"lxc","driverState":{}}') as WorkspaceHandle;
    expect(thrown(() => checkHandle(noVersion, 'lxc', 2))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('stateString', () => {
  it('reads strings and turns anything else into the empty string', () => {
    expect(stateString(h, 'name')).toBe('x');
    expect(stateString(h, 'n')).toBe('');
    expect(stateString(h, 'missing')).toBe('');
    const noState = JSON.parse('{"workspaceId":"w1","kind":"lxc","version":2}') as WorkspaceHandle;
    expect(stateString(noState, 'name')).toBe('');
  });
});

describe('every provider reads handles through the shared check', () => {
  it('docker, lxc and qemu refuse foreign, newer and older handles alike', () => {
    const cases: Array<[WorkspaceHandle, (x: WorkspaceHandle) => unknown]> = [
      [dockerHandle('w1', { containerId: 'c', containerName: 'berth-x', volumeName: 'v' }), readDocker],
      [lxcHandle('w1', { containerName: 'berth-x', lxcPath: '/var/lib/lxc', ipv4: '' }), readLxc],
      [qemuHandle('w1', { dir: '/s/qemu/w1' }), readQemu],
    ];
    for (const [handle, read] of cases) {
      expect(() => read(handle)).not.toThrow();
      expect(thrown(() => read({ ...handle, kind: handle.kind === 'docker' ? 'lxc' : 'docker' })).code).toBe('INVALID_ARGUMENT');
      expect(thrown(() => read({ ...handle, version: handle.version + 1 })).message).toContain('newer');
      expect(thrown(() => read({ ...handle, version: handle.version - 1 })).message).toContain('older');
    }
  });
});

describe('names', () => {
  it('shortId keeps the first 8 letters and digits, lowercased', () => {
    expect(shortId('AbC-12345678-xyz')).toBe('abc12345');
    expect(shortId('a-b')).toBe('ab');
  });

  it('containerName is berth-NAME-ID8 for every provider', () => {
    expect(containerName({ id: 'AbC123def456', name: 'demo' })).toBe('berth-demo-abc123de');
  });
});
