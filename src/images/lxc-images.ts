/**
 * berth images for LXC: every build unpacks the same rootfs the Docker image was made from into
 * an image container — `NAME_BUILD` in berth's own lxcpath (/var/lib/berth/lxc-images), with a
 * config that holds only the rootfs — which workspaces are cloned from with lxc-copy. A
 * rebuild makes a new image container, so overlay clones of the old one keep their lower layer;
 * old builds are removed once no clone depends on them (LXC records clones in `lxc_snapshots`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, NAME_PATTERN, type OpContext } from '../api/index.js';
import type { NodeImage } from './docker-images.js';
import type { ExportInput, ExportResult, ImageExporter } from './exporter.js';
import { formatImageSource } from './naming.js';
import { isStalePartial, partialSuffix } from './partials.js';

/** The metadata file that marks an image container as complete, written last. */
export const LXC_IMAGE_METADATA = 'berth-image.json';

/** Where LXC images live: $BERTH_LXC_IMAGES_DIR, else /var/lib/berth/lxc-images for root, else under ~/.local/share. */
export function defaultLxcImagesDir(): string {
  if (process.env.BERTH_LXC_IMAGES_DIR) return resolve(process.env.BERTH_LXC_IMAGES_DIR);
  if (process.getuid?.() === 0) return '/var/lib/berth/lxc-images';
  return join(homedir(), '.local', 'share', 'berth', 'lxc-images');
}

/** An image container to clone from: its lxcpath and name. */
export interface LxcImageRef {
  lxcPath: string;
  container: string;
}

interface ImageMetadata {
  name: string;
  from: string;
  packages: string[];
  sizeBytes: number;
  createdAt: string;
}

/** Unpacks a tar stream into `dir` with the host's tar, keeping owners, modes, devices and links; returns the bytes read. */
function untar(tar: Readable, dir: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('tar', ['-x', '-p', '--numeric-owner', '-C', dir, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'], signal });
    let bytes = 0;
    let stderr = '';
    let readError: Error | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('data', (c: Buffer) => (bytes += c.length));
    tar.once('error', (err) => {
      readError = err;
      child.kill('SIGKILL');
    });
    child.stdin.on('error', () => {});
    tar.pipe(child.stdin);
    child.once('error', (err) => reject(new BerthError('INTERNAL', `Could not run tar to unpack the LXC rootfs: ${err.message}.`, { cause: err })));
    child.once('close', (code) => {
      if (readError) return reject(new BerthError('INTERNAL', `Could not read the root filesystem for LXC: ${readError.message}.`, { cause: readError }));
      if (code === 0) return resolvePromise(bytes);
      reject(new BerthError('INTERNAL', `tar failed (exit ${code}) while unpacking the LXC rootfs: see the detail.`, { detail: stderr.slice(-2000) }));
    });
  });
}

/** Makes and finds the LXC copies of berth images. */
export class LxcImageExporter implements ImageExporter {
  /** This exporter's engine. */
  readonly kind = 'lxc';
  /** The lxcpath holding the image containers. */
  readonly imagesDir: string;
  private readonly lxcStart: string;

  constructor(opts: { imagesDir?: string; lxcStartPath?: string } = {}) {
    this.imagesDir = opts.imagesDir ?? defaultLxcImagesDir();
    this.lxcStart = opts.lxcStartPath ?? '/usr/bin/lxc-start';
  }

