/**
 * The backbone, end to end through the CLI: a server with a local agent, a busybox base
 * image, and a Docker workspace taken through its whole lifecycle.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorSchema } from '../../src/api/index.js';
import { BIN, docker, dockerLeftovers, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const name = uniqueName('life');
let workspaceId = '';

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  await server.cli(['ws', 'rm', name]).catch(() => {});
  await server.destroy();
});

describe('workspace lifecycle through the CLI', () => {
  it('lists the local node online with a usable docker provider', async () => {
    const nodes = await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[]);
    expect(nodes).toHaveLength(1);
    expect(nodes[0].status).toBe('online');
    const dockerInfo = nodes[0].providers.find((p: any) => p.kind === 'docker');
    expect(dockerInfo.usable).toBe(true);
    expect(nodes[0].resources.cpus).toBeGreaterThan(0);
    const human = await server.cli(['node', 'ls']);
    expect(human.stdout).toContain(nodes[0].name);
    expect(human.stdout).toContain('online');
  });

  it('lists the base image', async () => {
    const images = await server.json<any>(['image', 'ls']).then((r) => r.images as any[]);
    expect(images.map((i) => i.name)).toContain('base');
  });

  it('creates a workspace with limits and shows it running', async () => {
    const r = await server.cli(['ws', 'create', name, '--image', 'base', '--cpus', '1', '--memory', '256m']);
    expect(r.code, r.stderr).toBe(0);
    const ws = await server.json<any>(['ws', 'show', name]);
    workspaceId = ws.id;
    expect(ws.status).toBe('running');
    expect(ws.provider).toBe('docker');
    expect(ws.memoryBytes).toBe(256 * 1024 * 1024);
    const list = await server.json<any>(['ws', 'ls']).then((r) => r.workspaces as any[]);
    expect(list.map((w) => w.name)).toContain(name);
    const [container] = await docker.listContainers({ filters: { label: [`berth.workspace=${ws.id}`] } });
    expect(container.Labels['berth.node']).toBe(ws.nodeId);
    const inspect = await docker.getContainer(container.Id).inspect();
    expect(inspect.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(inspect.HostConfig.NanoCpus).toBe(1e9);
  });

  it('creates a workspace in one streamed request that ends with it running', async () => {
    const streamed = uniqueName('stream');
    const response = await fetch(`${server.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ name: streamed, image: 'base' }),
    });
    try {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/x-ndjson');
      const lines = (await response.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0].type).toBe('accepted');
      expect(lines[0].workspace.status).toBe('creating');
      expect(lines.some((l) => l.type === 'progress')).toBe(true);
      const done = lines.at(-1);
      expect(done.type).toBe('done');
      expect(done.operation.status).toBe('succeeded');
      expect(done.workspace.status).toBe('running');
      // The operation's row agrees with the stream: written once at the end, with its final stage.
      const op = await fetch(`${server.url}/api/v1/operations/${done.operation.id}`, { headers: { authorization: `Bearer ${server.token}` } }).then((r) =>
        r.json(),
      );
      expect(op).toMatchObject({ status: 'succeeded', stage: 'done', progress: 1 });
      // The same name again is refused before anything streams, with the error's own status.
      const again = await fetch(`${server.url}/api/v1/workspaces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify({ name: streamed, image: 'base' }),
      });
      expect(again.status).toBe(409);
      expect(apiErrorSchema.parse(await again.json()).code).toBe('ALREADY_EXISTS');
    } finally {
      expect((await server.cli(['ws', 'rm', streamed])).code).toBe(0);
    }
  });

  it('a caller who hangs up on the streamed create does not stop it', async () => {
    const left = uniqueName('left');
    const abort = new AbortController();
    const response = await fetch(`${server.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ name: left, image: 'base' }),
      signal: abort.signal,
    });
    try {
      const reader = response.body!.getReader();
      const first = JSON.parse(new TextDecoder().decode((await reader.read()).value).split('\n')[0]);
      expect(first.type).toBe('accepted');
      abort.abort();
      await waitFor('the workspace to run after the caller left', async () => (await server.json<any>(['ws', 'show', left])).status === 'running', 60_000);
    } finally {
      expect((await server.cli(['ws', 'rm', left])).code).toBe(0);
    }
  });

  it('execs with separate streams and passes the exit code through', async () => {
    const r = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toContain('err\n');
    expect(r.stderr).not.toContain('out');
  });

  it('streams stdin, sets env and working directory', async () => {
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat'], { input: 'hello through stdin\n' });
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('hello through stdin\n');
    const env = await server.cli(['ws', 'exec', name, '-e', 'GREETING=hi there', '-w', '/tmp', '--', 'sh', '-c', 'echo "$GREETING in $(pwd)"']);
    expect(env.stdout).toBe('hi there in /tmp\n');
  });

  it('moves every byte value through stdin and stdout, megabytes of them, stderr kept apart', async () => {
    // Random bytes, so any re-encoding, truncation or reordering on the way changes the hash.
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const run = (args: string[], input?: Buffer) =>
      spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...server.env() }, input, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    const upload = run(['ws', 'exec', name, '--', 'sh', '-c', 'cat > /tmp/blob; sha256sum /tmp/blob; echo note >&2'], blob);
    expect(upload.status, upload.stderr.toString()).toBe(0);
    expect(upload.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(blob).digest('hex'));
    expect(upload.stderr.toString()).toBe('note\n');
    const download = run(['ws', 'exec', name, '--', 'sh', '-c', 'cat /tmp/blob; echo done >&2']);
    expect(download.status, download.stderr.toString()).toBe(0);
    expect(download.stdout.length).toBe(blob.length);
    expect(download.stdout.equals(blob)).toBe(true);
    expect(download.stderr.toString()).toBe('done\n');
  });

  it('gives the command a terminal with -t', async () => {
    const plain = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'tty || true']);
    expect(plain.stdout).toContain('not a tty');
    const tty = await server.cli(['ws', 'exec', '-t', name, '--', 'sh', '-c', 'tty; exit 4']);
    expect(tty.code).toBe(4);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
  });

  it('keeps the home directory across stop and start', async () => {
    expect((await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo kept > /root/marker'])).code).toBe(0);
    const stop = await server.cli(['ws', 'stop', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', name])).status).toBe('stopped');
    const execStopped = await server.cli(['ws', 'exec', name, '--', 'true']);
    expect(execStopped.code).not.toBe(0);
    expect(execStopped.stderr).toContain('FAILED_PRECONDITION');
    const start = await server.cli(['ws', 'start', name]);
    expect(start.code, start.stderr).toBe(0);
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat', '/root/marker']);
    expect(cat.stdout).toBe('kept\n');
  });

  it('restarts', async () => {
    const r = await server.cli(['ws', 'restart', name]);
    expect(r.code, r.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', name])).status).toBe('running');
    expect((await server.cli(['ws', 'exec', name, '--', 'true'])).code).toBe(0);
  });

  it('deletes and leaves no container or volume behind', async () => {
    const r = await server.cli(['ws', 'rm', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await dockerLeftovers(workspaceId)).toEqual([]);
    const show = await server.cli(['ws', 'show', name]);
    expect(show.code).toBe(3);
    expect(show.stderr).toContain('NOT_FOUND');
  });
});
