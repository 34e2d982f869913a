import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { assertHostUsable, describeHost, PROBE_SCRIPT, parseHostFacts, providerOutlook } from './host-probe.js';

const GOOD = [
  'os=Linux',
  'arch=x86_64',
  'node=v20.11.1',
  'hostname=build-1',
  'uid=0',
  'diskfree=10737418240',
  'systemd=running',
  'cron=yes',
  'docker=yes',
  'lxc=',
  'qemu=yes',
  'kvm=',
  'joined=',
].join('\n');

describe('parseHostFacts', () => {
  it('reads every fact', () => {
    expect(parseHostFacts(GOOD)).toEqual({
      os: 'Linux',
      arch: 'x86_64',
      nodeVersion: 'v20.11.1',
      diskFreeBytes: 10737418240,
      hostname: 'build-1',
      uid: 0,
      systemd: true,
      cron: true,
      dockerSocket: true,
      lxcTools: false,
      qemu: true,
      kvm: false,
      joinedNodeId: null,
    });
  });

  it('reads a missing node, systemd offline and a joined node id', () => {
    const f = parseHostFacts(
      GOOD.replace('node=v20.11.1', 'node=').replace('systemd=running', 'systemd=offline').replace('joined=', 'joined=0f8fad5b-d9cb-469f-a165-70867728950e'),
    );
    expect(f.nodeVersion).toBeNull();
    expect(f.systemd).toBe(false);
    expect(f.joinedNodeId).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
  });

  it('never throws, whatever a host prints, and keeps only well-formed versions and ids', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.constantFrom('node=', 'uid=', 'joined=', 'diskfree=').chain((k) => fc.string().map((v) => k + v)),
          ),
        ),
        (lines) => {
          const f = parseHostFacts(lines.join('\n'));
          expect(f.nodeVersion === null || /^v\d+\.\d+\.\d+/.test(f.nodeVersion)).toBe(true);
          expect(f.joinedNodeId === null || /^[0-9a-f-]{36}$/.test(f.joinedNodeId)).toBe(true);
          expect(Number.isInteger(f.uid)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('parses what the probe prints on this machine', () => {
    const r = spawnSync('sh', ['-c', PROBE_SCRIPT], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const f = parseHostFacts(r.stdout);
    expect(f.os).toBe('Linux');
    expect(f.nodeVersion).toBe(process.version);
    expect(f.diskFreeBytes).toBeGreaterThan(0);
  });
});

describe('assertHostUsable', () => {
  it('passes a Linux root with Node 20 and room', () => {
    expect(() => assertHostUsable(parseHostFacts(GOOD), 'root@h')).not.toThrow();
  });

  it('names everything that is missing at once, as FAILED_PRECONDITION', () => {
    const f = { ...parseHostFacts(GOOD), nodeVersion: 'v18.19.0', uid: 1000, diskFreeBytes: 1024 };
    try {
      assertHostUsable(f, 'alice@h');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).code).toBe('FAILED_PRECONDITION');
      expect((err as BerthError).message).toMatch(/v18\.19\.0 is too old.*log in as root.*MiB are free/);
    }
    expect(() => assertHostUsable({ ...parseHostFacts(GOOD), nodeVersion: null }, 'h')).toThrow(/Node\.js ≥ 20 is not installed/);
    expect(() => assertHostUsable({ ...parseHostFacts(GOOD), os: 'Darwin' }, 'h')).toThrow(/runs Darwin/);
  });

  it('reports each provider with a reason', () => {
    const lines = providerOutlook(parseHostFacts(GOOD));
    expect(lines).toEqual([
      expect.stringMatching(/^docker: usable/),
      expect.stringMatching(/^lxc: not usable \(no lxc-start/),
      expect.stringMatching(/^qemu: found, without \/dev\/kvm/),
    ]);
    expect(describeHost(parseHostFacts(GOOD))).toBe('build-1: Linux x86_64, Node v20.11.1, 10.0 GiB free, systemd, cron');
  });
});
