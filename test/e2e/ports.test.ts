/**
 * Ports, always on, end to end: the node finds what listens inside a workspace (from the
 * workspace's own /proc/net, nothing run inside) and pushes it to the server, whether or not
 * anyone is connected; `berth ports` shows port, protocol, addresses and owning process, and a
 * port disappears once its process stops.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freePort, TestServer, uniqueName, waitFor } from './harness.js';

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
    // A new workspace's first list arrives with the node's next scan (every second).
    const before = await waitFor(
      'the first report',
      async () => {
        const r = await server.json<Ports>(['ports', ws]);
        return r.observedAt === null ? undefined : r;
      },
      10_000,
      100,
    );
    expect(before.ports.find((p) => p.port === 8080)).toBeUndefined();

    // busybox httpd forks into the background: nobody stays connected to the workspace.
    const started = await server.cli(['ws', 'exec', ws, '--', 'httpd', '-p', '127.0.0.1:8080', '-h', '/tmp']);
    expect(started.code, started.stderr).toBe(0);
    const seen = await waitFor(
      'port 8080 in berth ports',
      async () => (await server.json<Ports>(['ports', ws])).ports.find((p) => p.port === 8080),
      15_000,
      100,
    );
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

describe('berth port-forward', () => {
  it('carries local connections to a service on the workspace loopback, bytes intact, until interrupted', async () => {
    const made = await server.cli([
      'ws',
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'mkdir -p /tmp/pf && head -c 1500000 /dev/urandom > /tmp/pf/blob && httpd -p 127.0.0.1:8082 -h /tmp/pf && sha256sum /tmp/pf/blob',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const want = made.stdout.split(' ')[0];
    const local = await freePort();
    const child = spawn(process.execPath, [BIN, 'port-forward', ws, `${local}:8082`, '0:9'], { env: server.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('both forwards listening', async () => out.split('\n').filter((l) => l.startsWith('Forwarding')).length === 2, 20_000, 50);
      expect(out).toContain(`Forwarding 127.0.0.1:${local} -> ${ws}:8082`);
      const blob = Buffer.from(await (await fetch(`http://127.0.0.1:${local}/blob`)).arrayBuffer());
      expect(createHash('sha256').update(blob).digest('hex')).toBe(want);
      // Port 9 has no listener: the local connection is closed and the reason printed.
      const refusedPort = Number(/Forwarding 127\.0\.0\.1:(\d+) -> \S+:9\n/.exec(out)![1]);
      await new Promise<void>((resolve) =>
        connect(refusedPort, '127.0.0.1')
          .on('close', () => resolve())
          .on('error', () => resolve()),
      );
      await waitFor('the refusal printed', async () => err.includes('Nothing listens on port 9'), 10_000, 50);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('reaches a service bound only to the workspace address, not its loopback', async () => {
    // The node connects to the container's own address first; the namespace path tries only loopback.
    const made = await server.cli([
      'ws',
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      "addr=$(ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1) && mkdir -p /tmp/pa && echo bound-to-$addr > /tmp/pa/index.html && httpd -p $addr:8083 -h /tmp/pa && echo $addr",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const address = made.stdout.trim();
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const local = await freePort();
    const child = spawn(process.execPath, [BIN, 'port-forward', ws, `${local}:8083`], { env: server.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the forward listening', async () => out.includes('Forwarding'), 20_000, 50);
      const page = await (await fetch(`http://127.0.0.1:${local}/`)).text();
      expect(page.trim()).toBe(`bound-to-${address}`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('refuses a malformed port pair with exit 2, naming the field', async () => {
    const r = await server.cli(['port-forward', ws, '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(field: ports)');
  });
});
