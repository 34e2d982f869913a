import { afterEach, describe, expect, it } from 'vitest';
import { debootstrapFailure, debootstrapStage, defaultCacheDir } from './debootstrap.js';
import { mountsUnder } from './mounts.js';

describe('debootstrapStage', () => {
  it('maps the lines debootstrap prints to rising stages', () => {
    const lines = [
      'I: Retrieving InRelease',
      'I: Resolving dependencies of required packages...',
      'I: Checking component main on http://deb.debian.org/debian...',
      'I: Extracting base-files...',
      'I: Installing core packages...',
      'I: Configuring libc-bin...',
      'I: Base system installed successfully.',
    ];
    const fractions = lines.map((l) => debootstrapStage(l)?.fraction ?? -1);
    expect(fractions.every((f) => f >= 0)).toBe(true);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    expect(debootstrapStage('I: Retrieving libc6 2.36')).toBeNull();
  });
});

describe('debootstrapFailure', () => {
  it('names missing packages on field packages', () => {
    const err = debootstrapFailure(1, null, ["Couldn't find these debs: nosuchpkg"], ['E: ...']);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'packages' });
    expect(err.message).toContain('nosuchpkg');
  });

  it('reports other failures as INTERNAL with the tail as detail', () => {
    const err = debootstrapFailure(1, null, ['Failed getting release file'], ['a', 'b'], 'http://mirror.test/debian');
    expect(err).toMatchObject({ code: 'INTERNAL', detail: 'a\nb' });
    expect(err.message).toContain('http://mirror.test/debian');
    expect(debootstrapFailure(null, 'SIGKILL', [], []).message).toContain('SIGKILL');
  });
});

describe('defaultCacheDir', () => {
  const saved = process.env.BERTH_CACHE_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.BERTH_CACHE_DIR;
    else process.env.BERTH_CACHE_DIR = saved;
  });

  it('prefers BERTH_CACHE_DIR, then a system or user cache', () => {
    process.env.BERTH_CACHE_DIR = '/srv/berth-cache';
    expect(defaultCacheDir()).toBe('/srv/berth-cache');
    delete process.env.BERTH_CACHE_DIR;
    expect(defaultCacheDir()).toBe(process.getuid?.() === 0 ? '/var/cache/berth' : expect.stringMatching(/\.cache\/berth$/));
  });
});

describe('mountsUnder', () => {
  const mountinfo = [
    '22 1 8:1 / / rw - ext4 /dev/vda rw',
    '30 22 0:5 / /var/cache/berth/rootfs/x.partial-1-ab/proc rw - proc proc rw',
    '31 22 0:6 / /var/cache/berth/rootfs/x.partial-1-ab/sys rw - sysfs sysfs rw',
    '32 31 0:7 / /var/cache/berth/rootfs/x.partial-1-ab/sys/fs/cgroup rw - tmpfs t rw',
    '33 22 0:8 / /var/cache/berth/rootfs/x.partial-1-abc/proc rw - proc proc rw',
    '34 22 0:9 / /tmp/with\\040space/proc rw - proc proc rw',
  ].join('\n');

  it('finds mounts at or below a directory, deepest first, and not in look-alike siblings', () => {
    expect(mountsUnder(mountinfo, '/var/cache/berth/rootfs/x.partial-1-ab')).toEqual([
      '/var/cache/berth/rootfs/x.partial-1-ab/sys/fs/cgroup',
      '/var/cache/berth/rootfs/x.partial-1-ab/proc',
      '/var/cache/berth/rootfs/x.partial-1-ab/sys',
    ]);
    expect(mountsUnder(mountinfo, '/tmp/with space')).toEqual(['/tmp/with space/proc']);
  });
});
