import { describe, expect, it } from 'vitest';
import { parseLimitsProbe } from './limits-probe.js';

describe('parseLimitsProbe', () => {
  it('reads cgroup v1 limits', () => {
    const out = 'cpu 50000 100000\nmem 268435456\nnproc 2\nmemtotal 25000000000\n';
    expect(parseLimitsProbe(out)).toEqual({ cpus: 0.5, memoryBytes: 268435456, cpuSource: 'cgroup', memorySource: 'cgroup' });
  });

  it('reads cgroup v2 limits', () => {
    const out = 'cpu 100000 100000\nmem 536870912\nnproc 8\nmemtotal 25000000000\n';
    expect(parseLimitsProbe(out)).toMatchObject({ cpus: 1, memoryBytes: 536870912 });
  });

  it('falls back to the machine when the cgroup says unlimited (v1 and v2)', () => {
    expect(parseLimitsProbe('cpu -1 100000\nmem 9223372036854771712\nnproc 2\nmemtotal 1000\n')).toEqual({
      cpus: 2,
      memoryBytes: 1000,
      cpuSource: 'machine',
      memorySource: 'machine',
    });
    expect(parseLimitsProbe('cpu max 100000\nmem max\nnproc 4\nmemtotal 2000\n')).toMatchObject({ cpus: 4, memoryBytes: 2000 });
  });

  it('uses the machine when there is no cgroup file at all (a virtual machine)', () => {
    expect(parseLimitsProbe('nproc 1\nmemtotal 250000000\n')).toMatchObject({ cpus: 1, memoryBytes: 250000000, cpuSource: 'machine' });
  });
});
