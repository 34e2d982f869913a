/**
 * Health checks (cmd, http, tcp) with compose's timings: failures in the start period do not
 * count, `retries` failures in a row make a service unhealthy, a pass makes it healthy again;
 * and services run as the configured user with the workspace's env under their own.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedHealthcheck } from '../../../src/api/spec-resolve.js';
import { requireBinary, until } from './harness.js';
import { service, sh, SupervisorRoot } from './supervisor-harness.js';

let root: SupervisorRoot;
let servers: Array<Server | TcpServer> = [];
beforeAll(() => requireBinary());
afterEach(async () => {
  await root?.destroy();
  for (const s of servers) s.close();
  servers = [];
});

function check(probe: ResolvedHealthcheck['probe'], more: Partial<ResolvedHealthcheck> = {}): ResolvedHealthcheck {
  return { probe, intervalMs: 100, timeoutMs: 1000, retries: 2, startPeriodMs: 0, startIntervalMs: 50, ...more };
}

/** An HTTP server on 127.0.0.1 answering `status()` (the test's stand-in for a service's port). */
async function http(status: () => number): Promise<number> {
  const s = createServer((_, res) => res.writeHead(status()).end());
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

describe('berth-in supervise: health checks', () => {
  it('http: 2xx/3xx or the listed statuses pass; others fail until unhealthy, and it recovers', async () => {
    let code = 200;
    const port = await http(() => code);
    root = await SupervisorRoot.make();
    await root.write([
      service('web', sh('exec sleep 100'), { healthcheck: check({ kind: 'http', port, path: '/health', status: null }) }),
      service('teapot', sh('exec sleep 100'), { healthcheck: check({ kind: 'http', port, path: '/', status: [418] }) }),
    ]);
    root.daemon();
    const web = await root.waitFor('web', (s) => s.state === 'healthy', 'healthy');
    expect(web.lastHealthOutput).toBe('HTTP 200');
    // 200 is not in teapot's list.
    const teapot = await root.waitFor('teapot', (s) => s.state === 'unhealthy', 'unhealthy');
    expect(teapot.healthFailures).toBeGreaterThanOrEqual(2);
    code = 418;
    await root.waitFor('teapot', (s) => s.state === 'healthy' && s.healthFailures === 0, 'healthy after 418');
    code = 500;
    const sick = await root.waitFor('web', (s) => s.state === 'unhealthy', 'unhealthy after 500s');
    expect(sick).toMatchObject({ lastHealthOutput: 'HTTP 500', message: expect.stringContaining('health check failed') });
    expect(sick.pid).not.toBeNull();
    code = 302;
    await root.waitFor('web', (s) => s.state === 'healthy', 'healthy on a redirect');
  });

  it('tcp: a port nobody listens on fails; one that listens passes', async () => {
    const listener = createTcpServer((c) => c.end());
    servers.push(listener);
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const open = (listener.address() as { port: number }).port;
    const closedSrv = createTcpServer();
    await new Promise<void>((r) => closedSrv.listen(0, '127.0.0.1', r));
    const closed = (closedSrv.address() as { port: number }).port;
    await new Promise<void>((r) => closedSrv.close(() => r()));
    root = await SupervisorRoot.make();
    await root.write([
      service('up', sh('exec sleep 100'), { healthcheck: check({ kind: 'tcp', port: open }) }),
      service('down', sh('exec sleep 100'), { healthcheck: check({ kind: 'tcp', port: closed }) }),
    ]);
    root.daemon();
    expect((await root.waitFor('up', (s) => s.state === 'healthy', 'healthy')).lastHealthOutput).toBe(`connected to 127.0.0.1:${open}`);
    const down = await root.waitFor('down', (s) => s.state === 'unhealthy', 'unhealthy');
    expect(down.lastHealthOutput).toContain('connection refused');
  });

  it('cmd: failures during the start period do not count; a timeout is a failure', async () => {
    root = await SupervisorRoot.make();
    const d = root.dir;
    await root.write([
      // Ready after ~0.6 s, well inside a 3 s start period probed every 50 ms: never unhealthy.
      service('slow', sh(`sleep 0.6; touch ${d}/slow.ready; exec sleep 100`), {
        healthcheck: check({ kind: 'cmd', argv: ['test', '-f', `${d}/slow.ready`] }, { startPeriodMs: 3000, retries: 1 }),
      }),
      service('hangs', sh('exec sleep 100'), { healthcheck: check({ kind: 'cmd', argv: ['sleep', '5'] }, { timeoutMs: 150, retries: 1 }) }),
    ]);
    root.daemon();
    // Several probes have failed by now, none counted.
    await new Promise((r) => setTimeout(r, 350));
    const early = root.svc('slow');
    expect(early).toMatchObject({ state: 'starting', healthFailures: 0 });
    expect(early.lastHealthOutput).toMatch(/^exit code 1/);
    const slow = await root.waitFor('slow', (s) => s.state === 'healthy', 'healthy');
    expect(slow.healthFailures).toBe(0);
    const hangs = await root.waitFor('hangs', (s) => s.state === 'unhealthy', 'unhealthy');
    expect(hangs.lastHealthOutput).toContain('timed out after 150ms');
  });
});

describe('berth-in supervise: user and env', () => {
  it('runs services as the configured user with workspace env under the service env', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('who', sh('echo "$(id -u):$(id -g) $USER $HOME $A $B"; exec sleep 100'), { env: { B: 'service' } })], {
      user: 'nobody',
      env: { A: 'workspace', B: 'workspace' },
    });
    root.daemon();
    await root.waitFor('who', (s) => s.state === 'running', 'running');
    const line = await until('output', () => root.run(['ctl', 'logs', 'who']).stdout.trim());
    const [ids, user, home, a, b] = line.split(' ');
    const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    expect(ids).toBe(`${nobody[2]}:${nobody[3]}`);
    expect([user, home, a, b]).toEqual(['nobody', nobody[5], 'workspace', 'service']);
  });

  it('fails a service whose user does not exist, saying so', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('x', sh('true'))], { user: 'no-such-user-here' });
    root.daemon();
    const x = await root.waitFor('x', (s) => s.state === 'failed', 'failed');
    expect(x.message).toBe('could not start: there is no user no-such-user-here in /etc/passwd');
  });
});
