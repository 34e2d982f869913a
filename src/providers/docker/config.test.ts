import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, NAME_PATTERN, type WorkspaceSpec } from '../../api/index.js';
import { containerName } from '../naming.js';
import {
  containerCreateOptions,
  envList,
  KEEPALIVE_COMMAND,
  keepaliveWithExecServer,
  labelFilter,
  memoryBytes,
  NODE_BERTH_IN_PATH,
  nanoCpus,
  validateLimits,
  volumeName,
} from './config.js';

const spec: WorkspaceSpec = {
  id: 'AbC-12345678-xyz',
  name: 'demo',
  provider: 'docker',
  image: 'base',
  cpus: 1.5,
  memoryBytes: 512 * 1024 ** 2,
  env: { B: '2', A: '1' },
};

describe('docker names', () => {
  it('builds container and volume names from the workspace', () => {
    expect(containerName(spec)).toBe('berth-demo-abc12345');
    expect(volumeName(spec.id)).toBe('berth-home-AbC-12345678-xyz');
  });

  it('always yields names Docker accepts', () => {
    fc.assert(
      fc.property(fc.stringMatching(NAME_PATTERN), fc.string({ minLength: 1, maxLength: 40 }), (name, id) => {
        expect(containerName({ name, id })).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
        expect(volumeName(id)).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
      }),
    );
  });
});

describe('limits', () => {
  it('converts CPUs and memory to engine units, 0 meaning unlimited', () => {
    expect(nanoCpus(1.5)).toBe(1_500_000_000);
    expect(nanoCpus(0.01)).toBe(10_000_000);
    expect(nanoCpus(null)).toBe(0);
    expect(memoryBytes(268435456.7)).toBe(268435456);
    expect(memoryBytes(null)).toBe(0);
  });

  it('accepts what the host has and names the field of what it has not', () => {
    const host = { cpus: 2, memoryBytes: 8 * 1024 ** 3 };
    expect(() => validateLimits({ cpus: 2, memoryBytes: 1024 ** 3 }, host)).not.toThrow();
    expect(() => validateLimits({ cpus: null, memoryBytes: null }, host)).not.toThrow();
    const field = (s: { cpus: number | null; memoryBytes: number | null }): string | undefined => {
      try {
        validateLimits(s, host);
        return undefined;
      } catch (err) {
        expect(err).toBeInstanceOf(BerthError);
        return (err as BerthError).field;
      }
    };
    expect(field({ cpus: 3, memoryBytes: null })).toBe('cpus');
    expect(field({ cpus: 0.001, memoryBytes: null })).toBe('cpus');
    expect(field({ cpus: null, memoryBytes: 1024 })).toBe('memory');
    expect(field({ cpus: null, memoryBytes: 16 * 1024 ** 3 })).toBe('memory');
  });
});

describe('labels and create options', () => {
  it('filters by managed and node, and optionally the workspace', () => {
    expect(labelFilter('n1')).toEqual({ label: ['berth.managed=true', 'berth.node=n1'] });
    expect(labelFilter('n1', 'w1').label).toContain('berth.workspace=w1');
  });

  it('sorts env into K=V strings', () => {
    expect(envList({ B: '2', A: 'x=y' })).toEqual(['A=x=y', 'B=2']);
  });

  it('describes the workspace container completely', () => {
    const opts = containerCreateOptions(spec, 'berth/base:latest', 'node-1');
    expect(opts).toMatchObject({
      name: 'berth-demo-abc12345',
      Hostname: 'demo',
      Image: 'berth/base:latest',
      Env: ['A=1', 'B=2'],
      Labels: { 'berth.workspace': spec.id, 'berth.node': 'node-1', 'berth.managed': 'true' },
      HostConfig: { Init: true, NanoCpus: 1_500_000_000, Memory: 512 * 1024 ** 2, MemorySwap: 512 * 1024 ** 2 },
    });
    expect(opts.HostConfig?.Mounts).toEqual([{ Type: 'volume', Source: `berth-home-${spec.id}`, Target: '/root' }]);
    expect(opts.Cmd?.join(' ')).toContain("trap 'exit 0' TERM");
    expect(containerCreateOptions({ ...spec, memoryBytes: null }, 'x', 'n').HostConfig).not.toHaveProperty('MemorySwap');
  });

  it('mounts the node berth-in read-only and starts the exec server from the keepalive when there is one', () => {
    const opts = containerCreateOptions(spec, 'berth/base:latest', 'node-1', '/var/lib/berth/berth-in/berth-in-0.1.0+abc');
    expect(opts.HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: `berth-home-${spec.id}`, Target: '/root' },
      { Type: 'bind', Source: '/var/lib/berth/berth-in/berth-in-0.1.0+abc', Target: NODE_BERTH_IN_PATH, ReadOnly: true },
    ]);
    expect(opts.Cmd).toEqual(keepaliveWithExecServer(spec.id, spec.env));
    const script = opts.Cmd?.[2] ?? '';
    expect(opts.Cmd?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    // Started in the background before the idle loop, so the container's start does not wait for it.
    expect(script).toContain(`(unset PWD OLDPWD SHLVL; exec ${NODE_BERTH_IN_PATH} exec-server --workspace '${spec.id}' </dev/null >/dev/null 2>&1) &`);
    expect(script.indexOf('exec-server')).toBeLessThan(script.indexOf('while :'));
    expect(script).toContain("trap 'exit 0' TERM INT;");
    // Without a binary to mount: the keepalive of before, no bind.
    const plain = containerCreateOptions(spec, 'berth/base:latest', 'node-1', null);
    expect(plain.Cmd).toEqual(KEEPALIVE_COMMAND);
    expect(plain.HostConfig?.Mounts).toHaveLength(1);
  });

  it('keeps variables the workspace sets itself that the shell would add', () => {
    const script = keepaliveWithExecServer('w1', { SHLVL: '3', PWD: '/x' })[2];
    expect(script).toContain('(unset OLDPWD; exec ');
    expect(keepaliveWithExecServer('w1', { PWD: '/x', OLDPWD: '/', SHLVL: '1' })[2]).toContain('(exec ');
  });

  it('passes any workspace id to the exec server as one word, and the script stays valid sh', () => {
    // The echo stands in for berth-in: the script runs for real, with the id it was given.
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0')),
        (id) => {
          const script = keepaliveWithExecServer(id, {})[2]
            .replace(NODE_BERTH_IN_PATH, "printf '%s\\n'")
            .replace(' </dev/null >/dev/null 2>&1', '')
            .replace(/ while :.*$/, ' wait');
          const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
          expect(r.status).toBe(0);
          expect(r.stdout).toBe(['exec-server', '--workspace', id].map((w) => `${w}\n`).join(''));
        },
      ),
      { numRuns: 40 },
    );
  });
});
