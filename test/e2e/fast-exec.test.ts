/**
 * `berth ws exec` on a Docker workspace through berth-in's exec server (the fast path, see
 * docs/architecture.md "Commands in a Docker workspace"), end to end through the CLI: output,
 * exit codes, stdin, env, working directory and a terminal, and the same after `ws restart`.
 * A new workspace has the node's berth-in mounted and its container starts the server, so its
 * very first command goes through it; a workspace without the mount (here: the node could not
 * keep its copy) gets the server copied in after its first command, as before.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const name = uniqueName('fast');
const old = uniqueName('fastold');

/** What a command's parent is: berth-in (the exec server) or 0 (the engine's exec, from outside the container). */
const PARENT = ['sh', '-c', 'cat /proc/$PPID/comm 2>/dev/null || echo "$PPID"'];

/** The parent of a command run with `ws exec`: berth-in or 0. */
async function parentOf(ws: string): Promise<string> {
  const r = await server.cli(['ws', 'exec', ws, '--', ...PARENT]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Waits until commands run as the exec server's children. */
async function untilFast(ws = name): Promise<void> {
  await waitFor(
    'the exec server to answer',
    async () => {
      const r = await server.cli(['ws', 'exec', ws, '--', ...PARENT]);
      return r.code === 0 && r.stdout.trim() === 'berth-in';
    },
    20_000,
    100,
  );
}

/** Everything a command must keep through the fast path. */
async function checkSemantics(name: string): Promise<void> {
  const out = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  expect(out).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  expect((await server.cli(['ws', 'exec', name, '--', 'berth-no-such-command'])).code).toBe(127);
  expect((await server.cli(['ws', 'exec', name, '--', '/etc/passwd'])).code).toBe(126);
  const cat = await server.cli(['ws', 'exec', name, '--', 'cat'], { input: 'through stdin\n' });
  expect(cat).toMatchObject({ code: 0, stdout: 'through stdin\n' });
  const env = await server.cli([
    'ws',
    'exec',
    name,
    '-e',
    'GREETING=hi there',
    '-w',
    '/tmp',
    '--',
    'sh',
    '-c',
    'echo "$GREETING in $(pwd) as $(id -u), home $HOME"',
  ]);
  expect(env.stdout).toBe('hi there in /tmp as 0, home /root\n');
  const dflt = await server.cli(['ws', 'exec', name, '--', 'pwd']);
  expect(dflt.stdout).toBe('/root\n');
  const plain = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'tty || true']);
  expect(plain.stdout).toContain('not a tty');
  const tty = await server.cli(['ws', 'exec', '-t', name, '--', 'sh', '-c', 'tty; echo "$TERM"; exit 4']);
  expect(tty.code).toBe(4);
  expect(tty.stdout).toMatch(/\/dev\/pts\/\d+\r?\nxterm/);
  // Ordering: many lines come out whole and in order.
  const seq = await server.cli(['ws', 'exec', name, '--', 'seq', '1', '20000']);
  expect(seq.stdout).toBe(`${Array.from({ length: 20000 }, (_, i) => i + 1).join('\n')}\n`);
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  // A file where the local agent keeps the berth-in copies its workspaces mount: it cannot
  // keep one, so this create goes on without the mount (as containers made before it exist).
  const copies = join(server.dataDir, 'local-agent/providers/docker/berth-in');
  await mkdir(join(copies, '..'), { recursive: true });
  await writeFile(copies, 'in the way');
  const plain = await server.cli(['ws', 'create', old, '--image', 'base']);
  expect(plain.code, plain.stderr).toBe(0);
  await rm(copies);
  const create = await server.cli(['ws', 'create', name, '--image', 'base']);
  expect(create.code, create.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await server.cli(['ws', 'rm', name]).catch(() => {});
  await server.cli(['ws', 'rm', old]).catch(() => {});
  await server.destroy();
});

describe('ws exec through the exec server', () => {
  it('runs the first command after ws create through it, then everything with its output, exit codes, stdin, env, directory and terminal', async () => {
    // No waiting: the container started the server itself.
    expect(await parentOf(name)).toBe('berth-in');
    await checkSemantics(name);
    // Still the server's children at the end: nothing above fell back to the engine.
    expect((await server.cli(['ws', 'exec', name, '--', ...PARENT])).stdout.trim()).toBe('berth-in');
  });

  it('is back after ws restart, with the same behaviour', async () => {
    const r = await server.cli(['ws', 'restart', name]);
    expect(r.code, r.stderr).toBe(0);
    // The container started it again itself: the first command goes through it.
    expect(await parentOf(name)).toBe('berth-in');
    await checkSemantics(name);
  });

  it('runs in a workspace without the mount through the engine first, then through a copied-in server', async () => {
    expect(await parentOf(old)).toBe('0');
    expect((await server.cli(['ws', 'exec', old, '--', 'sh', '-c', 'test -e /sbin/berth-in && echo there || echo absent'])).stdout).toBe('absent\n');
    await untilFast(old);
    expect((await server.cli(['ws', 'exec', old, '--', '/.berth/bin/berth-in', 'version'])).code).toBe(0);
    await checkSemantics(old);
    // After a restart its first command takes the engine's exec again while the server is started, and is right too.
    const r = await server.cli(['ws', 'restart', old]);
    expect(r.code, r.stderr).toBe(0);
    expect((await server.cli(['ws', 'exec', old, '--', 'sh', '-c', 'echo early; exit 2'])).stdout).toBe('early\n');
    await untilFast(old);
  });
});
