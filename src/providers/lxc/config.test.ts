import { describe, expect, it } from 'vitest';
import type { BerthError, WorkspaceSpec } from '../../api/index.js';
import { containerName } from '../naming.js';
import {
  attachEnvArgs,
  inContainerCommand,
  isSystemdInit,
  limitLines,
  parseMetadata,
  validateLimits,
  workspaceConfigLines,
  workspaceMetadata,
} from './config.js';

const spec: WorkspaceSpec = { id: 'AbC123def456', name: 'demo', provider: 'lxc', image: 'base', cpus: 1.5, memoryBytes: 256 * 1024 ** 2, env: { A: '1' } };

describe('lxc config', () => {
  it('names containers berth-NAME-ID8', () => {
    expect(containerName(spec)).toBe('berth-demo-abc123de');
  });

  it('writes cgroup v1 and v2 limits, swap capped at the limit', () => {
    expect(limitLines(spec, 'v1', true)).toEqual([
      'lxc.cgroup.cpu.cfs_period_us = 100000',
      'lxc.cgroup.cpu.cfs_quota_us = 150000',
      'lxc.cgroup.memory.limit_in_bytes = 268435456',
      'lxc.cgroup.memory.memsw.limit_in_bytes = 268435456',
    ]);
    expect(limitLines(spec, 'v1', false)).not.toContain('lxc.cgroup.memory.memsw.limit_in_bytes = 268435456');
    expect(limitLines(spec, 'v2', false)).toEqual([
      'lxc.cgroup2.cpu.max = 150000 100000',
      'lxc.cgroup2.memory.max = 268435456',
      'lxc.cgroup2.memory.swap.max = 0',
    ]);
    expect(limitLines({ cpus: null, memoryBytes: null }, 'v2', false)).toEqual([]);
  });

  it('attaches to the bridge with a static address and bind-mounts the init script', () => {
    const lines = workspaceConfigLines(spec, {
      containerDir: '/var/lib/lxc/x',
      bridge: 'lxcbr0',
      ipv4: '10.0.3.10/24',
      gateway: '10.0.3.1',
      cgroup: 'v1',
      memswAvailable: false,
      init: 'berth',
    });
    expect(lines).toContain('lxc.net.0.link = lxcbr0');
    expect(lines).toContain('lxc.net.0.ipv4.address = 10.0.3.10/24');
    expect(lines).toContain('lxc.net.0.ipv4.gateway = 10.0.3.1');
    expect(lines).toContain('lxc.init.cmd = /.berth-init');
    expect(lines).toContain('lxc.mount.entry = /var/lib/lxc/x/berth-init .berth-init none bind,ro,create=file 0 0');
    expect(lines).toContain('lxc.uts.name = demo');
  });

  it('round-trips labels and refuses files that are not berth labels', () => {
    const meta = workspaceMetadata(spec, 'node-1', new Date(0));
    expect(parseMetadata(JSON.stringify(meta))).toEqual(meta);
    expect(parseMetadata('{"berth.workspace":"x"}')).toBeNull();
    expect(parseMetadata('not json')).toBeNull();
  });

  it('builds a clean environment, spec env under request env', () => {
    expect(attachEnvArgs({ A: '1', B: 'spec' }, { B: 'req' }, true)).toEqual([
      '-v',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '-v',
      'HOME=/root',
      '-v',
      'TERM=xterm',
      '-v',
      'A=1',
      '-v',
      'B=req',
    ]);
  });

  it('runs the argv untouched after changing directory (home by default)', () => {
    expect(inContainerCommand(['echo', 'a b'], undefined)).toEqual([
      '/bin/sh',
      '-c',
      'cd -- "$1" || exit 126; shift; exec "$@"',
      'berth-exec',
      '/root',
      'echo',
      'a b',
    ]);
    expect(inContainerCommand(['ls'], '/tmp')[4]).toBe('/tmp');
  });

  it('validates limits against the node, naming the field', () => {
    const err = (() => {
      try {
        validateLimits({ cpus: 64, memoryBytes: null }, { cpus: 2, memoryBytes: 1e9 });
      } catch (e) {
        return e as BerthError;
      }
    })();
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cpus' });
    expect(() => validateLimits({ cpus: null, memoryBytes: 1024 }, { cpus: 2, memoryBytes: 1e9 })).toThrow(/memory/);
    expect(() => validateLimits({ cpus: 1, memoryBytes: 64 * 1024 ** 2 }, { cpus: 2, memoryBytes: 1e9 })).not.toThrow();
  });
});

describe('init choice', () => {
  it('recognises a systemd /sbin/init link, and nothing else', () => {
    expect(isSystemdInit('/lib/systemd/systemd\n')).toBe(true);
    expect(isSystemdInit('../lib/systemd/systemd')).toBe(true);
    expect(isSystemdInit('/bin/busybox')).toBe(false);
    expect(isSystemdInit('/lib/systemd/systemd-shim')).toBe(false);
    expect(isSystemdInit('')).toBe(false);
  });
});
