/**
 * Prometheus metrics end to end: a real server (with --metrics-listen) and a real agent
 * process (with its own --metrics-listen), scraped over HTTP and read as numbers. Admins read
 * GET /api/v1/metrics with their token, members and anonymous callers are refused; a
 * workspace created with the CLI shows up in the operation counter, the workspace gauge and
 * the agent's request counter; heartbeats, exec sessions and reconnects are counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PromSample, parsePromText, samples, sampleValue } from '../../src/testing/prom-text.js';
import { dockerLeftovers, freePort, getJson, type Proc, runCli, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

const NODE = 'metrics-node';
let server: TestServer;
let agent: Proc;
let agentStateDir = '';
let serverMetricsPort = 0;
let agentMetricsPort = 0;
let memberToken = '';

/** GET a metrics URL; fails the test unless it answers 200 in the Prometheus text format. */
async function scrapeUrl(url: string, token?: string): Promise<PromSample[]> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePromText(text);
}
const scrapeApi = () => scrapeUrl(`${server.url}/api/v1/metrics`, server.token);
const scrapeServerListener = () => scrapeUrl(`http://127.0.0.1:${serverMetricsPort}/metrics`);
const scrapeAgent = () => scrapeUrl(`http://127.0.0.1:${agentMetricsPort}/metrics`);

