/**
 * Image exporters: the steps after the Docker import that turn the same root filesystem into
 * another engine's image (an LXC rootfs, a QEMU disk). The ImageStore builds the rootfs once
 * and hands every exporter a way to read it; each exporter owns where and how it stores its copy.
 */
import type { Readable } from 'node:stream';
import type { OpContext } from '../api/index.js';
import type { NodeImage } from './docker-images.js';
import type { ImageRequest } from './naming.js';

/** What an exporter gets for one build. */
export interface ExportInput {
  /** The validated build request (name, source, sorted packages). */
  request: ImageRequest;
  /** The labels the Docker image carries, for exporters that keep metadata of their own. */
  labels: Record<string, string>;
  /** A fresh tar stream of the rootfs on every call; each exporter may call it once or more. */
  rootfsTar(): Promise<Readable>;
  /** The rootfs as a directory on this node, when the build has one (Debian builds); absent for busybox. */
  rootfsDir?: string;
}

/** What an exporter made: its engine's reference and size, for the image listing. */
export interface ExportResult {
  /** How this engine refers to the image (a path, a container name, a disk file). */
  ref: string;
  sizeBytes: number;
}

/** One engine's copy of berth's base images. */
export interface ImageExporter {
  /** The engine, e.g. `lxc` or `qemu`; used in logs and errors. */
  readonly kind: string;
  /** Makes (or replaces) this engine's copy of the image; null when this engine is not set up on the node (logged, not an error). */
  export(input: ExportInput, op: OpContext): Promise<ExportResult | null>;
  /** This engine's copies of berth images, used when Docker cannot answer; optional. */
  list?(): Promise<NodeImage[]>;
}
