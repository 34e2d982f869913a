/**
 * `berth node add` in-process against a small local server: what it sends (the key, the
 * target, labels, the URL the node should dial), how it follows the operation, and the
 * mistakes it refuses before sending anything.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OperationEvent } from '../../api/index.js';
import { type FakeServer, sendJson, startFakeServer } from '../../client/fake-server.test-support.js';
import { sampleNode, sampleOperation } from '../../client/fixtures.test-support.js';
import { runBerth, tempHome } from '../cli-harness.test-support.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const running = sampleOperation({ kind: 'node.add', target: 'node/10.0.0.5', status: 'running', stage: null, progress: null, finishedAt: null });

/** A server that accepts the add and streams a host key line, then the operation renamed to the node. */
async function fakeServer(done: ReturnType<typeof sampleOperation>): Promise<Record<string, string>> {
  server = await startFakeServer({
    http: (req, res) => {
      const path = req.path.replace(/^\/api\/v1/, '').replace(/\?.*$/, '');
      if (req.method === 'POST' && path === '/nodes/ssh') return sendJson(res, 202, { operation: running });
      if (req.method === 'GET' && path === `/operations/${running.id}/events`) {
        const events: OperationEvent[] = [
          { type: 'progress', stage: 'checking the host', fraction: 0.05 },
          { type: 'log', line: 'Host key of ssh://root@10.0.0.5:22: SHA256:abc (accepted on first use ...)' },
          { type: 'done', operation: done },
        ];
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        return void res.end(events.map((e) => JSON.stringify(e) + '\n').join(''));
      }
      if (req.method === 'GET' && path === '/nodes') return sendJson(res, 200, { nodes: [sampleNode({ name: 'build-2' })] });
      return false;
    },
  });
  return { BERTH_SERVER: server.url, BERTH_TOKEN: 'tok' };
}

/** A HOME with ~/.ssh/id_ed25519 holding `key`. */
function homeWithKey(key = 'PRIVATE KEY TEXT\n'): string {
  const home = tempHome();
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_ed25519'), key, { mode: 0o600 });
  return home;
}

describe('berth node add', () => {
  it('sends the target, key, labels and this server URL, shows the progress and names the node', async () => {
    const env = await fakeServer(sampleOperation({ kind: 'node.add', target: 'node/build-2', status: 'succeeded' }));
    const r = await runBerth(['node', 'add', 'ssh://root@10.0.0.5:2222', '--name', 'build-2', '--label', 'zone=a', '--label', 'gpu=no'], {
      env,
      home: homeWithKey(),
    });
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(server!.requests.find((q) => q.path === '/api/v1/nodes/ssh')!.body);
    expect(body).toEqual({
      user: 'root',
      host: '10.0.0.5',
      port: 2222,
      privateKey: 'PRIVATE KEY TEXT\n',
      labels: { zone: 'a', gpu: 'no' },
      serverUrl: server!.url,
      name: 'build-2',
    });
    expect(r.stdout).toContain('Host key of ssh://root@10.0.0.5:22: SHA256:abc');
    expect(r.stdout).toContain('Node build-2 is online');
  });

  it('prints the operation and the node with --json', async () => {
    const env = await fakeServer(sampleOperation({ kind: 'node.add', target: 'node/build-2', status: 'succeeded' }));
    const r = await runBerth(['node', 'add', 'ssh://root@10.0.0.5', '--json', '--server-url', 'http://10.0.0.1:7080'], { env, home: homeWithKey() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ operation: { target: 'node/build-2' }, node: { name: 'build-2' } });
    expect(JSON.parse(server!.requests.find((q) => q.path === '/api/v1/nodes/ssh')!.body).serverUrl).toBe('http://10.0.0.1:7080');
  });

  it("fails with the operation's error", async () => {
    const failed = sampleOperation({
      kind: 'node.add',
      status: 'failed',
      error: { code: 'FAILED_PRECONDITION', message: 'ssh://root@10.0.0.5:22 cannot run a berth agent: Node.js ≥ 20 is not installed' },
    });
    const env = await fakeServer(failed);
    const r = await runBerth(['node', 'add', 'ssh://root@10.0.0.5'], { env, home: homeWithKey() });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('Node.js ≥ 20 is not installed');
  });

  it.each([
    [['root@10.0.0.5'], 2, 'not an SSH address'],
    [['ssh://root@10.0.0.5', '--label', 'nokey'], 2, 'not key=value'],
    [['ssh://root@10.0.0.5', '--host-key-fingerprint', 'MD5:xx'], 2, 'not a host key fingerprint'],
    [['ssh://root@10.0.0.5', '--identity', '/nonexistent/key'], 2, 'Cannot read the SSH identity'],
  ])('refuses %j before sending anything', async (args, code, message) => {
    const env = await fakeServer(running);
    const r = await runBerth(['node', 'add', ...args], { env, home: homeWithKey() });
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(server!.requests.filter((q) => q.path === '/api/v1/nodes/ssh')).toEqual([]);
  });

  it('says where it looked when there is no identity', async () => {
    const env = await fakeServer(running);
    const r = await runBerth(['node', 'add', 'ssh://root@10.0.0.5'], { env, home: tempHome() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/No SSH identity found \(looked for .*id_ed25519 and .*berth_ed25519\)/);
  });
});
