/**
 * Builds run into a `.partial-PID-RANDOM` directory and are renamed into place only when
 * complete. The owner's pid is in the name, so a later build can tell a partial whose process
 * died (safe to remove) from one still being written (this process's own included).
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The suffix of a new partial directory owned by this process: `.partial-PID-RANDOM`. */
export function partialSuffix(): string {
  return `.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** True when `name` is a partial directory whose owning process no longer exists. */
export function isStalePartial(name: string): boolean {
  const m = /\.partial-(\d+)-[0-9a-f]+$/.exec(name);
  return m !== null && !processAlive(Number(m[1]));
}

/** True while a process with this pid exists (signal 0 checks without signalling; EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes, directly under `dir`, the partials (`NAME.partial-PID-RANDOM`) and temporary files
 * (`NAME.PID.tmp`) of processes that no longer exist: what a build killed mid-way left. Returns
 * the names removed.
 */
export async function reapStalePartialsIn(dir: string, log: (line: string) => void): Promise<string[]> {
  const removed: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const tmp = /\.(\d+)\.tmp$/.exec(n);
    if (!isStalePartial(n) && !(tmp && !processAlive(Number(tmp[1])))) continue;
    log(`removing ${n}, left by an interrupted build`);
    await rm(join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
