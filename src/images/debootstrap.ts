/**
 * Debian root filesystems made with debootstrap and cached on the host, outside any git clone.
 * A build runs into a `.partial-PID-RANDOM` directory and is renamed into place only when
 * complete, so the cache never holds a half-made rootfs even if the build is killed.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BerthError, type OpContext } from '../api/index.js';
import { removeBuildDir, unmountUnder } from './mounts.js';
import { rootfsCacheKey } from './naming.js';
import { isStalePartial, partialSuffix } from './partials.js';

/** The Debian mirror; the only one reachable from berth's test machines. */
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** The cache root: $BERTH_CACHE_DIR, else /var/cache/berth for root, else ~/.cache/berth. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.BERTH_CACHE_DIR;
  if (fromEnv) return resolve(fromEnv);
  if (process.getuid?.() === 0) return '/var/cache/berth';
  return join(homedir(), '.cache', 'berth');
}

/** Maps a debootstrap output line to a coarse build stage and overall fraction, or null. */
export function debootstrapStage(line: string): { stage: string; fraction: number } | null {
  if (/^I: Retrieving (In)?Release/.test(line)) return { stage: 'debootstrap: fetching release', fraction: 0.02 };
  if (/^I: Resolving dependencies/.test(line)) return { stage: 'debootstrap: resolving', fraction: 0.05 };
  if (/^I: Checking component/.test(line)) return { stage: 'debootstrap: downloading', fraction: 0.1 };
  if (/^I: Extracting /.test(line)) return { stage: 'debootstrap: extracting', fraction: 0.35 };
  if (/^I: Installing (core|base) packages/.test(line)) return { stage: 'debootstrap: installing', fraction: 0.45 };
  if (/^I: Configuring /.test(line)) return { stage: 'debootstrap: configuring', fraction: 0.6 };
  if (/^I: Base system installed successfully/.test(line)) return { stage: 'debootstrap: done', fraction: 0.75 };
  return null;
}

/** Walks up from `dir` looking for a .git entry; a cache there would end up in someone's commits. */
async function enclosingGitClone(dir: string): Promise<string | null> {
  let at = resolve(dir);
  for (;;) {
    try {
      await stat(join(at, '.git'));
      return at;
    } catch {
      const up = dirname(at);
      if (up === at) return null;
      at = up;
    }
  }
}

/** Finds an executable on PATH, plus the sbin directories that a non-login root shell may lack. */
async function findExecutable(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs.filter(Boolean)) {
    try {
      await access(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return null;
}

/** Deletes partial builds left by processes that no longer exist. */
async function reapStalePartials(root: string, op: OpContext): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isStalePartial(name)) continue;
    op.log(`removing ${join(root, name)}, left by an interrupted build`);
    await removeBuildDir(join(root, name), op.log);
  }
}

export interface DebianRootfsRequest {
  cacheDir: string;
  suite: string;
  packages: string[];
  mirror?: string;
}

