/**
 * Commands through berth-in's exec server in a Docker workspace, against the real engine: the
 * server is used once it answers, and the engine's exec takes over whenever it does not (not
 * started, killed, or greeting as another workspace).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentOp, type WorkspaceSpec } from '../../src/api/index.js';
import { ImageStore } from '../../src/images/index.js';
import { connectDocker, DockerProvider } from '../../src/providers/docker/index.js';
import type { WorkspaceHandle } from '../../src/providers/provider.js';
import { runViaExec } from '../../src/transport/index.js';

const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
const run = randomBytes(3).toString('hex');
const nodeId = `test-node-${run}`;
const image = `execsrv-${run}`;

describe('docker exec server', () => {
  const docker = connectDocker(socketPath);
  const store = new ImageStore({ docker, pull: false });
  const provider = new DockerProvider({ nodeId, socketPath, docker, resolveImage: (i, op) => store.resolveDocker(i, op) });
  let h: WorkspaceHandle;

  /** Runs a command through the provider: its code and output. */
  const exec = (cmd: string[], input?: string) =>
    runViaExec({ description: 'test', exec: (p) => provider.exec(h, { cmd: p.cmd, tty: false, env: {} }) }, { cmd, input, timeoutMs: 20_000 });
  /** The parent of a command: berth-in's exec server, or 0 (outside the container) for the engine's exec. */
  const parent = async (): Promise<string> => (await exec(['/bin/sh', '-c', 'cat /proc/$PPID/comm 2>/dev/null || echo "$PPID"'])).stdout.trim();
  /** Runs a command with the engine straight, bypassing berth. */
  const engineExec = async (cmd: string[]): Promise<void> => {
    const e = await docker.getContainer(String(h.driverState.containerId)).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    await new Promise((resolve) => {
      stream.on('end', resolve);
      stream.resume();
    });
  };

  beforeAll(async () => {
    await store.build({ name: image, from: 'busybox', packages: [] }, silentOp());
    const spec: WorkspaceSpec = {
      id: `xs${run}${randomBytes(4).toString('hex')}`,
      name: `xs-${run}`,
      provider: 'docker',
      image,
      cpus: null,
      memoryBytes: null,
      env: {},
    };
    h = await provider.create(spec, silentOp());
    await provider.start(h, silentOp());
  }, 120_000);

  afterAll(async () => {
    if (h) await provider.destroy(h, silentOp()).catch(() => {});
    await docker
      .getImage(`berth/${image}:latest`)
      .remove({ force: true })
      .catch(() => {});
  });

  it('starts after the first command that found none, and then runs commands as berth-in children', async () => {
    // A fresh workspace has no server: its first command takes the engine's exec.
    expect(await parent()).toBe('0');
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
