/**
 * ImageStore: builds berth's base images on a node and turns what a user typed for --image
 * into a reference the Docker engine can run.
 */

import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { BerthError, IMAGE_RULE, isValidImage, type OpContext } from '../api/index.js';
import { busyboxRootfsTar, DEFAULT_BUSYBOX_PATH } from './busybox-rootfs.js';
import { DEFAULT_DEBIAN_MIRROR, defaultCacheDir, ensureDebianRootfs } from './debootstrap.js';
import {
  engineImage,
  imageExists,
  importRootfs,
  listBerthImages,
  type NodeImage,
  printableRef,
  pullImage,
  registryHas,
  removeUnusedImage,
  toNodeImage,
} from './docker-images.js';
import type { ExportResult, ImageExporter } from './exporter.js';
import { berthImageRef, formatImageSource, imageLabels, importChanges, isPlainImageName, validateImageRequest } from './naming.js';
import { packDirectory } from './rootfs-tar.js';

/** How an ImageStore is set up; only `docker` is required. */
export interface ImageStoreOptions {
  docker: Dockerode;
  /** Where Debian rootfs builds are cached; defaults to defaultCacheDir(). */
  cacheDir?: string;
  /** Host busybox to copy into busybox images; defaults to /bin/busybox from busybox-static. */
  busyboxPath?: string;
  /** Debian mirror for debootstrap; defaults to $BERTH_DEBIAN_MIRROR or deb.debian.org. */
  debianMirror?: string;
  /** Whether resolveDocker may pull missing references; true unless a test must stay off the network. */
  pull?: boolean;
  /** Steps after the Docker import that make other engines' copies of the same rootfs (LXC, QEMU). */
  exporters?: ImageExporter[];
}

/** Builds, lists and resolves the images of one node's Docker engine. */
export class ImageStore {
  private readonly docker: Dockerode;
  /** The directory Debian rootfs builds are cached in. */
  readonly cacheDir: string;
  private readonly busyboxPath: string;
  private readonly mirror: string;
  private readonly pull: boolean;
  private readonly exporters: ImageExporter[];

  constructor(opts: ImageStoreOptions) {
    this.docker = opts.docker;
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.busyboxPath = opts.busyboxPath ?? DEFAULT_BUSYBOX_PATH;
    this.mirror = opts.debianMirror ?? process.env.BERTH_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
    this.pull = opts.pull ?? true;
    this.exporters = opts.exporters ?? [];
  }

  /**
   * Builds (or rebuilds) the berth image NAME from busybox or a Debian suite, imports it into
   * Docker, then hands the same rootfs to every exporter. A node whose Docker engine is down
   * still gets the exporters' copies; the build fails only when nothing at all was made.
   */
  async build(req: { name: string; from: string; packages: string[] }, op: OpContext): Promise<NodeImage> {
    const valid = validateImageRequest(req);
    const ref = berthImageRef(valid.name);
    let rootfsDir: string | undefined;
    if (valid.source.kind === 'debian') {
      rootfsDir = await ensureDebianRootfs({ cacheDir: this.cacheDir, suite: valid.source.suite, packages: valid.packages, mirror: this.mirror }, op);
    } else {
      op.progress('assembling busybox rootfs', 0.1);
    }
    op.signal.throwIfAborted();
    // Each consumer gets its own stream: a tar stream can be read only once.
    const rootfsTar = async () => (rootfsDir === undefined ? busyboxRootfsTar(this.busyboxPath) : packDirectory(rootfsDir));
    const labels = imageLabels(valid);

    let image: NodeImage | null = null;
    let dockerError: unknown;
    try {
      image = await this.importDocker(ref, await rootfsTar(), labels, op);
    } catch (err) {
      if (this.exporters.length === 0 || !(err instanceof BerthError) || err.code !== 'PROVIDER_UNAVAILABLE') throw err;
      dockerError = err;
      op.log(`skipped the Docker image: ${err.message}`);
    }
    let exported: ExportResult | null = null;
    for (const exporter of this.exporters) {
      op.signal.throwIfAborted();
      op.progress(`exporting for ${exporter.kind}`, 0.9);
      const result = await exporter.export({ request: valid, labels, rootfsTar, rootfsDir }, op);
      if (result) op.log(`exported for ${exporter.kind}: ${result.ref}`);
      exported ??= result;
    }
    if (!image && !exported) throw dockerError;
    image ??= {
      name: valid.name,
      ref: exported!.ref,
      from: formatImageSource(valid.source),
      packages: valid.packages,
      sizeBytes: exported!.sizeBytes,
      createdAt: new Date().toISOString(),
    };
    op.progress('done', 1);
    op.log(`built ${image.name} from ${image.from}${image.packages.length ? ` with ${image.packages.join(', ')}` : ''}`);
    return image;
  }

