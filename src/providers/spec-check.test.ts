import { describe, expect, it } from 'vitest';
import { silentOp, type WorkspaceSpec } from '../api/index.js';
import { vmImageFile } from '../images/qemu-disk.js';
import type { Transport } from '../transport/index.js';
import { DockerProvider } from './docker/provider.js';
import { LxcProvider } from './lxc/provider.js';
import { QemuProvider } from './qemu/provider.js';
import { checkSpec } from './spec-check.js';

const good: WorkspaceSpec = {
  id: '6b1c0c8e-2f7a-4c59-9d6e-0d2b4d0c3a11',
  name: 'demo',
  provider: 'docker',
  image: 'base',
  cpus: null,
  memoryBytes: null,
  env: {},
};

/** Hostile specs and the field each must be refused on. */
const HOSTILE: Array<[Partial<WorkspaceSpec>, string]> = [
  [{ id: '../../etc' }, 'id'],
  [{ id: 'a/b' }, 'id'],
  [{ id: 'x\nlxc.hook.start = /bin/sh' }, 'id'],
  [{ name: 'a\nlxc.hook.start = /bin/sh' }, 'name'],
  [{ name: '-N' }, 'name'],
  [{ name: 'a,process=x' }, 'name'],
  [{ image: '../../../etc/passwd' }, 'image'],
  [{ image: 'x/../../y' }, 'image'],
  [{ image: 'http://evil/' }, 'image'],
  [{ image: 'a\0b' }, 'image'],
  [{ image: 'x'.repeat(5000) }, 'image'],
  [{ env: { X: 'a\0b' } }, 'env.X'],
];

/** A transport that fails the test if a provider touches the host at all. */
const untouchable: Transport = {
  description: 'untouchable',
  exec: () => Promise.reject(new Error('the host was touched')),
  run: () => Promise.reject(new Error('the host was touched')),
  readFile: () => Promise.reject(new Error('the host was touched')),
  writeFile: () => Promise.reject(new Error('the host was touched')),
  close: async () => {},
};

describe('checkSpec', () => {
  it('accepts what the server sends', () => {
    expect(() => checkSpec(good)).not.toThrow();
  });

  it('refuses hostile ids, names, images and environments, naming the field', () => {
    for (const [change, field] of HOSTILE) {
      expect(() => checkSpec({ ...good, ...change }), JSON.stringify(change).slice(0, 60)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', field }),
      );
    }
  });

  it('runs in every provider before anything on the host is touched', async () => {
    const providers = [
      new DockerProvider({ nodeId: 'n', socketPath: '/nonexistent/docker.sock', resolveImage: () => Promise.reject(new Error('resolved')) }),
      new LxcProvider({ nodeId: 'n', transport: untouchable, resolveImage: () => Promise.reject(new Error('resolved')) }),
      new QemuProvider({ nodeId: 'n', stateDir: '/nonexistent/state', imageCacheDir: '/nonexistent/cache', transport: untouchable }),
    ];
    for (const p of providers) {
      for (const [change, field] of HOSTILE) {
        await expect(p.create({ ...good, provider: p.kind, ...change }, silentOp()), `${p.kind} ${JSON.stringify(change).slice(0, 40)}`).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          field,
        });
      }
    }
  });

  it('QEMU looks images up by berth name only, before any file path is built', async () => {
    const qemu = new QemuProvider({ nodeId: 'n', stateDir: '/nonexistent/state', imageCacheDir: '/nonexistent/cache', transport: untouchable });
    await expect(qemu.findImage('../../../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
    await expect(qemu.findImage('debian:bookworm')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
    expect(() => vmImageFile('/cache', '../../etc/passwd')).toThrow(expect.objectContaining({ field: 'image' }));
    expect(vmImageFile('/cache', 'vm')).toBe('/cache/qemu/images/vm.json');
  });
});
