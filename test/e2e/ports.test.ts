/**
 * Ports, always on, end to end: the node finds what listens inside a workspace (from the
 * workspace's own /proc/net, nothing run inside) and pushes it to the server, whether or not
 * anyone is connected; `berth ports` shows port, protocol, addresses and owning process, and a
 * port disappears once its process stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const ws = uniqueName('ports');

interface Ports {
  workspace: string;
  observedAt: string | null;
  ports: Array<{ port: number; protocol: string; addresses: string[]; process: { pid: number; name: string } | null; loopbackOnly: boolean }>;
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  const created = await server.cli(['ws', 'create', ws]);
  expect(created.code, created.stderr).toBe(0);
});

afterAll(async () => {
  await server.cli(['ws', 'rm', ws]).catch(() => {});
  await server.destroy();
});

describe('berth ports', () => {
  it('shows a port once a service listens, with its process, and drops it when the service stops', async () => {
    const before = await server.json<Ports>(['ports', ws]);
    expect(before.observedAt).not.toBeNull();
    expect(before.ports.find((p) => p.port === 8080)).toBeUndefined();

    // busybox httpd forks into the background: nobody stays connected to the workspace.
    const started = await server.cli(['ws', 'exec', ws, '--', 'httpd', '-p', '127.0.0.1:8080', '-h', '/tmp']);
    expect(started.code, started.stderr).toBe(0);
    const seen = await waitFor('port 8080 in berth ports', async () => (await server.json<Ports>(['ports', ws])).ports.find((p) => p.port === 8080), 15_000, 100);
    expect(seen).toMatchObject({ port: 8080, protocol: 'tcp', addresses: ['127.0.0.1'], loopbackOnly: true, process: { name: 'httpd' } });

    const human = await server.cli(['ports', ws]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/8080\s+tcp\s+127\.0\.0\.1\s+httpd \(\d+\)/);
    expect(human.stdout).toContain(`ssh -L 8080:localhost:8080 ${ws}.berth`);

    const stopped = await server.cli(['ws', 'exec', ws, '--', 'killall', 'httpd']);
    expect(stopped.code, stopped.stderr).toBe(0);
    await waitFor('port 8080 gone', async () => !(await server.json<Ports>(['ports', ws])).ports.some((p) => p.port === 8080), 15_000, 100);
  });

  it('answers a missing workspace with NOT_FOUND, naming the field', async () => {
    const r = await server.cli(['ports', 'no-such-workspace']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('NOT_FOUND');
    expect(r.stderr).toContain('(field: name)');
  });
});
