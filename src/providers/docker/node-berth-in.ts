/**
 * The node's berth-in file that Docker workspaces bind-mount read-only (config.ts,
 * NODE_BERTH_IN_PATH), so berth-in's exec server runs from each container's start.
 *
 * A bind mount is resolved by path at every start of the container, and a start fails when
 * the path is gone. So the mount's source is not the build's own file (a rebuild or an
 * upgrade removes or replaces it) but a copy kept per version in the agent's state dir,
 * `STATE/berth-in/berth-in-VERSION`, written once (temporary file, then rename) and never
 * written over: a running container keeps the inode it mounted, a restarted one mounts the
 * same version again, and a new agent's workspaces get a new file. If that file is gone all
 * the same (a wiped state dir), `restore` puts this agent's binary back at its path before the
 * start is retried; the hello's version then says which one runs.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type BerthInBuild, loadBerthIn } from '../berth-in-build.js';

/**
 * How long a create waits for the copy before it goes on without the mount: reading and
 * writing 5 MiB takes milliseconds, but a file system can hang (Node's recursive mkdir never
 * returns under /proc, for one), and a create must not hang with it.
 */
const FIND_TIMEOUT_MS = 5000;

/** `p`, or a rejection after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A file name for a version line ("berth-in 0.1.0+0123456789ab" → "berth-in-0.1.0+0123456789ab"). */
export function versionFileName(version: string): string {
  return `berth-in-${version.replace(/^berth-in\s+/, '').replace(/[^A-Za-z0-9.+_-]/g, '_')}`;
}

/** Writes `binary` at `path` (mode 0755) through a temporary file, so nobody mounts a half-written one. */
async function writeAtomically(path: string, binary: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, binary, { mode: 0o755 });
    await chmod(tmp, 0o755);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Finds (once) the berth-in file to mount; null when there is none to mount. */
export class NodeBerthIn {
  private source: Promise<string | null> | null = null;

  /**
   * `dir`: where the per-version copies live (the agent's state dir's berth-in/); without one,
   * the build's own file is mounted (tests, and agents that keep no state dir).
   */
  constructor(
    private readonly dir: string | null,
    private readonly load: () => Promise<BerthInBuild> = loadBerthIn,
  ) {}

  /**
   * The host path to mount, or null (no binary on this node, or it could not be copied within
   * FIND_TIMEOUT_MS): creates then use the plain keepalive.
   */
  path(): Promise<string | null> {
    if (!this.source) {
      this.source = withTimeout(this.find(), FIND_TIMEOUT_MS).catch(() => null);
      // A failure is not remembered for good: a later build or a freed disk makes it work.
      void this.source.then((p) => {
        if (p === null) this.source = null;
      });
    }
    return this.source;
  }

  /** Puts this agent's binary at `path` when nothing is there (a container's mount source that went away). True when it did. */
  async restore(path: string): Promise<boolean> {
    if (!this.dir || dirname(path) !== join(this.dir)) return false;
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) return false;
    const build = await this.load();
    await writeAtomically(path, build.binary);
    return true;
  }

  private async find(): Promise<string> {
    const build = await this.load();
    if (!this.dir) return build.path;
    const path = join(this.dir, versionFileName(build.version));
    const existing = await stat(path).catch(() => null);
    if (existing?.isFile() && existing.size === build.binary.length) return path;
    await writeAtomically(path, build.binary);
    return path;
  }
}
