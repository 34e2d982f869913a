/** The node management commands against a fake server on loopback: what they send, what they print. */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeDetail, OperationEvent } from '../api/index.js';
import { type FakeServer, type RecordedRequest, sendJson, startFakeServer } from '../client/fake-server.test-support.js';
import { sampleNode, sampleOperation } from '../client/fixtures.test-support.js';
import { runBerth } from './cli-harness.test-support.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

type Handler = (req: RecordedRequest, res: ServerResponse) => void;

async function fakeBerth(routes: Record<string, Handler | unknown>): Promise<{ env: Record<string, string>; server: FakeServer }> {
  server = await startFakeServer({
    http: (req, res) => {
      const key = `${req.method} ${req.path.replace(/^\/api\/v1/, '')}`;
      if (!(key in routes)) return false;
      const route = routes[key];
      if (typeof route === 'function') (route as Handler)(req, res);
      else sendJson(res, 200, route);
    },
  });
  return { env: { BERTH_SERVER: server.url, BERTH_TOKEN: 'tok' }, server };
}

describe('node commands', () => {
  it('node label sends sets and removals, and refuses a bad label before any request', async () => {
    const { env, server: s } = await fakeBerth({ 'POST /nodes/alpha/labels': sampleNode({ labels: { zone: 'eu' } }) });
    const run = await runBerth(['node', 'label', 'alpha', 'zone=eu', 'gpu-'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('Node alpha labels: zone=eu\n');
    expect(JSON.parse(s.requests[0].body)).toEqual({ set: { zone: 'eu' }, remove: ['gpu'] });
    const bad = await runBerth(['node', 'label', 'alpha', 'no good=x', '--json'], { env });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'labels' });
    expect(s.requests).toHaveLength(1);
  });

  it('ws create passes repeated --constraint and refuses a malformed one as a usage error', async () => {
    const { env, server: s } = await fakeBerth({});
    const bad = await runBerth(['ws', 'create', 'demo', '--constraint', 'zone'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid constraint');
    expect(s.requests).toHaveLength(0);
    await runBerth(['ws', 'create', 'demo', '--no-wait', '--constraint', 'zone=eu', '--constraint', 'gpu!=none'], { env });
    expect(JSON.parse(s.requests[0].body)).toMatchObject({ name: 'demo', constraints: ['zone=eu', 'gpu!=none'] });
  });

  it('node show prints status, cordon, labels, reservations, providers and workspaces', async () => {
    const detail: NodeDetail = {
      node: sampleNode({ cordoned: true, labels: { zone: 'eu' } }),
      reserved: { cpus: 1, memoryBytes: 2 * 1024 ** 3 },
      free: { cpus: 3, memoryBytes: 6 * 1024 ** 3 },
      workspaces: [{ name: 'demo', owner: 'ann', status: 'unknown', provider: 'docker', cpus: 1, memoryBytes: 2 * 1024 ** 3 }],
    };
    const { env } = await fakeBerth({ 'GET /nodes/alpha': detail });
    const run = await runBerth(['node', 'show', 'alpha'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Cordoned:\s+yes/);
    expect(run.stdout).toMatch(/Labels:\s+zone=eu/);
    expect(run.stdout).toMatch(/CPUs:\s+4 total, 1 reserved, 3 free/);
    expect(run.stdout).toMatch(/Memory:\s+8.0 GiB total, 2.0 GiB reserved, 6.0 GiB free/);
    expect(run.stdout).toMatch(/Provider lxc:\s+not usable: /);
    expect(run.stdout).toMatch(/demo\s+ann\s+unknown\s+docker\s+1\s+2.0 GiB/);
    expect(JSON.parse((await runBerth(['node', 'show', 'alpha', '--json'], { env })).stdout)).toEqual(detail);
  });

  it('node drain sends the deadline in seconds and follows the operation', async () => {
    const running = sampleOperation({ kind: 'node.drain', target: 'node/alpha', status: 'running', stage: null, progress: null, finishedAt: null });
    const { env, server: s } = await fakeBerth({
      'POST /nodes/alpha/drain': { operation: running },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) => {
        const events: OperationEvent[] = [
          { type: 'log', line: 'stopped demo' },
          { type: 'done', operation: sampleOperation({ kind: 'node.drain', target: 'node/alpha' }) },
        ];
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(events.map((e) => JSON.stringify(e) + '\n').join(''));
      },
    });
    const run = await runBerth(['node', 'drain', 'alpha', '--deadline', '10m', '--force'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Node alpha is drained');
    expect(JSON.parse(s.requests[0].body)).toEqual({ deadlineSeconds: 600, force: true });
    const bad = await runBerth(['node', 'drain', 'alpha', '--deadline', 'soon'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid deadline');
  });

  it('cordon and uncordon say what they did', async () => {
    const { env } = await fakeBerth({ 'POST /nodes/alpha/cordon': sampleNode({ cordoned: true }), 'POST /nodes/alpha/uncordon': sampleNode() });
    expect((await runBerth(['node', 'cordon', 'alpha'], { env })).stdout).toContain('Node alpha is cordoned');
    expect((await runBerth(['node', 'uncordon', 'alpha'], { env })).stdout).toContain('Node alpha is uncordoned');
  });
});
