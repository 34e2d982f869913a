/**
 * The small initramfs berth boots its virtual machines with. Debian's own initrd (made by
 * initramfs-tools) runs udev and probes every driver, which takes many seconds under TCG;
 * this one holds the host's static busybox, the few modules of the image's own kernel that a
 * virtio machine needs, and berth's two-stage init (see qemu-guest-init.ts). Pure functions
 * plus one builder, so the cpio format and the module order are unit-tested.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BerthError } from '../api/index.js';
import { GUEST_INIT, GUEST_STAGE2 } from './qemu-guest-init.js';

/**
 * Modules the guest needs beyond what the Debian cloud kernel has built in: virtio over
 * MMIO (microvm) and PCI (q35), disks, the network card, and the ACPI power button with
 * evdev so that a QMP `system_powerdown` reaches berth's init as a key press.
 */
export const GUEST_MODULES = ['virtio_mmio', 'virtio_pci', 'virtio_blk', 'virtio_net', 'button', 'evdev'];

/** One file, directory or symlink in a cpio archive. */
export interface CpioEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  /** File contents, or the symlink's target. */
  data?: Buffer | string;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Pads a buffer to a multiple of four bytes, as the newc format requires after names and data. */
function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/** Encodes entries as a cpio "newc" archive (the format the kernel unpacks), ending with TRAILER!!!. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  const add = (path: string, mode: number, data: Buffer, ino: number): void => {
    const name = Buffer.from(`${path}\0`);
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'ascii');
    parts.push(header, name, pad4(header.length + name.length), data, pad4(data.length));
  };
  entries.forEach((e, i) => {
    const type = e.kind === 'file' ? S_IFREG : e.kind === 'dir' ? S_IFDIR : S_IFLNK;
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    add(e.path.replace(/^\/+/, ''), type | (e.mode & 0o7777), data, i + 1);
  });
  add('TRAILER!!!', 0, Buffer.alloc(0), 0);
  return Buffer.concat(parts);
}

/**
 * The load order of `wanted` modules and their dependencies from a modules.dep file:
 * dependencies first (modules.dep lists the deepest one last), each module once.
 * Throws when a wanted module is missing from the kernel.
 */
export function moduleLoadOrder(modulesDep: string, wanted: string[]): string[] {
  const deps = new Map<string, { path: string; needs: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const [path, rest] = line.split(':');
    if (!path || rest === undefined) continue;
    const name = path.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '');
    deps.set(name, { path, needs: rest.trim().split(/\s+/).filter(Boolean) });
  }
  const order: string[] = [];
  const byPath = new Map([...deps.values()].map((d) => [d.path, d]));
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    for (const dep of [...(byPath.get(path)?.needs ?? [])].reverse()) visit(dep);
    order.push(path);
  };
  for (const name of wanted) {
    const d = deps.get(name);
    if (!d)
      throw new BerthError('FAILED_PRECONDITION', `The image's kernel has no module ${name}: build the VM image with the linux-image-cloud-amd64 kernel.`);
    visit(d.path);
  }
  return order;
}

/** Builds the gzip-compressed initramfs for a kernel whose modules live in `rootfs/lib/modules/VERSION`. */
export async function buildInitramfs(opts: { rootfs: string; kernelVersion: string; busyboxPath: string }): Promise<Buffer> {
  const modDir = join(opts.rootfs, 'lib/modules', opts.kernelVersion);
  const order = moduleLoadOrder(await readFile(join(modDir, 'modules.dep'), 'utf8'), GUEST_MODULES);
  for (const m of order) {
    if (!m.endsWith('.ko')) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The kernel module ${m} is compressed, which berth's busybox insmod cannot load: use a Debian bookworm kernel.`,
      );
    }
  }
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'newroot', 'seed', 'modules'].map((d) => ({ path: d, kind: 'dir', mode: 0o755 }));
  entries.push({ path: 'bin/busybox', kind: 'file', mode: 0o755, data: await readFile(opts.busyboxPath) });
  entries.push({ path: 'bin/sh', kind: 'symlink', mode: 0o777, data: 'busybox' });
  entries.push({ path: 'init', kind: 'file', mode: 0o755, data: GUEST_INIT });
  entries.push({ path: 'stage2', kind: 'file', mode: 0o755, data: GUEST_STAGE2 });
  const names: string[] = [];
  for (const [i, m] of order.entries()) {
    // Numbered names keep the load order without a second list file.
    const name = `${String(i).padStart(2, '0')}-${m.replace(/^.*\//, '')}`;
    names.push(name);
    entries.push({ path: `modules/${name}`, kind: 'file', mode: 0o644, data: await readFile(join(modDir, m)) });
  }
  // The kernel unpacks the archive with the fastest decompressor it has; level 6 is the balance.
  return gzipSync(cpioNewc(entries), { level: 6 });
}
