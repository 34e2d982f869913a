/**
 * berth images in the Docker engine: importing a rootfs tar as a labelled image, listing the
 * images berth built, and pulling other references. All through the engine API (dockerode).
 */

import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { BerthError, IMAGE_RULE, type Image, type OpContext, parseImageReference } from '../api/index.js';
import { berthImageRef, IMAGE_LABELS, parseImageLabels } from './naming.js';

/** An api Image without the node name, which only the agent knows. */
export type NodeImage = Omit<Image, 'nodeName'>;

/** An image id as the engine gives it out. */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * The engine's handle on one image, for a reference that passed the reference grammar (or an
 * image id), percent-encoded. dockerode puts the name into the request path as it is, so an
 * unchecked `../x` or `x?y` would call another endpoint; the grammar rules those out, and the
 * encoding keeps `/`, `:` and `@` from being read as anything but part of the name.
 */
export function engineImage(docker: Dockerode, ref: string): Dockerode.Image {
  requireEngineReference(ref);
  return docker.getImage(encodeURIComponent(ref));
}

/**
 * Is this something the engine could know as an image: a reference in the grammar (one
 * grammar for the whole of berth, in the contract) or an image id? Anything else (`../`,
 * spaces, `?`) must never reach an engine API path: `../../x` makes the engine answer with a
 * redirect that its client would follow to a host named by the path.
 */
export function isEngineReference(ref: string): boolean {
  return IMAGE_ID.test(ref) || parseImageReference(ref) !== null;
}

/** Refuses a reference the engine could not know, before it reaches an engine API path. */
function requireEngineReference(ref: string): void {
  if (!isEngineReference(ref)) {
    throw new BerthError('INVALID_ARGUMENT', `"${printableRef(ref)}" is not an image reference: ${IMAGE_RULE}.`, { field: 'image' });
  }
}

/** A reference cut short and with control characters escaped, fit to be quoted in a message. */
export function printableRef(ref: string): string {
  const cut = ref.length > 80 ? `${ref.slice(0, 80)}…` : ref;
  return JSON.stringify(cut).slice(1, -1);
}

/** Engine status code of a dockerode error, if it has one. */
function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

/** Waits for a streamed engine response (JSON lines) to end; rejects on an error line. */
function followProgress(docker: Dockerode, stream: NodeJS.ReadableStream, onEvent: (e: PullEvent) => void = () => {}): Promise<PullEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: PullEvent[]) => (err ? reject(err) : resolve(out)), onEvent);
  });
}

/** One progress line of a pull or import. */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

/** Imports a rootfs tar as `ref` with the given Dockerfile changes; returns the new image id. */
export async function importRootfs(docker: Dockerode, tar: Readable, ref: string, changes: string[], op: OpContext): Promise<string> {
  const [repo, tag] = ref.split(':');
  op.progress('importing', 0.8);
  // A failure while reading the rootfs must end the upload; otherwise the engine waits for
  // the rest of the body forever and the error has nobody to hear it.
  const upload = new AbortController();
  let tarError: Error | undefined;
  tar.once('error', (err) => {
    tarError = err;
    upload.abort(err);
  });
  const onCancel = (): void => upload.abort(op.signal.reason);
  op.signal.addEventListener('abort', onCancel, { once: true });
  try {
    const response = await docker.importImage(tar, { repo, tag, changes, abortSignal: upload.signal } as object);
    const events = await followProgress(docker, response);
    const info = await engineImage(docker, ref).inspect();
    op.log(`imported ${ref} (${info.Id.slice(7, 19)}, ${events.length} status lines)`);
    return info.Id;
  } catch (err) {
    if (tarError) throw new BerthError('INTERNAL', `Could not read the root filesystem for ${ref}: ${tarError.message}.`, { cause: tarError });
    throw err;
  } finally {
    op.signal.removeEventListener('abort', onCancel);
  }
}

/** Reads an engine image as a berth image, or null when it is not one (or not under its berth tag). */
export function toNodeImage(img: {
  Id: string;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
  Size: number;
  Created: number | string;
}): NodeImage | null {
  const meta = parseImageLabels(img.Labels);
  if (!meta) return null;
  const ref = berthImageRef(meta.name);
  // An image whose tag moved on to a newer build still carries the labels; it is not the image NAME.
  if (!(img.RepoTags ?? []).includes(ref)) return null;
  const created = typeof img.Created === 'number' ? new Date(img.Created * 1000) : new Date(img.Created);
  return { name: meta.name, ref, from: meta.from, packages: meta.packages, sizeBytes: img.Size, createdAt: created.toISOString() };
}

/** Every berth image in the engine, sorted by name. */
export async function listBerthImages(docker: Dockerode): Promise<NodeImage[]> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`${IMAGE_LABELS.managed}=true`, IMAGE_LABELS.image] }) } as object);
  return images
    .map((i) => toNodeImage({ Id: i.Id, RepoTags: i.RepoTags, Labels: i.Labels, Size: i.Size, Created: i.Created }))
    .filter((i): i is NodeImage => i !== null)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Does the engine have this reference locally? */
export async function imageExists(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await engineImage(docker, ref).inspect();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

/** Removes an image nothing uses any more (a build's predecessor); failures are only logged. */
export async function removeUnusedImage(docker: Dockerode, id: string, op: OpContext): Promise<void> {
  try {
    await engineImage(docker, id).remove({ noprune: false });
    op.log(`removed the previous image ${id.slice(7, 19)}`);
  } catch (err) {
    // 409: a workspace still runs on it. It stays until that workspace is deleted.
    if (statusOf(err) !== 404) op.log(`kept the previous image ${id.slice(7, 19)}: it is still in use`);
  }
}

/**
 * Asks the reference's registry whether it has the image, without pulling it (the engine's
 * distribution endpoint fetches only the manifest). Resolves when it does; rejects with the
 * engine's error otherwise: not found, not authorised, or the registry unreachable.
 */
export async function registryHas(docker: Dockerode, ref: string): Promise<void> {
  await engineImage(docker, ref).distribution();
}

/**
 * Pulls a reference with progress. Layers report bytes; the overall fraction is the sum over
 * the layers seen so far, which is coarse but never goes backwards by much.
 */
export async function pullImage(docker: Dockerode, ref: string, op: OpContext): Promise<void> {
  // The reference travels in the query string (encoded by the client), but only a valid one is worth a registry's time.
  requireEngineReference(ref);
  op.log(`pulling ${ref}`);
  op.progress('pulling', 0);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(ref, { abortSignal: op.signal } as object);
  } catch (err) {
    throw new BerthError('NOT_FOUND', `Could not pull ${ref}.`, { field: 'image', detail: (err as Error).message, cause: err });
  }
  const layers = new Map<string, { current: number; total: number }>();
  let lastStatus = '';
  await followProgress(docker, stream, (e) => {
    if (e.id && e.progressDetail?.total) layers.set(e.id, { current: e.progressDetail.current ?? 0, total: e.progressDetail.total });
    const line = [e.id, e.status].filter(Boolean).join(': ');
    if (e.status && !e.progressDetail?.total && line !== lastStatus) {
      lastStatus = line;
      op.log(line);
    }
    const total = [...layers.values()].reduce((s, l) => s + l.total, 0);
    const current = [...layers.values()].reduce((s, l) => s + l.current, 0);
    if (total > 0) op.progress('pulling', Math.min(1, current / total));
  });
  op.progress('pulled', 1);
}
