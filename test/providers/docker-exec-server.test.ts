/**
 * Commands through berth-in's exec server in a Docker workspace, against the real engine. A
 * workspace made now has the node's berth-in mounted and starts the server at every start of
 * its container, so even its first command goes through it without any engine exec. A
 * container without the mount (made before it, or where the node could give no binary) gets
 * the server once its first command ran, by copying berth-in in. Either way the engine's exec
 * takes over whenever the server does not answer (not started, killed, or greeting as another
 * workspace).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentOp, type WorkspaceSpec } from '../../src/api/index.js';
import { ImageStore } from '../../src/images/index.js';
import { NODE_BERTH_IN_PATH } from '../../src/providers/docker/config.js';
import { startExec } from '../../src/providers/docker/exec.js';
import { dialExecServer, execSocketOf } from '../../src/providers/docker/fast-exec.js';
import { connectDocker, DockerProvider } from '../../src/providers/docker/index.js';
import type { WorkspaceHandle } from '../../src/providers/provider.js';
import { runViaExec } from '../../src/transport/index.js';

const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
const run = randomBytes(3).toString('hex');
const nodeId = `test-node-${run}`;
const image = `execsrv-${run}`;
const docker = connectDocker(socketPath);
const store = new ImageStore({ docker, pull: false });

/** A fresh spec on the test image. */
const specOf = (tag: string): WorkspaceSpec => ({
  id: `xs${tag}${run}${randomBytes(4).toString('hex')}`,
  name: `xs${tag}-${run}`,
  provider: 'docker',
  image,
  cpus: null,
  memoryBytes: null,
  env: {},
});

/** Helpers around one workspace of a provider. */
function workspaceTools(provider: () => DockerProvider, handle: () => WorkspaceHandle) {
  const containerId = (): string => String(handle().driverState.containerId);
  /** Runs a command through the provider: its code and output. */
  const exec = (cmd: string[], input?: string) =>
    runViaExec({ description: 'test', exec: (p) => provider().exec(handle(), { cmd: p.cmd, tty: false, env: {} }) }, { cmd, input, timeoutMs: 20_000 });
  /** The parent of a command: berth-in's exec server, or 0 (outside the container) for the engine's exec. */
  const parent = async (): Promise<string> => (await exec(['/bin/sh', '-c', 'cat /proc/$PPID/comm 2>/dev/null || echo "$PPID"'])).stdout.trim();
  /** Runs a command with the engine straight, bypassing berth: its output. */
  const engineExec = (cmd: string[]) =>
    runViaExec(
      { description: 'engine', exec: (p) => startExec(docker.getContainer(containerId()), { cmd: p.cmd, tty: false, env: {} }) },
      { cmd, timeoutMs: 20_000 },
    );
  /** The host PID of the container's init. */
  const initPid = async (): Promise<number> => (await docker.getContainer(containerId()).inspect()).State.Pid;
  return { containerId, exec, parent, engineExec, initPid };
}

/** The engine's exec_create events for a container since `since` (ms): every engine exec leaves one. */
async function engineExecsSince(containerId: string, since: number): Promise<string[]> {
  const stream = (await docker.getEvents({
    since: (since / 1000).toFixed(3),
    until: (Date.now() / 1000).toFixed(3),
    filters: { container: [containerId] },
  } as never)) as unknown as AsyncIterable<Buffer>;
  let text = '';
  for await (const chunk of stream) text += chunk.toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { Action?: string }).Action ?? '')
    .filter((a) => a.startsWith('exec_create'));
}

/**
 * Waits, from the host only (no exec of any kind), until the server in the container greets as
 * the workspace's (the socket file alone proves nothing: one from before a restart stays).
 */
async function serverAnswers(pid: number, workspaceId: string, withinMs = 5000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < withinMs) {
    const conn = (await lstat(execSocketOf(pid)).catch(() => null))?.isSocket() ? await dialExecServer(execSocketOf(pid), workspaceId) : null;
    conn?.socket.destroy();
    if (conn) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`the exec server in the container did not answer within ${withinMs} ms`);
}

/** Host PIDs of berth-in processes in the container (by its cgroup). */
async function berthInPids(containerId: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const [comm, cgroup] = await Promise.all([readFile(`/proc/${d}/comm`, 'utf8').catch(() => ''), readFile(`/proc/${d}/cgroup`, 'utf8').catch(() => '')]);
    if (comm.trim() === 'berth-in' && cgroup.includes(containerId)) pids.push(Number(d));
  }
  return pids;
}

beforeAll(async () => {
  await store.build({ name: image, from: 'busybox', packages: [] }, silentOp());
}, 120_000);

