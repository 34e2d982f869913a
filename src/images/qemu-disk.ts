/**
 * The QEMU exporter: turns a Debian build's rootfs into a virtual machine image — a root
 * disk (ext4 made without mounting by `mke2fs -d`, converted to qcow2), the kernel of the
 * Debian kernel package installed in it, and berth's small initramfs for that kernel.
 * Disks are keyed by the rootfs build and berth's guest init, so rebuilding an image (or
 * another name from the same packages) reuses the disk; workspaces' overlays point at it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { BerthError, NAME_PATTERN, type OpContext } from '../api/index.js';
import { DEFAULT_BUSYBOX_PATH } from './busybox-rootfs.js';
import type { NodeImage } from './docker-images.js';
import type { ExportInput, ExportResult, ImageExporter } from './exporter.js';
import { formatImageSource } from './naming.js';
import { partialSuffix, reapStalePartialsIn } from './partials.js';
import { DISK_LABELS, GUEST_INIT, GUEST_STAGE2 } from './qemu-guest-init.js';
import { buildInitramfs, GUEST_MODULES } from './qemu-initrd.js';

const execFileAsync = promisify(execFile);

/** Packages a Debian image needs to boot as a berth VM; the advice when they are missing. */
export const VM_PACKAGES = ['linux-image-cloud-amd64', 'openssh-server'];

/** Virtual size of a root disk; sparse, so only the rootfs itself takes space. */
const ROOT_DISK_SIZE = '8G';

/** What the QEMU provider reads to boot an image. */
export interface VmImage {
  name: string;
  from: string;
  packages: string[];
  kernelVersion: string;
  /** Absolute paths on the node. */
  disk: string;
  kernel: string;
  initrd: string;
  sizeBytes: number;
  createdAt: string;
}

/** Where VM images are kept under an image cache dir. */
export function vmImagePaths(cacheDir: string): { images: string; disks: string } {
  return { images: join(cacheDir, 'qemu', 'images'), disks: join(cacheDir, 'qemu', 'disks') };
}

/** The metadata file of image NAME; the name is checked first, so it cannot walk out of the cache dir. */
export function vmImageFile(cacheDir: string, name: string): string {
  if (!NAME_PATTERN.test(name))
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"${JSON.stringify(name.slice(0, 80)).slice(1, -1)}" is not a berth image name: use lowercase letters, digits and dashes.`,
      { field: 'image' },
    );
  return join(vmImagePaths(cacheDir).images, `${name}.json`);
}

/** Parses an image's metadata file; null when it is not one berth wrote. */
export function parseVmImage(text: string): VmImage | null {
  try {
    const v = JSON.parse(text) as Partial<VmImage>;
    const strings = ['name', 'from', 'kernelVersion', 'disk', 'kernel', 'initrd', 'createdAt'] as const;
    if (strings.some((k) => typeof v[k] !== 'string') || !Array.isArray(v.packages)) return null;
    return { ...(v as VmImage), sizeBytes: Number(v.sizeBytes) || 0 };
  } catch {
    return null;
  }
}

/** A hash of everything berth puts into a VM disk besides the rootfs, so a new guest init makes new disks. */
export function guestInitDigest(): string {
  return createHash('sha256').update(GUEST_INIT).update(GUEST_STAGE2).update(GUEST_MODULES.join(',')).digest('hex').slice(0, 12);
}

/** The installed kernel versions of a rootfs (from /boot/vmlinuz-*), newest last. */
async function kernelVersions(rootfs: string): Promise<string[]> {
  const names = await readdir(join(rootfs, 'boot')).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Runs a host tool; a failure becomes INTERNAL with its stderr, a missing tool PROVIDER_UNAVAILABLE. */
async function tool(cmd: string, args: string[], pkg: string): Promise<void> {
  try {
    await execFileAsync(cmd, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new BerthError('PROVIDER_UNAVAILABLE', `${cmd} is not installed on this node: install it with \`apt-get install ${pkg}\`.`);
    throw new BerthError('INTERNAL', `${cmd} failed while making a VM disk: see the detail, then retry.`, { detail: e.stderr?.slice(-2000) ?? e.message });
  }
}

