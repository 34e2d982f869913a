/**
 * Separate agent processes: joining with single-use, expiring tokens; online and offline by
 * heartbeats; reconnecting after the server or the agent restarts; re-adopting a running
 * workspace; and a node whose Docker engine is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLeftovers, type Proc, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const agents: Proc[] = [];

beforeAll(async () => {
  server = await TestServer.start({ heartbeatMs: 500 });
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await server.destroy();
});

describe('node agents', () => {
  it('refuses a used or expired join token', async () => {
    const { token } = await server.json<{ token: string }>(['node', 'join-token', '--ttl', '10s']);
    const first = await startAgent(server, { name: 'used-a', joinToken: token });
    agents.push(first.proc);
    await server.waitNodeOnline('used-a');
    const second = await startAgent(server, { name: 'used-b', joinToken: token });
    expect(await second.proc.exited).not.toBe(0);
    expect(second.proc.output).toMatch(/already used/);

    const expired = await server.json<{ token: string }>(['node', 'join-token', '--ttl', '10s']);
    await new Promise((r) => setTimeout(r, 10_500));
    const late = await startAgent(server, { name: 'late', joinToken: expired.token });
    expect(await late.proc.exited).not.toBe(0);
    expect(late.proc.output).toMatch(/expired/);
    const names = (await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[])).map((n) => n.name);
    expect(names).not.toContain('used-b');
    expect(names).not.toContain('late');
  });

  it('goes offline after missed heartbeats, reconnects, and re-adopts its running workspace', async () => {
    const { proc, stateDir } = await startAgent(server, { name: 'roamer' });
    agents.push(proc);
    await server.waitNodeOnline('roamer');
    expect((await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'roamer'])).code).toBe(0);
    const ws = uniqueName('adopt');
    const created = await server.cli(['ws', 'create', ws, '--node', 'roamer']);
    expect(created.code, created.stderr).toBe(0);

    // Agent killed hard: the node turns offline, the workspace keeps running in Docker.
    await proc.stop('SIGKILL');
    await waitFor(
      'roamer offline',
      async () => (await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[])).find((n) => n.name === 'roamer')?.status === 'offline',
      15_000,
    );
    const offlineExec = await server.cli(['ws', 'exec', ws, '--', 'true']);
    expect(offlineExec.code).toBe(6);
    expect(offlineExec.stderr).toContain('NODE_OFFLINE');

    // Restarted from its state dir without a token: it recovers and serves again.
    const again = await startAgent(server, { name: 'roamer', stateDir });
    agents.push(again.proc);
    await server.waitNodeOnline('roamer');
    expect(again.proc.output).toMatch(/recovered workspace/);
    const exec = await server.cli(['ws', 'exec', ws, '--', 'echo', 'still here']);
    expect(exec.stdout, `exit ${exec.code}: ${exec.stderr}`).toBe('still here\n');

    // The server restarts: the agent redials with backoff and the node comes back online.
    // SIGTERM shuts the server down cleanly (exit 0), then it comes back on the same data dir.
    expect(await server.proc!.stop()).toBe(0);
    expect(server.proc!.output).toContain('"msg":"stopped"');
    await server.launch();
    // The node keeps its recorded status (online) through the restart grace, so `online` alone
    // does not say the agent is back: an exec that works does.
    await server.waitNodeOnline('roamer', 40_000);
    await waitFor('roamer reconnected', async () => (await server.cli(['ws', 'exec', ws, '--', 'true'])).code === 0, 40_000, 500);

    const id = (await server.json<any>(['ws', 'show', ws])).id;
    expect((await server.cli(['ws', 'rm', ws])).code).toBe(0);
    expect(await dockerLeftovers(id)).toEqual([]);
  });

  it('reports Docker down with the socket path, and refuses creates there with PROVIDER_UNAVAILABLE', async () => {
    const { proc } = await startAgent(server, { name: 'nodocker', env: { BERTH_DOCKER_SOCKET: '/tmp/berth-no-such-docker.sock' } });
    agents.push(proc);
    const node = await server.waitNodeOnline('nodocker');
    const info = node.providers.find((p: any) => p.kind === 'docker');
    expect(info.usable).toBe(false);
    expect(info.reason).toContain('/tmp/berth-no-such-docker.sock');
    const r = await server.cli(['ws', 'create', uniqueName('down'), '--node', 'nodocker']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('PROVIDER_UNAVAILABLE');
    expect(r.stderr).toContain('/tmp/berth-no-such-docker.sock');
  });
});