afterAll(async () => {
  await docker
    .getImage(`berth/${image}:latest`)
    .remove({ force: true })
    .catch(() => {});
});

describe('docker exec server from the container start (node berth-in mounted)', () => {
  let dir: string;
  let provider: DockerProvider;
  let h: WorkspaceHandle | undefined;
  const t = workspaceTools(
    () => provider,
    () => h!,
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-execsrv-'));
    provider = new DockerProvider({ nodeId, socketPath, docker, resolveImage: (i, op) => store.resolveDocker(i, op), berthInDir: join(dir, 'berth-in') });
  });

  afterAll(async () => {
    if (h) await provider.destroy(h, silentOp()).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a fresh workspace's first command through the server, with no engine exec at all", async () => {
    const since = Date.now();
    h = await provider.create(specOf('m'), silentOp());
    await provider.start(h, silentOp());
    const info = await docker.getContainer(t.containerId()).inspect();
    const mount = info.Mounts.find((m) => m.Destination === NODE_BERTH_IN_PATH);
    expect(mount).toMatchObject({ Type: 'bind', RW: false });
    expect(mount?.Source.startsWith(join(dir, 'berth-in/berth-in-'))).toBe(true);
    await serverAnswers(info.State.Pid, h.workspaceId);
    expect(await t.parent()).toBe('berth-in');
    expect(await engineExecsSince(t.containerId(), since)).toEqual([]);
    // It is the container's own environment and directory, as an engine exec's (the shell that started it added nothing).
    const viaServer = await t.exec(['env']);
    const viaEngine = await t.engineExec(['env']);
    expect(viaServer.stdout.split('\n').sort()).toEqual(viaEngine.stdout.split('\n').sort());
    expect((await t.exec(['pwd'])).stdout).toBe('/root\n');
    const st = await t.exec(['/bin/sh', '-c', 'stat -c "%a %u" /run/berth /run/berth/exec.sock']);
    expect(st.stdout).toBe('700 0\n600 0\n');
    // The mount cannot be written from inside, and nothing was copied into /.berth.
    expect((await t.exec(['/bin/sh', '-c', `echo x > ${NODE_BERTH_IN_PATH}`])).code).not.toBe(0);
    expect((await t.exec(['/bin/sh', '-c', 'test -e /.berth && echo there || echo absent'])).stdout).toBe('absent\n');
    expect(await t.exec(['/bin/sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('is started by the container itself again at every start', async () => {
    await provider.stop(h!, { force: false, timeoutMs: 5000 }, silentOp());
    const since = Date.now();
    await provider.start(h!, silentOp());
    await serverAnswers(await t.initPid(), h!.workspaceId);
    expect(await t.parent()).toBe('berth-in');
    expect(await engineExecsSince(t.containerId(), since)).toEqual([]);
  });

  it('is started again through the mounted binary when killed, with nothing copied in', async () => {
    await t.engineExec(['/bin/sh', '-c', 'for p in /proc/[0-9]*; do grep -q "^berth-in$" $p/comm 2>/dev/null && kill -9 ${p#/proc/}; done']);
    expect(await t.parent()).toBe('0');
    expect(await provider.execServerReady(h!)).toBe(true);
    expect(await t.parent()).toBe('berth-in');
    expect((await t.exec(['/bin/sh', '-c', 'test -e /.berth && echo there || echo absent'])).stdout).toBe('absent\n');
  });

  it("starts when the node's copy it mounts has gone, putting it back", async () => {
    await provider.stop(h!, { force: false, timeoutMs: 5000 }, silentOp());
    const source = (await docker.getContainer(t.containerId()).inspect()).Mounts.find((m) => m.Destination === NODE_BERTH_IN_PATH)!.Source;
    await rm(source);
    await provider.start(h!, silentOp());
    expect(existsSync(source)).toBe(true);
    await serverAnswers(await t.initPid(), h!.workspaceId);
    expect(await t.parent()).toBe('berth-in');
  });

  it("puts the node's copy back for a create when it vanished after it was found", async () => {
    const source = (await docker.getContainer(t.containerId()).inspect()).Mounts.find((m) => m.Destination === NODE_BERTH_IN_PATH)!.Source;
    await rm(source);
    const other = await provider.create(specOf('r'), silentOp());
    try {
      const mounts = (await docker.getContainer(String(other.driverState.containerId)).inspect()).Mounts;
      expect(mounts.find((m) => m.Destination === NODE_BERTH_IN_PATH)?.Source).toBe(source);
      expect(existsSync(source)).toBe(true);
    } finally {
      await provider.destroy(other, silentOp());
    }
  });

  it('leaves no process behind after delete', async () => {
    const pids = await berthInPids(t.containerId());
    expect(pids.length).toBeGreaterThan(0);
    await provider.destroy(h!, silentOp());
    h = undefined;
    for (const pid of pids)
      expect(existsSync(`/proc/${pid}`) && (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'berth-in').toBe(false);
  });
});

describe('docker exec server in a container without the mount (copied in)', () => {
  // A node berth-in dir that cannot be made (below a file): the create goes on without the
  // mount, exactly as containers made before the mount existed are.
  const provider = new DockerProvider({
    nodeId,
    socketPath,
    docker,
    resolveImage: (i, op) => store.resolveDocker(i, op),
    berthInDir: '/etc/hostname/berth-in',
  });
  let h: WorkspaceHandle;
  let created = 0;
  const {
    parent,
    exec,
    engineExec: engineRun,
  } = workspaceTools(
    () => provider,
    () => h,
  );
  const engineExec = async (cmd: string[]): Promise<void> => {
    await engineRun(cmd);
  };

  beforeAll(async () => {
    created = Date.now();
    h = await provider.create(specOf('c'), silentOp());
    await provider.start(h, silentOp());
    const info = await docker.getContainer(String(h.driverState.containerId)).inspect();
    expect(info.Mounts.map((m) => m.Destination)).toEqual(['/root']);
  }, 120_000);

  afterAll(async () => {
    if (h) await provider.destroy(h, silentOp()).catch(() => {});
  });

  it('starts after the first command that found none, and then runs commands as berth-in children', async () => {
    // A fresh workspace has no server: its first command takes the engine's exec (which the
    // engine's events show, as they would for the mounted workspace above).
    expect(await parent()).toBe('0');
    expect((await engineExecsSince(String(h.driverState.containerId), created)).length).toBeGreaterThan(0);
    for (let i = 0; i < 100 && (await parent()) !== 'berth-in'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await parent()).toBe('berth-in');
    expect(await provider.execServerReady(h)).toBe(true);
    const st = await exec(['/bin/sh', '-c', 'stat -c "%a %u" /run/berth /run/berth/exec.sock']);
    expect(st.stdout).toBe('700 0\n600 0\n');
    expect(await exec(['/bin/sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('falls back to the engine when the server is gone, and starts it again later', async () => {
    await engineExec(['/bin/sh', '-c', 'for p in /proc/[0-9]*; do grep -q "^berth-in$" $p/comm 2>/dev/null && kill -9 ${p#/proc/}; done']);
    expect(await parent()).toBe('0');
    expect(await exec(['/bin/sh', '-c', 'echo still; exit 4'])).toMatchObject({ code: 4, stdout: 'still\n' });
    expect(await provider.execServerReady(h)).toBe(true);
  });

  it('never uses a server that greets as another workspace', async () => {
    await engineExec(['/bin/sh', '-c', 'for p in /proc/[0-9]*; do grep -q "^berth-in$" $p/comm 2>/dev/null && kill -9 ${p#/proc/}; done']);
    await engineExec(['/.berth/bin/berth-in', 'exec-server', '--daemon', '--workspace', 'someone-else']);
    expect(await provider.execServerReady(h)).toBe(false);
    expect(await parent()).toBe('0');
    expect(await exec(['cat'], 'through the engine\n')).toMatchObject({ code: 0, stdout: 'through the engine\n' });
  });

  it('never dials a socket reached through a symlink in the container', async () => {
    const kill = 'for p in /proc/[0-9]*; do grep -q "^berth-in$" $p/comm 2>/dev/null && kill -9 ${p#/proc/}; done';
    await engineExec(['/bin/sh', '-c', kill]);
    // A server for this very workspace, but behind a relative symlink: resolved from the host
    // through /proc/PID/root, an absolute one would point anywhere on the host.
    await engineExec(['/bin/sh', '-c', 'rm -rf /run/berth && mkdir -p /tmp/real && ln -s ../tmp/real /run/berth']);
    await engineExec(['/.berth/bin/berth-in', 'exec-server', '--daemon', '--workspace', h.workspaceId, '--socket', '/tmp/real/exec.sock']);
    expect(await parent()).toBe('0');
    await engineExec(['/bin/sh', '-c', `${kill}; rm -f /run/berth; rm -rf /tmp/real`]);
  });

  it('is started again after a restart', async () => {
    await provider.stop(h, { force: false, timeoutMs: 5000 }, silentOp());
    await provider.start(h, silentOp());
    expect(await provider.execServerReady(h)).toBe(true);
    expect(await parent()).toBe('berth-in');
  });
});
