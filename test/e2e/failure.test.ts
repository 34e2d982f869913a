/**
 * Failure detection with fencing, through the CLI: an agent killed hard turns its node offline
 * within the TTL + grace and its workspaces `unknown` (never deleted, never re-created
 * elsewhere); restarted, it comes back online and its workspaces back to running, with
 * nothing duplicated. `ws rm` on the offline node refuses without --force; with --force only
 * the record goes and the node deletes the workspace when it returns. A server restart does
 * not turn nodes offline during its grace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, type Proc, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

const HEARTBEAT_MS = 500;
/**
 * TTL three heartbeats, and a grace long enough that, after a server restart, an agent that
 * redials with backoff (0.5 s, 1 s, 2 s, 4 s, ±25%) is back before the start grace ends, on a
 * busy machine too.
 */
const TTL_MS = 3 * HEARTBEAT_MS;
const GRACE_MS = 4_500;
const TTL_PLUS_GRACE_MS = TTL_MS + GRACE_MS;

let server: TestServer;
const agents: Proc[] = [];

beforeAll(async () => {
  server = await TestServer.start({ heartbeatMs: HEARTBEAT_MS, env: { BERTH_NODE_TTL_MS: String(TTL_MS), BERTH_NODE_GRACE_MS: String(GRACE_MS) } });
}, 120_000);

afterAll(async () => {
  await server.destroy();
  for (const a of agents) await a.stop();
});

const nodeOf = async (name: string) => (await server.json<any>(['node', 'ls'])).nodes.find((n: any) => n.name === name);
const statusOf = async (ws: string) => (await server.json<any>(['ws', 'show', ws])).status as string;
/** Containers of a workspace, counted by berth's label. */
const containersOf = async (id: string) => (await docker.listContainers({ all: true, filters: { label: [`berth.workspace=${id}`] } })).length;