  /** Imports the rootfs tar as the Docker image `ref`, replacing (and removing) an earlier build. */
  private async importDocker(ref: string, tar: Readable, labels: Record<string, string>, op: OpContext): Promise<NodeImage> {
    const previous = await this.engine(() =>
      engineImage(this.docker, ref)
        .inspect()
        .then((i) => i.Id)
        .catch(() => null),
    );
    const id = await this.engine(() => importRootfs(this.docker, tar, ref, importChanges(labels), op));
    if (previous && previous !== id) await removeUnusedImage(this.docker, previous, op);
    const info = await this.engine(() => engineImage(this.docker, ref).inspect());
    const image = toNodeImage({ Id: info.Id, RepoTags: info.RepoTags, Labels: info.Config?.Labels, Size: info.Size, Created: info.Created });
    if (!image) throw new BerthError('INTERNAL', `The engine imported ${ref} but lost its berth labels; rebuild it with a newer Docker engine.`);
    op.log(`imported ${ref}`);
    return image;
  }

  /** The berth images in this node's engine, found by their labels; the exporters' when Docker is down. */
  async list(): Promise<NodeImage[]> {
    try {
      return await this.engine(() => listBerthImages(this.docker));
    } catch (err) {
      const listers = this.exporters.filter((e) => e.list !== undefined);
      if (listers.length === 0 || !(err instanceof BerthError) || err.code !== 'PROVIDER_UNAVAILABLE') throw err;
      const byName = new Map<string, NodeImage>();
      for (const e of listers) for (const img of await e.list!()) if (!byName.has(img.name)) byName.set(img.name, img);
      return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
  }

  /** Resolves what a user typed for --image to an engine reference, pulling it when missing and allowed. */
  async resolveDocker(image: string, op: OpContext): Promise<string> {
    const wanted = checkImage(image);
    const local = await this.localRef(wanted);
    if (local) return local;
    if (!this.pull) throw new BerthError('NOT_FOUND', notHere(wanted), { field: 'image', detail: 'pulling is turned off for this image store' });
    try {
      await pullImage(this.docker, wanted, op);
      return wanted;
    } catch (err) {
      if (op.signal.aborted) throw err;
      throw new BerthError('NOT_FOUND', notHere(wanted), { field: 'image', detail: (err as Error).message, cause: err });
    }
  }

  /**
   * Whether a Docker workspace could be created from `image` here, creating and pulling
   * nothing: the engine reference when the image is on this node, or when its registry
   * confirms it has it (the create then pulls it); NOT_FOUND naming the field otherwise.
   */
  async findDocker(image: string, timeoutMs = 20_000): Promise<string> {
    const wanted = checkImage(image);
    const local = await this.localRef(wanted);
    if (local) return local;
    if (!this.pull) throw new BerthError('NOT_FOUND', notHere(wanted), { field: 'image', detail: 'pulling is turned off for this image store' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the registry did not answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      await Promise.race([this.engine(() => registryHas(this.docker, wanted)), late]);
      return wanted;
    } catch (err) {
      if (err instanceof BerthError && err.code === 'PROVIDER_UNAVAILABLE') throw err;
      throw new BerthError('NOT_FOUND', notHere(wanted), { field: 'image', detail: (err as Error).message, cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The engine reference of `image` when this node's engine has it: the berth image NAME first, then the reference itself. */
  private async localRef(wanted: string): Promise<string | null> {
    if (isPlainImageName(wanted) && (await this.engine(() => imageExists(this.docker, berthImageRef(wanted))))) return berthImageRef(wanted);
    if (await this.engine(() => imageExists(this.docker, wanted))) return wanted;
    return null;
  }

  /** Runs an engine call, turning "cannot reach the engine" into PROVIDER_UNAVAILABLE. */
  private async engine<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') {
        const socket = (this.docker.modem as { socketPath?: string }).socketPath ?? 'its socket';
        throw new BerthError('PROVIDER_UNAVAILABLE', `Docker engine not reachable at ${socket} (${code}): start it with \`dockerd &\`, then retry.`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

/** The image as given when it is a berth image name or an engine reference; INVALID_ARGUMENT naming the field otherwise. */
function checkImage(image: string): string {
  if (!isValidImage(image)) throw new BerthError('INVALID_ARGUMENT', `Invalid image "${printableRef(image)}": ${IMAGE_RULE}.`, { field: 'image' });
  return image;
}

/** What to do about an image this node does not have. */
function notHere(wanted: string): string {
  return isPlainImageName(wanted)
    ? `No berth image named ${wanted} on this node: build it with \`berth image build ${wanted} --from busybox\` (or --from debian:bookworm).`
    : `Image ${wanted} is not on this node and its registry could not provide it: build a berth image with \`berth image build NAME --from busybox\` and use NAME.`;
}