  /** Unpacks the rootfs into a new image container; null (skipped) when LXC is not installed here. */
  async export(input: ExportInput, op: OpContext): Promise<ExportResult | null> {
    if (
      !(await access(this.lxcStart, constants.X_OK).then(
        () => true,
        () => false,
      ))
    ) {
      op.log(`no LXC copy: ${this.lxcStart} is not installed on this node`);
      return null;
    }
    const { name } = input.request;
    await mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    await this.reapPartials(op);
    const build = `${name}_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const partial = join(this.imagesDir, partialSuffix());
    const final = join(this.imagesDir, build);
    try {
      await mkdir(join(partial, 'rootfs'), { recursive: true, mode: 0o755 });
      op.progress('unpacking the LXC rootfs', 0.9);
      const sizeBytes = await untar(await input.rootfsTar(), join(partial, 'rootfs'), op.signal);
      await rename(partial, final);
      const config = [`# berth image ${name}: cloned into workspaces with lxc-copy`, `lxc.rootfs.path = dir:${final}/rootfs`, `lxc.uts.name = ${name}`, ''];
      await writeFile(join(final, 'config'), config.join('\n'));
      const meta: ImageMetadata = {
        name,
        from: formatImageSource(input.request.source),
        packages: input.request.packages,
        sizeBytes,
        createdAt: new Date().toISOString(),
      };
      await writeFile(join(final, LXC_IMAGE_METADATA), JSON.stringify(meta, null, 2) + '\n');
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      await rm(final, { recursive: true, force: true });
      throw err;
    }
    op.log(`unpacked the LXC rootfs into ${final}/rootfs`);
    await this.removeUnusedBuilds(name, build, op);
    return { ref: `${this.imagesDir}/${build}`, sizeBytes: (await this.read(build))?.sizeBytes ?? 0 };
  }

  /** The newest complete build of every image, sorted by name. */
  async list(): Promise<NodeImage[]> {
    const newest = new Map<string, NodeImage>();
    for (const build of await this.builds()) {
      const meta = await this.read(build);
      if (!meta) continue;
      const seen = newest.get(meta.name);
      if (seen && seen.createdAt >= meta.createdAt) continue;
      newest.set(meta.name, {
        name: meta.name,
        ref: join(this.imagesDir, build),
        from: meta.from,
        packages: meta.packages,
        sizeBytes: meta.sizeBytes,
        createdAt: meta.createdAt,
      });
    }
    return [...newest.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The image container to clone for what a user typed as --image; NOT_FOUND with the build command otherwise. */
  async resolve(image: string): Promise<LxcImageRef> {
    const wanted = image.trim();
    if (!NAME_PATTERN.test(wanted)) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `LXC workspaces run berth images only, and "${image}" is not a berth image name: build one with \`berth image build NAME --from busybox\`.`,
        {
          field: 'image',
        },
      );
    }
    const found = (await this.list()).find((i) => i.name === wanted);
    if (!found) {
      throw new BerthError(
        'NOT_FOUND',
        `No LXC copy of the berth image ${wanted} on this node: build it with \`berth image build ${wanted} --from busybox\` (or --from debian:bookworm).`,
        {
          field: 'image',
        },
      );
    }
    return { lxcPath: this.imagesDir, container: found.ref.slice(this.imagesDir.length + 1) };
  }

  /** Removes every build of an image that no clone depends on (tests and `berth image rm` later). */
  async remove(name: string, op: OpContext): Promise<void> {
    await this.removeUnusedBuilds(name, null, op);
  }

  private async builds(): Promise<string[]> {
    const names = await readdir(this.imagesDir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-z0-9-]+_[a-z0-9]+$/.test(n));
  }

  private async read(build: string): Promise<ImageMetadata | null> {
    try {
      return JSON.parse(await readFile(join(this.imagesDir, build, LXC_IMAGE_METADATA), 'utf8')) as ImageMetadata;
    } catch {
      return null;
    }
  }

  /** Deletes older builds of `name` that no clone uses; LXC lists an image's overlay clones in its lxc_snapshots file. */
  private async removeUnusedBuilds(name: string, keep: string | null, op: OpContext): Promise<void> {
    for (const build of await this.builds()) {
      if (build === keep || !build.startsWith(`${name}_`)) continue;
      const clones = await readFile(join(this.imagesDir, build, 'lxc_snapshots'), 'utf8').catch(() => '');
      if (clones.trim() !== '') {
        op.log(`kept the previous LXC build ${build}: workspaces are still cloned from it`);
        continue;
      }
      await rm(join(this.imagesDir, build), { recursive: true, force: true });
      op.log(`removed the previous LXC build ${build}`);
    }
  }

  /** Removes partial unpacks left by processes that no longer exist. */
  private async reapPartials(op: OpContext): Promise<void> {
    for (const n of await readdir(this.imagesDir).catch(() => [] as string[])) {
      // A live process (this one included) may still be unpacking into it.
      if (!n.startsWith('.partial-') || !isStalePartial(n)) continue;
      op.log(`removing ${n}, left by an interrupted LXC export`);
      await rm(join(this.imagesDir, n), { recursive: true, force: true });
    }
  }
}

/** True when the path exists (for tests and leftovers checks). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