describe('failure detection', () => {
  it('fences an offline node, reconciles it when it returns, and deletes a force-removed workspace there', async () => {
    const { proc, stateDir } = await startAgent(server, { name: 'fa' });
    agents.push(proc);
    await server.waitNodeOnline('fa');
    expect((await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'fa'])).code).toBe(0);
    const keep = uniqueName('keep');
    const drop = uniqueName('drop');
    for (const ws of [keep, drop]) expect((await server.cli(['ws', 'create', ws, '--node', 'fa'])).code).toBe(0);
    const keepId = (await server.json<any>(['ws', 'show', keep])).id;
    const dropId = (await server.json<any>(['ws', 'show', drop])).id;

    // SIGKILL: no goodbye. Offline within TTL + grace (plus a check interval and CLI time).
    const killedAt = Date.now();
    await proc.stop('SIGKILL');
    await waitFor('fa offline', async () => (await nodeOf('fa'))?.status === 'offline', TTL_PLUS_GRACE_MS + 5_000, 100);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeGreaterThanOrEqual(TTL_PLUS_GRACE_MS - 600);
    await waitFor(`${keep} unknown`, async () => (await statusOf(keep)) === 'unknown', 5_000);
    // Fenced, not lost: the rows are still there, the containers still run, nothing was made elsewhere.
    expect((await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name).sort()).toEqual([drop, keep].sort());
    expect(await containersOf(keepId)).toBe(1);
    const audit = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    expect(audit.find((e: any) => e.action === 'node.offline' && e.target === 'node/fa')).toBeTruthy();

    // Commands that need the node say so.
    for (const args of [
      ['ws', 'exec', keep, '--', 'true'],
      ['ws', 'stop', keep],
      ['ws', 'start', keep],
    ]) {
      const r = await server.cli(args);
      expect(r.code, args.join(' ')).toBe(6);
      expect(r.stderr).toContain('NODE_OFFLINE');
    }
    const rm = await server.cli(['ws', 'rm', drop]);
    expect(rm.code).toBe(6);
    expect(rm.stderr).toContain('NODE_OFFLINE');
    expect(rm.stderr).toContain('--force');
    const forced = await server.cli(['ws', 'rm', drop, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name)).toEqual([keep]);
    expect(await containersOf(dropId)).toBe(1);

    // Back from its state dir: online, reconciled to running, the force-removed one deleted, nothing doubled.
    const again = await startAgent(server, { name: 'fa', stateDir });
    agents.push(again.proc);
    await server.waitNodeOnline('fa');
    await waitFor(`${keep} running again`, async () => (await statusOf(keep)) === 'running', 15_000);
    await waitFor(`${drop} deleted on its node`, async () => (await containersOf(dropId)) === 0, 30_000);
    expect(await containersOf(keepId)).toBe(1);
    expect((await server.cli(['ws', 'exec', keep, '--', 'true'])).code).toBe(0);
    const after = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    expect(after.find((e: any) => e.action === 'node.online' && e.target === 'node/fa')).toBeTruthy();
    expect(after.find((e: any) => e.action === 'workspace.reap' && e.target === `workspace/admin/${drop}`)).toMatchObject({ outcome: 'ok' });
  });

  it('turns a node whose socket stays open but whose heartbeats stop (a frozen agent) offline, and back', async () => {
    const { proc } = await startAgent(server, { name: 'frozen' });
    agents.push(proc);
    await server.waitNodeOnline('frozen');
    const ws = uniqueName('frozen');
    expect((await server.cli(['ws', 'create', ws, '--node', 'frozen'])).code).toBe(0);
    // SIGSTOP: the TCP connection stays up, nothing is sent. Only the missed heartbeats tell.
    proc.child.kill('SIGSTOP');
    try {
      await waitFor('frozen offline', async () => (await nodeOf('frozen'))?.status === 'offline', TTL_PLUS_GRACE_MS + 5_000, 100);
      await waitFor(`${ws} unknown`, async () => (await statusOf(ws)) === 'unknown', 5_000);
      const exec = await server.cli(['ws', 'exec', ws, '--', 'true']);
      expect(exec.code).toBe(6);
      expect(exec.stderr).toContain('NODE_OFFLINE');
    } finally {
      proc.child.kill('SIGCONT');
    }
    await server.waitNodeOnline('frozen', 15_000);
    await waitFor(`${ws} running again`, async () => (await statusOf(ws)) === 'running', 15_000);
    const id = (await server.json<any>(['ws', 'show', ws])).id;
    expect(await containersOf(id)).toBe(1);
    expect((await server.cli(['ws', 'rm', ws])).code).toBe(0);
    await proc.stop();
  });

  it('keeps nodes and their workspaces as they were through a server restart', async () => {
    expect((await server.waitNodeOnline('fa')).status).toBe('online');
    const keep = (await server.json<any>(['ws', 'ls'])).workspaces.find((w: any) => w.nodeName === 'fa').name as string;
    expect(await statusOf(keep)).toBe('running');
    expect(await server.proc!.stop()).toBe(0);
    await server.launch();
    const restartedAt = Date.now();
    // A command right away waits for the agent to redial instead of answering NODE_OFFLINE.
    const exec = await server.cli(['ws', 'exec', keep, '--', 'echo', 'served']);
    expect(exec.stderr).toBe('');
    expect(exec.stdout).toBe('served\n');
    // No agent is connected at first, yet through and past the start grace (TTL + grace) the
    // node stays online and its workspace running: the agent redials within it.
    while (Date.now() - restartedAt < TTL_PLUS_GRACE_MS + 1_500) {
      expect((await nodeOf('fa')).status).toBe('online');
      expect(await statusOf(keep)).toBe('running');
    }
    expect(server.proc!.output).toContain('agent connected');
    const audit = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    // Only the one from the SIGKILL above: the restart added none.
    expect(audit.filter((e: any) => e.action === 'node.offline' && e.target === 'node/fa')).toHaveLength(1);
  });
});
