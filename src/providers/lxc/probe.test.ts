import { describe, expect, it } from 'vitest';
import { parseProbe, verdict } from './probe.js';

const good = [
  'uid=0',
  'version=5.0.2',
  'cgroupfs=tmpfs',
  'v1cpu=1',
  'v1memory=1',
  'bridgeaddr=5: lxcbr0 inet 10.0.3.1/24 scope global',
  'bridgeup=1',
  'overlay=1',
  'cpus=2',
  'memory=1000',
].join('\n');
const opts = { bridge: 'lxcbr0', lxcPath: '/var/lib/lxc', backingStore: 'overlay' as const };

describe('lxc probe', () => {
  it('is usable with tools, root, cgroups and a bridge', () => {
    const facts = parseProbe(good);
    expect(facts).toMatchObject({ uid: 0, cgroup: 'v1', cgroupLimits: true, overlay: true, cpus: 2, bridgeUp: true });
    const info = verdict(facts, opts);
    expect(info).toMatchObject({ kind: 'lxc', usable: true, version: '5.0.2' });
    expect(info.details.backingStore).toBe('overlay (copy-on-write clone)');
  });

  it('names the missing tools, cgroups or bridge with what to do', () => {
    expect(verdict(parseProbe(`${good}\nmissing=lxc-copy`), opts).reason).toMatch(/lxc-copy missing.*apt-get install lxc/);
    expect(verdict(parseProbe(good.replace('cgroupfs=tmpfs', 'cgroupfs=')), opts).reason).toMatch(/No usable cgroups/);
    expect(verdict(parseProbe(good.replace(/bridgeaddr=.*/, 'bridgeaddr=')), opts).reason).toMatch(/ip link add lxcbr0 type bridge/);
    expect(verdict(parseProbe(good.replace('bridgeup=1', '')), opts).reason).toMatch(/ip link set lxcbr0 up/);
    expect(verdict(parseProbe(good.replace('uid=0', 'uid=1000')), opts).reason).toMatch(/root/);
  });

  it('reads cgroup v2 controllers', () => {
    const facts = parseProbe(good.replace('cgroupfs=tmpfs', 'cgroupfs=cgroup2fs\nv2controllers=cpuset cpu io memory pids'));
    expect(facts).toMatchObject({ cgroup: 'v2', cgroupLimits: true });
  });
});
