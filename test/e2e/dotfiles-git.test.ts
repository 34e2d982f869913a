/**
 * Dotfiles from a git repository, end to end through the CLI: `berth dotfiles set REPO
 * --install CMD`, `ws create` clones it inside a real Docker workspace and runs the install
 * script, a new commit reaches the workspace with `berth dotfiles apply`, and applying again
 * changes nothing. The repository is served by `git daemon` in a container this test makes on
 * Docker's default bridge (the network workspaces join), from a bare repository in a temporary
 * folder; nothing outside the machine is ever contacted.
 *
 * The workspace image is the Debian build the ssh tests use (busybox, openssh-server, git: one
 * cached rootfs), under this test's own name.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, runProgram, TestServer, uniqueName, waitFor } from './harness.js';

/** The packages of the suite's Debian workspace image (sharing-agent and ssh-forwarding build the same). */
const PACKAGES = 'busybox,openssh-server,git';
const IMAGE = 'dotgit';

let server: TestServer;
let work: string;
let daemon: Dockerode.Container | null = null;
let url: string;
/** The work clone on this machine and the bare repository the daemon serves. */
let clone: string;
let bare: string;

/** Runs host git in `cwd` with a fixed identity; fails the test on a non-zero exit. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await runProgram('git', args, {
    cwd,
    env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' },
  });
  expect(r.code, `git ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Commits `greeting` with `text` in the work clone and pushes it into the bare repository (a local path, no network). */
async function commitGreeting(clone: string, bare: string, text: string): Promise<void> {
  await writeFile(join(clone, 'greeting'), text);
  await git(clone, 'add', '-A');
  await git(clone, 'commit', '--quiet', '-m', `greeting ${text.trim()}`);
  await git(clone, 'push', '--quiet', bare, 'main');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-dotgit-'));
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', IMAGE, '--from', 'debian:bookworm', '--packages', PACKAGES], { timeoutMs: 900_000 });
  expect(build.code, build.stderr).toBe(0);

  // The repository: a bare one served read-only, filled from a work clone on this machine.
  const srv = join(work, 'srv');
  bare = join(srv, 'dots.git');
  clone = join(work, 'clone');
  await mkdir(srv);
  await git(work, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  await git(work, 'init', '--quiet', '--initial-branch=main', clone);
  await writeFile(join(clone, 'install.sh'), 'cp greeting "$HOME/.greeting"\necho ran >> "$HOME/.install-runs"\n');
  await commitGreeting(clone, bare, 'hello v1\n');

  // git daemon from the same image (it has git), in a container of this test's on the default bridge.
  daemon = await docker.createContainer({
    Image: `berth/${IMAGE}:latest`,
    name: uniqueName('berth-e2e-gitd'),
    Entrypoint: ['git'],
    Cmd: ['daemon', '--reuseaddr', '--export-all', '--base-path=/srv', '--port=9418', '/srv'],
    Labels: { 'berth.e2e': 'dotfiles-git' },
    HostConfig: { Binds: [`${srv}:/srv:ro`], AutoRemove: false },
  });
  await daemon.start();
  const ip = (await daemon.inspect()).NetworkSettings.Networks.bridge?.IPAddress;
  expect(ip, 'the git daemon container has an address on the default bridge').toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  url = `git://${ip}/dots.git`;
  await waitFor('git daemon to answer', async () => (await runProgram('git', ['ls-remote', url], { timeoutMs: 10_000 })).code === 0, 30_000, 500);
}, 900_000);

afterAll(async () => {
  await server?.destroy();
  await daemon?.remove({ force: true }).catch(() => undefined);
  // The image is this test's alone; its Debian rootfs stays cached for the next build.
  await docker
    .getImage(`berth/${IMAGE}:latest`)
    .remove({ force: true })
    .catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('dotfiles from a git repository', () => {
  it('clones at create and runs the install script, fetches a new commit on apply, and a second apply changes nothing', async () => {
    const set = await server.cli(['dotfiles', 'set', url, '--install', 'install.sh']);
    expect(set.code, set.stderr).toBe(0);

    const name = uniqueName('dotgit');
    const created = await server.cli(['ws', 'create', name, '--image', IMAGE]);
    expect(created.code, created.stderr).toBe(0);
    const said = `${created.stdout}${created.stderr}`;
    expect(said).toContain(`dotfiles: cloned ${url}`);
    expect(said).toContain('dotfiles: running install.sh');
    const read = async (file: string) => {
      const r = await server.cli(['ws', 'exec', name, '--', 'cat', `/root/${file}`]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await read('.greeting')).toBe('hello v1\n');
    expect(await read('.install-runs')).toBe('ran\n');
    const head = async () => (await server.cli(['ws', 'exec', name, '--', 'git', '-C', '/root/.berth/dotfiles', 'rev-parse', 'HEAD'])).stdout.trim();
    expect(await head()).toBe((await git(clone, 'rev-parse', 'HEAD')).trim());

    await commitGreeting(clone, bare, 'hello v2\n');
    const applied = await server.cli(['dotfiles', 'apply', name]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`dotfiles: fetched ${url}`);
    expect(applied.stdout).toContain(`Dotfiles applied in ${name}.`);
    expect(await read('.greeting')).toBe('hello v2\n');
    expect(await read('.install-runs')).toBe('ran\nran\n');
    expect(await head()).toBe((await git(clone, 'rev-parse', 'HEAD')).trim());

    const again = await server.cli(['dotfiles', 'apply', name, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ workspace: name, changed: false });
    expect(await read('.install-runs')).toBe('ran\nran\n');
    expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
  });
});
