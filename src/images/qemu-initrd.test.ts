import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { parseVmImage } from './qemu-disk.js';
import { cpioNewc, moduleLoadOrder } from './qemu-initrd.js';

describe('cpioNewc', () => {
  it('writes newc headers, 4-byte alignment and the trailer', () => {
    const out = cpioNewc([
      { path: '/init', kind: 'file', mode: 0o755, data: 'hi\n' },
      { path: 'bin', kind: 'dir', mode: 0o755 },
      { path: 'bin/sh', kind: 'symlink', mode: 0o777, data: 'busybox' },
    ]);
    const text = out.toString('latin1');
    expect(text.startsWith('070701')).toBe(true);
    // mode of /init: regular file 0100755, as 8 hex digits after magic and inode.
    expect(text.slice(14, 22)).toBe((0o100755).toString(16).padStart(8, '0'));
    expect(text).toContain('init\0');
    expect(text).toContain('hi\n');
    expect(text).toContain('TRAILER!!!\0');
    expect(out.length % 4).toBe(0);
    // The header of every entry starts on a 4-byte boundary.
    const starts = [...text.matchAll(/070701/g)].map((m) => m.index ?? -1);
    expect(starts).toHaveLength(4);
    for (const at of starts) expect(at % 4).toBe(0);
  });
});

describe('moduleLoadOrder', () => {
  const dep = [
    'kernel/drivers/virtio/virtio.ko:',
    'kernel/drivers/virtio/virtio_ring.ko:',
    'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko',
    'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko',
    'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko',
    'kernel/net/core/failover.ko:',
  ].join('\n');
  it('loads dependencies first, each module once', () => {
    expect(moduleLoadOrder(dep, ['virtio_blk', 'virtio_net'])).toEqual([
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/net/core/failover.ko',
      'kernel/drivers/net/net_failover.ko',
      'kernel/drivers/net/virtio_net.ko',
    ]);
  });
  it('fails with advice when the kernel lacks a module', () => {
    expect(() => moduleLoadOrder(dep, ['evdev'])).toThrow(BerthError);
  });
});

describe('parseVmImage', () => {
  it('accepts what the exporter writes and rejects anything else', () => {
    const img = {
      name: 'vm',
      from: 'debian:bookworm',
      packages: ['openssh-server'],
      kernelVersion: '6.1',
      disk: '/d',
      kernel: '/k',
      initrd: '/i',
      sizeBytes: 5,
      createdAt: 'now',
    };
    expect(parseVmImage(JSON.stringify(img))).toEqual(img);
    expect(parseVmImage(JSON.stringify({ ...img, disk: 3 }))).toBeNull();
    expect(parseVmImage('')).toBeNull();
  });
});