/** Makes the qcow2 root disk, kernel and initrd of one rootfs in `dir` (which must not exist yet). */
async function makeDisk(rootfs: string, kernelVersion: string, dir: string, busyboxPath: string, op: OpContext): Promise<void> {
  await mkdir(dir, { recursive: true });
  const raw = join(dir, 'root.raw');
  op.progress('qemu: making the root disk', 0.92);
  // -d copies the tree with owners and modes into the new filesystem, without mounting anything.
  await tool('truncate', ['-s', ROOT_DISK_SIZE, raw], 'coreutils');
  await tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', DISK_LABELS.root, '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-d', rootfs, raw], 'e2fsprogs');
  await tool('qemu-img', ['convert', '-O', 'qcow2', raw, join(dir, 'disk.qcow2')], 'qemu-utils');
  await rm(raw);
  op.progress('qemu: kernel and initramfs', 0.96);
  await writeFile(join(dir, 'vmlinuz'), await readFile(join(rootfs, 'boot', `vmlinuz-${kernelVersion}`)));
  await writeFile(join(dir, 'initrd.img'), await buildInitramfs({ rootfs, kernelVersion, busyboxPath }));
}

/** Makes VM images from Debian builds that have a kernel and sshd; skips (with a log line) the others. */
export class QemuImageExporter implements ImageExporter {
  readonly kind = 'qemu';
  private readonly busyboxPath: string;

  constructor(
    /** The image cache dir (ImageStore.cacheDir). */
    readonly cacheDir: string,
    opts: { busyboxPath?: string } = {},
  ) {
    this.busyboxPath = opts.busyboxPath ?? DEFAULT_BUSYBOX_PATH;
  }

  async export(input: ExportInput, op: OpContext): Promise<ExportResult | null> {
    const advice = `to boot it as a VM, build it --from debian:bookworm with --packages ${VM_PACKAGES.join(',')}`;
    if (!input.rootfsDir) {
      op.log(`no VM image for ${input.request.name}: a busybox image has no kernel or sshd; ${advice}`);
      return null;
    }
    const rootfs = input.rootfsDir;
    const kernels = await kernelVersions(rootfs);
    const hasSshd = await exists(join(rootfs, 'usr/sbin/sshd'));
    if (kernels.length === 0 || !hasSshd) {
      op.log(`no VM image for ${input.request.name}: it has ${kernels.length === 0 ? 'no kernel' : 'no sshd'}; ${advice}`);
      return null;
    }
    const kernelVersion = kernels[kernels.length - 1];
    const { images, disks } = vmImagePaths(this.cacheDir);
    // Whatever a build killed mid-way left (an agent's kill -9) goes before this one starts.
    await reapStalePartialsIn(disks, op.log);
    await reapStalePartialsIn(images, op.log);
    const dir = join(disks, `${basename(rootfs)}-${guestInitDigest()}`);
    if (await exists(join(dir, 'initrd.img'))) {
      op.log(`cache hit: reusing the VM disk in ${dir}`);
    } else {
      // Built aside and renamed into place, so a killed build never leaves a half disk under the real name.
      const partial = `${dir}${partialSuffix()}`;
      try {
        await makeDisk(rootfs, kernelVersion, partial, this.busyboxPath, op);
        await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
          await rm(partial, { recursive: true, force: true }); // Someone else finished first.
        });
      } catch (err) {
        await rm(partial, { recursive: true, force: true });
        throw err;
      }
    }
    const disk = join(dir, 'disk.qcow2');
    const sizeBytes = (await stat(disk)).blocks * 512;
    const image: VmImage = {
      name: input.request.name,
      from: formatImageSource(input.request.source),
      packages: input.request.packages,
      kernelVersion,
      disk,
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.img'),
      sizeBytes,
      createdAt: new Date().toISOString(),
    };
    await mkdir(images, { recursive: true });
    const file = vmImageFile(this.cacheDir, image.name);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(image, null, 2)}\n`);
    await rename(tmp, file);
    op.log(`VM image ${image.name}: kernel ${kernelVersion}, disk ${disk}`);
    return { ref: file, sizeBytes };
  }

  /** The VM images on this node. */
  async list(): Promise<NodeImage[]> {
    const dir = vmImagePaths(this.cacheDir).images;
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    const out: NodeImage[] = [];
    for (const n of names) {
      const img = parseVmImage(await readFile(join(dir, n), 'utf8').catch(() => ''));
      if (img) out.push({ name: img.name, ref: join(dir, n), from: img.from, packages: img.packages, sizeBytes: img.sizeBytes, createdAt: img.createdAt });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}
