/**
 * Finding and undoing mounts inside a build directory. debootstrap mounts /proc and /sys in
 * its target; a build killed half-way leaves them mounted, and deleting such a directory
 * recursively would reach into the host's /proc or /sys. So: unmount first, delete after.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Mount points at or below `dir` in /proc/self/mountinfo text, deepest first. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    // mountinfo escapes space, tab, newline and backslash as octal: \040 and friends.
    const point = field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (point === dir || point.startsWith(prefix)) points.push(point);
  }
  return points.sort((a, b) => b.length - a.length);
}

async function currentMountsUnder(dir: string): Promise<string[]> {
  try {
    return mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  } catch {
    return [];
  }
}

/** Lazily unmounts everything at or below `dir`; returns what is still mounted afterwards. */
export async function unmountUnder(dir: string, log: (line: string) => void = () => {}): Promise<string[]> {
  for (const point of await currentMountsUnder(dir)) {
    try {
      await execFileAsync('umount', ['-l', point]);
    } catch (err) {
      log(`could not unmount ${point}: ${(err as Error).message}`);
    }
  }
  return currentMountsUnder(dir);
}

/**
 * Removes a build directory, unmounting anything below it first. Refuses to delete (and
 * returns false) when a mount cannot be undone, rather than risk the host's files.
 */
export async function removeBuildDir(dir: string, log: (line: string) => void = () => {}): Promise<boolean> {
  const stillMounted = await unmountUnder(dir, log);
  if (stillMounted.length > 0) {
    log(`left ${dir} in place because ${stillMounted.join(', ')} is still mounted; unmount it and delete the directory by hand`);
    return false;
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}