/** Returns the directory of a complete Debian rootfs for the request, building it on a cache miss. */
export async function ensureDebianRootfs(req: DebianRootfsRequest, op: OpContext): Promise<string> {
  const root = join(req.cacheDir, 'rootfs');
  const final = join(root, rootfsCacheKey(req.suite, req.packages));
  try {
    await stat(final);
    op.log(`cache hit: reusing the Debian ${req.suite} rootfs in ${final}`);
    op.progress('debootstrap: cached', 0.75);
    return final;
  } catch {
    // Not cached yet: build it below.
  }
  const clone = await enclosingGitClone(req.cacheDir);
  if (clone !== null) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The image cache ${req.cacheDir} is inside the git clone ${clone}: set BERTH_CACHE_DIR to a directory outside it, such as /var/cache/berth.`,
    );
  }
  const debootstrap = await findExecutable('debootstrap');
  if (debootstrap === null) {
    throw new BerthError(
      'PROVIDER_UNAVAILABLE',
      'debootstrap is not installed on this node: install it with `apt-get install debootstrap`, or build --from busybox.',
    );
  }
  const scripts = process.env.DEBOOTSTRAP_DIR ? join(process.env.DEBOOTSTRAP_DIR, 'scripts') : '/usr/share/debootstrap/scripts';
  try {
    await stat(join(scripts, req.suite));
  } catch {
    throw new BerthError('INVALID_ARGUMENT', `debootstrap does not know the Debian suite "${req.suite}": use one such as bookworm or trixie.`, {
      field: 'from',
    });
  }

  await mkdir(root, { recursive: true });
  await reapStalePartials(root, op);
  const partial = `${final}${partialSuffix()}`;
  op.log(`cache miss: building the Debian ${req.suite} rootfs into ${final}`);
  try {
    await runDebootstrap(debootstrap, req, partial, op);
    // The downloaded .deb files are only needed during the build; they would double the image.
    await rm(join(partial, 'var/cache/apt/archives'), { recursive: true, force: true });
    await mkdir(join(partial, 'var/cache/apt/archives/partial'), { recursive: true });
    await unmountUnder(partial, op.log);
    try {
      await rename(partial, final);
    } catch (err) {
      // Another build of the same key finished first; its result is as good as ours.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await removeBuildDir(partial, op.log);
    }
  } catch (err) {
    await removeBuildDir(partial, op.log);
    throw err;
  }
  return final;
}

/** Runs debootstrap, forwarding its lines to the operation log; rejects with the reason it failed. */
function runDebootstrap(bin: string, req: DebianRootfsRequest, target: string, op: OpContext): Promise<void> {
  const args = ['--variant=minbase'];
  if (req.packages.length > 0) args.push(`--include=${req.packages.join(',')}`);
  args.push(req.suite, target, req.mirror ?? DEFAULT_DEBIAN_MIRROR);
  op.log(`$ debootstrap ${args.join(' ')}`);
  op.progress('debootstrap: starting', 0);
  return new Promise((resolvePromise, reject) => {
    // Its own process group, so cancelling also stops the dpkg and apt it runs.
    const child = spawn(bin, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` },
    });
    const errors: string[] = [];
    const tail: string[] = [];
    const onLine = (line: string): void => {
      op.log(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (line.startsWith('E: ')) errors.push(line.slice(3));
      const stage = debootstrapStage(line);
      if (stage) op.progress(stage.stage, stage.fraction);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 5000).unref();
    };
    if (op.signal.aborted) onAbort();
    op.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      op.signal.removeEventListener('abort', onAbort);
      reject(new BerthError('INTERNAL', `debootstrap could not start: ${err.message}.`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      op.signal.removeEventListener('abort', onAbort);
      if (code === 0) return resolvePromise();
      if (op.signal.aborted) return reject(op.signal.reason ?? new Error('aborted'));
      reject(debootstrapFailure(code, signal, errors, tail, req.mirror ?? DEFAULT_DEBIAN_MIRROR));
    });
  });
}

/** Turns a failed debootstrap run into an error that says what to fix. */
export function debootstrapFailure(
  code: number | null,
  signal: NodeJS.Signals | null,
  errors: string[],
  tail: string[],
  mirror: string = DEFAULT_DEBIAN_MIRROR,
): BerthError {
  const detail = tail.join('\n');
  const missing = errors.map((e) => /Couldn't find these debs: (.*)/.exec(e)).find(Boolean);
  if (missing) {
    return new BerthError('INVALID_ARGUMENT', `Debian has no packages named ${missing[1].trim()}: check the names with \`apt-cache search\`.`, {
      field: 'packages',
      detail,
    });
  }
  const why = errors[0] ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
  return new BerthError('INTERNAL', `debootstrap failed (${why}): check that ${mirror} is reachable and see the build log.`, { detail });
}
