/**
 * The apply script run for real by this host's sh, tar and git in a throwaway $HOME: what a
 * workspace runs, minus the container around it (test/e2e/dotfiles.test.ts runs it in one).
 */
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLIED_LINE, applyArgv, EXIT_NO_INSTALL, UNCHANGED_LINE } from './apply-script.js';

let home: string;
let work: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'berth-dot-home-'));
  work = await mkdtemp(join(tmpdir(), 'berth-dot-src-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** Runs the script as the workspace would, with `input` on stdin. */
function apply(a: Parameters<typeof applyArgv>[0], input: Uint8Array = Buffer.alloc(0)) {
  const [cmd, ...args] = applyArgv(a);
  const r = spawnSync(cmd, args, { input, cwd: home, env: { HOME: home, PATH: process.env.PATH }, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, last: r.stdout.trim().split('\n').pop() };
}

/** A tar of `dir`'s contents, as the CLI uploads it. */
function tarOf(dir: string): Buffer {
  return spawnSync('tar', ['-c', '-f', '-', '-C', dir, '.'], { maxBuffer: 1 << 24 }).stdout;
}

function git(...args: string[]): string {
  const r = spawnSync('git', args, {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('dotfiles apply script', () => {
  it('links dot-files into $HOME, keeps an old file once, and a second apply changes nothing', async () => {
    const src = join(work, 'dots');
    await mkdir(src);
    await writeFile(join(src, '.berthrc'), 'v1\n');
    await writeFile(join(src, 'README'), 'not a dotfile\n');
    await writeFile(join(home, '.berthrc'), 'old\n');
    const first = apply({ mode: 'dir', digest: 'd1', install: null, url: null, ref: null }, tarOf(src));
    expect(first.code, first.out).toBe(0);
    expect(first.last).toBe(APPLIED_LINE);
    expect(await readFile(join(home, '.berthrc'), 'utf8')).toBe('v1\n');
    expect((await lstat(join(home, '.berthrc'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(home, '.berthrc.berth-backup'), 'utf8')).toBe('old\n');
    await expect(lstat(join(home, 'README'))).rejects.toThrow();
    const again = apply({ mode: 'dir', digest: 'd1', install: null, url: null, ref: null }, tarOf(src));
    expect(again.last).toBe(UNCHANGED_LINE);
    await writeFile(join(src, '.berthrc'), 'v2\n');
    const changed = apply({ mode: 'dir', digest: 'd2', install: null, url: null, ref: null }, tarOf(src));
    expect(changed.last).toBe(APPLIED_LINE);
    expect(await readFile(join(home, '.berthrc'), 'utf8')).toBe('v2\n');
    expect(await readFile(join(home, '.berthrc.berth-backup'), 'utf8')).toBe('old\n');
  });

  it('runs install.sh when present, or the named script, and reports a missing one', async () => {
    const src = join(work, 'dots');
    await mkdir(join(src, 'scripts'), { recursive: true });
    await writeFile(join(src, 'install.sh'), 'echo ran-install >> "$HOME/log"\n');
    await writeFile(join(src, 'scripts', 'mine'), 'echo ran-mine >> "$HOME/log"\n');
    expect(apply({ mode: 'dir', digest: 'a', install: null, url: null, ref: null }, tarOf(src)).code).toBe(0);
    expect(apply({ mode: 'dir', digest: 'b', install: 'scripts/mine', url: null, ref: null }, tarOf(src)).code).toBe(0);
    expect(await readFile(join(home, 'log'), 'utf8')).toBe('ran-install\nran-mine\n');
    const missing = apply({ mode: 'dir', digest: 'c', install: 'nope.sh', url: null, ref: null }, tarOf(src));
    expect(missing.code).toBe(EXIT_NO_INSTALL);
    expect(missing.out).toContain('the install script nope.sh is not in the dotfiles');
  });

  it('a failing install script fails the apply and the next apply runs it again', async () => {
    const src = join(work, 'dots');
    await mkdir(src);
    await writeFile(join(src, 'setup.sh'), 'echo try >> "$HOME/log"; exit 7\n');
    expect(apply({ mode: 'dir', digest: 'a', install: null, url: null, ref: null }, tarOf(src)).code).toBe(7);
    expect(apply({ mode: 'dir', digest: 'a', install: null, url: null, ref: null }, tarOf(src)).code).toBe(7);
    expect(await readFile(join(home, 'log'), 'utf8')).toBe('try\ntry\n');
  });

  it('clones a repository once, fetches a new commit into the same clone, and is idempotent', async () => {
    const repo = join(work, 'repo');
    git('init', '-q', '-b', 'main', repo);
    await writeFile(join(repo, '.gitconfig-berth'), 'one\n');
    git('-C', repo, 'add', '.');
    git('-C', repo, 'commit', '-q', '-m', 'one');
    const url = `file://${repo}`;
    const first = apply({ mode: 'repo', digest: 'r', install: null, url, ref: null });
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('cloned');
    expect(await readlink(join(home, '.gitconfig-berth'))).toBe(join(home, '.berth/dotfiles/.gitconfig-berth'));
    expect(apply({ mode: 'repo', digest: 'r', install: null, url, ref: null }).last).toBe(UNCHANGED_LINE);
    await writeFile(join(repo, '.gitconfig-berth'), 'two\n');
    git('-C', repo, 'commit', '-q', '-am', 'two');
    const updated = apply({ mode: 'repo', digest: 'r', install: null, url, ref: null });
    expect(updated.out).toContain('fetched');
    expect(updated.out).not.toContain('cloned');
    expect(updated.last).toBe(APPLIED_LINE);
    expect(await readFile(join(home, '.gitconfig-berth'), 'utf8')).toBe('two\n');
    expect(git('-C', join(home, '.berth/dotfiles'), 'rev-parse', 'HEAD')).toBe(git('-C', repo, 'rev-parse', 'HEAD'));
  });

  it('takes what it is given as arguments, never as shell text', async () => {
    const src = join(work, 'dots');
    await mkdir(src);
    await writeFile(join(src, '.x'), 'x');
    const r = apply({ mode: 'dir', digest: '$(touch pwned); `touch pwned2`', install: null, url: '; touch pwned3', ref: null }, tarOf(src));
    expect(r.code, r.out).toBe(0);
    for (const f of ['pwned', 'pwned2', 'pwned3']) {
      await expect(lstat(join(home, f))).rejects.toThrow();
      await expect(lstat(join(home, '.berth/dotfiles', f))).rejects.toThrow();
    }
  });

  it('as another user, quotes every word for su so its shell runs the same argv', async () => {
    const argv = applyArgv({ mode: 'dir', digest: "it's $(touch pwned)", install: null, url: '`touch pwned2`', ref: null, user: 'dev' });
    expect(argv.slice(0, 4)).toEqual(['su', '-s', '/bin/sh', '-c']);
    expect(argv[5]).toBe('dev');
    // What su's shell would run, run here by sh without su: the same apply, nothing injected.
    const src = join(work, 'dots');
    await mkdir(src);
    await writeFile(join(src, '.y'), 'y\n');
    const r = spawnSync('sh', ['-c', argv[4]], { input: tarOf(src), cwd: home, env: { HOME: home, PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(await readFile(join(home, '.y'), 'utf8')).toBe('y\n');
    expect(await readFile(join(home, '.berth/dotfiles.applied'), 'utf8')).toBe("it's $(touch pwned)\n");
    for (const f of ['pwned', 'pwned2']) await expect(lstat(join(home, f))).rejects.toThrow();
    expect(applyArgv({ mode: 'dir', digest: 'd', install: null, url: null, ref: null, user: 'root' })[0]).toBe('sh');
  });
});