beforeAll(async () => {
  serverMetricsPort = await freePort();
  agentMetricsPort = await freePort();
  server = await TestServer.start({ heartbeatMs: 500, extraArgs: ['--metrics-listen', `127.0.0.1:${serverMetricsPort}`] });
  const started = await startAgent(server, { name: NODE, extraArgs: ['--metrics-listen', String(agentMetricsPort)] });
  agent = started.proc;
  agentStateDir = started.stateDir;
  await server.waitNodeOnline(NODE);
  // A member, registered through the API with an invite, for the refusal.
  const invite = await server.json<{ code: string }>(['user', 'invite', 'member@example.com']);
  const reg = await fetch(`${server.url}/api/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite: invite.code, name: 'member' }),
  });
  expect(reg.status).toBe(201);
  memberToken = ((await reg.json()) as { token: string }).token;
});

afterAll(async () => {
  // The server removes what is left through the agent, so the agent stops last.
  await server?.destroy();
  await agent?.stop();
});

describe('metrics', () => {
  it('serves GET /api/v1/metrics to an admin token only', async () => {
    const none = await getJson(`${server.url}/api/v1/metrics`);
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHENTICATED');
    const member = await getJson(`${server.url}/api/v1/metrics`, undefined, { authorization: `Bearer ${memberToken}` });
    expect(member.status).toBe(403);
    expect(member.body.code).toBe('PERMISSION_DENIED');
    const bogus = await getJson(`${server.url}/api/v1/metrics`, undefined, { authorization: 'Bearer not-a-token' });
    expect(bogus.status).toBe(401);

    const all = await scrapeApi();
    expect(sampleValue(all, 'berth_nodes', { status: 'online' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(all, 'berth_agent_connections')).toBe(1);
    expect(all.some((s) => s.name === 'berth_server_process_resident_memory_bytes' && s.value > 0)).toBe(true);
    // The refused scrapes themselves were timed, under the route's pattern.
    expect(sampleValue(all, 'berth_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/metrics', status_code: '403' })).toBe(1);
  });

  it('counts heartbeats as they are handled', async () => {
    const before = sampleValue(await scrapeApi(), 'berth_heartbeat_handling_seconds_count')!;
    expect(before).toBeGreaterThanOrEqual(1); // the hello at least
    // Heartbeats every 500 ms: a few arrive within 2.5 s.
    await new Promise((r) => setTimeout(r, 2_500));
    const after = await scrapeApi();
    expect(sampleValue(after, 'berth_heartbeat_handling_seconds_count')! - before).toBeGreaterThanOrEqual(3);
    const sum = sampleValue(after, 'berth_heartbeat_handling_seconds_sum')!;
    expect(sum).toBeGreaterThan(0);
    expect(sampleValue(after, 'berth_heartbeat_handling_seconds_bucket', { le: '+Inf' })).toBe(sampleValue(after, 'berth_heartbeat_handling_seconds_count'));
  });

  it('counts a workspace create in the operations, the workspace gauge and the agent', async () => {
    expect((await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', NODE])).code).toBe(0);
    const createdBefore = sampleValue(await scrapeApi(), 'berth_operations_total', { kind: 'workspace.create', outcome: 'succeeded' }) ?? 0;
    const ws = uniqueName('metrics');
    const created = await server.cli(['ws', 'create', ws, '--image', 'base', '--node', NODE]);
    expect(created.code, created.stderr).toBe(0);

    const all = await scrapeApi();
    expect(sampleValue(all, 'berth_operations_total', { kind: 'workspace.create', outcome: 'succeeded' })).toBe(createdBefore + 1);
    expect(sampleValue(all, 'berth_operation_duration_seconds_count', { kind: 'workspace.create', outcome: 'succeeded' })).toBe(createdBefore + 1);
    expect(sampleValue(all, 'berth_operations_total', { kind: 'image.build', outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    const running = (await server.json<{ workspaces: Array<{ status: string; provider: string }> }>(['ws', 'ls'])).workspaces.filter(
      (w) => w.status === 'running' && w.provider === 'docker',
    ).length;
    expect(running).toBe(1);
    expect(sampleValue(all, 'berth_workspaces', { status: 'running', provider: 'docker' })).toBe(running);
    // The CLI's create (a streamed answer) was timed under the route's pattern, never the workspace's name.
    expect(samples(all, 'berth_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/workspaces' }).map((s) => s.labels.status_code)).toEqual(
      ['200'],
    );
    expect(samples(all, 'berth_http_request_duration_seconds_count').filter((s) => s.labels.route.includes(ws))).toEqual([]);

    // The agent's own view: the create it answered, and the workspace in its next report.
    const agentNow = await scrapeAgent();
    expect(sampleValue(agentNow, 'berth_agent_requests_total', { method: 'workspace.create', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(agentNow, 'berth_agent_request_duration_seconds_count', { method: 'workspace.create', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(agentNow, 'berth_agent_connected')).toBe(1);
    await waitFor(
      'the agent report counts the workspace',
      async () => sampleValue(await scrapeAgent(), 'berth_agent_workspaces', { provider: 'docker', status: 'running' }) === 1,
      10_000,
    );
    expect((await scrapeAgent()).some((s) => s.name === 'berth_agent_process_cpu_user_seconds_total')).toBe(true);

    // An exec session is open on both sides while it runs, and gone after.
    const exec = server.cli(['ws', 'exec', ws, '--', 'sleep', '3']);
    await waitFor(
      'the exec session counted',
      async () =>
        sampleValue(await scrapeServerListener(), 'berth_exec_sessions_open') === 1 && sampleValue(await scrapeAgent(), 'berth_agent_exec_sessions_open') === 1,
      10_000,
      100,
    );
    expect((await exec).code).toBe(0);
    await waitFor(
      'the exec session gone',
      async () =>
        sampleValue(await scrapeServerListener(), 'berth_exec_sessions_open') === 0 && sampleValue(await scrapeAgent(), 'berth_agent_exec_sessions_open') === 0,
      10_000,
      100,
    );

    const id = (await server.json<{ id: string }>(['ws', 'show', ws])).id;
    expect((await server.cli(['ws', 'rm', ws])).code).toBe(0);
    const afterRm = await scrapeApi();
    expect(sampleValue(afterRm, 'berth_operations_total', { kind: 'workspace.delete', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(afterRm, 'berth_workspaces', { status: 'running', provider: 'docker' })).toBe(0);
    expect(await dockerLeftovers(id)).toEqual([]);
  });

  it('serves the same registry on --metrics-listen without a token, and nothing else there', async () => {
    const all = await scrapeServerListener();
    expect(sampleValue(all, 'berth_nodes', { status: 'online' })).toBe(1);
    expect(sampleValue(all, 'berth_gateway_sessions_open')).toBe(0);
    const other = await getJson(`http://127.0.0.1:${serverMetricsPort}/api/v1/nodes`);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('NOT_FOUND');
    const agentOther = await getJson(`http://127.0.0.1:${agentMetricsPort}/`);
    expect(agentOther.status).toBe(404);
    expect(agentOther.body.code).toBe('NOT_FOUND');
    expect(server.proc!.output).toMatch(/metrics listener serving/);
  });

  it('refuses to start a server whose --metrics-listen port is taken, or is no address', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-e2e-metrics-busy-'));
    try {
      const args = ['server', '--listen', `127.0.0.1:${await freePort()}`, '--ssh-listen', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir];
      const taken = await runCli([...args, '--metrics-listen', `127.0.0.1:${port}`], { timeoutMs: 60_000 });
      expect(taken.code).toBe(5);
      expect(taken.stderr).toMatch(
        /FAILED_PRECONDITION: The metrics listener cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); pick another address with --metrics-listen/,
      );
      const malformed = await runCli([...args, '--metrics-listen', 'nowhere'], { timeoutMs: 60_000 });
      expect(malformed.code).toBe(2);
      // Refused by the option parser, like every listen address, before anything starts.
      expect(malformed.stderr).toMatch(/--metrics-listen <host:port>' argument 'nowhere' is invalid\. Invalid listen address "nowhere": use HOST:PORT/);
    } finally {
      busy.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('counts an agent that comes back as a reconnect', async () => {
    const before = sampleValue(await scrapeApi(), 'berth_agent_reconnects_total')!;
    await agent.stop('SIGKILL');
    await waitFor('the agent socket closed', async () => sampleValue(await scrapeApi(), 'berth_agent_connections') === 0, 15_000);
    agent = (await startAgent(server, { name: NODE, stateDir: agentStateDir, extraArgs: ['--metrics-listen', String(agentMetricsPort)] })).proc;
    await waitFor('the agent back', async () => sampleValue(await scrapeApi(), 'berth_agent_connections') === 1, 30_000);
    expect(sampleValue(await scrapeApi(), 'berth_agent_reconnects_total')).toBe(before + 1);
    await waitFor('the new agent process connected', async () => sampleValue(await scrapeAgent(), 'berth_agent_connected') === 1, 10_000);
  });
});
