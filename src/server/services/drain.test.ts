import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OperationEvent, User } from '../../api/index.js';
import { AgentHub } from '../agents/hub.js';
import { LivenessMonitor } from '../agents/liveness.js';
import { AuditLog } from '../audit/audit.js';
import { Operations } from '../operations/operations.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../store/seed.test-support.js';
import { DrainService } from './drain.js';
import { NodesService } from './nodes.js';
import type { WorkspacesService } from './workspaces.js';

let dir: string;
let store: Store;
let ops: Operations;
let nodes: NodesService;
let clock = 0;
const admin: User = { id: 'u', name: 'admin', email: null, role: 'admin', createdAt: '' };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-drain-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  ops = new Operations(store, log);
  const liveness = new LivenessMonitor(store, new AuditLog(store, log), log, { heartbeatMs: 1000, ttlMs: 3000, graceMs: 1000 });
  nodes = new NodesService(store, new AgentHub(store, ops, log, 1000, liveness), liveness);
  clock = 1_000_000;
  const now = new Date().toISOString();
  await seedUsers(store, [{ id: 'u', name: 'admin', role: 'admin' }], now);
  await seedNode(store, 'n1', now);
  const ws = (name: string, status: string) => workspaceRow(name, name, 'u', now, { status });
  await store.db
    .insertInto('workspaces')
    .values([ws('a', 'running'), ws('b', 'running'), ws('c', 'running'), ws('idle', 'stopped')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in for the workspace lifecycle (asked by OWNER/NAME): each stop takes `tookMs` of the fake clock and stops the row. */
function lifecycle(tookMs: number) {
  const calls: Array<{ name: string; force?: boolean; timeoutSeconds?: number }> = [];
  const workspaces = {
    transition: async (_u: User, name: string, _what: string, opts: { force?: boolean; timeoutSeconds?: number }) => {
      calls.push({ name, ...opts });
      return ops.start({ kind: 'workspace.stop', target: `workspace/${name}`, createdBy: 'u' }, async () => {
        clock += tookMs;
        await store.db.updateTable('workspaces').set({ status: 'stopped' }).where('name', '=', name.split('/')[1]!).execute();
      });
    },
  } as unknown as WorkspacesService;
  return { calls, drain: new DrainService(store, ops, nodes, workspaces, () => clock) };
}

async function run(drain: DrainService, body: { deadlineSeconds?: number; force?: boolean }) {
  const op = await drain.drain(admin, 'n1', body);
  const events: OperationEvent[] = [];
  await ops.watch(op.id, (e) => events.push(e));
  const done = await ops.finished(op.id);
  return { done, events };
}

describe('DrainService', () => {
  it('cordons, stops every running workspace with its graceful timeout, and leaves the node cordoned', async () => {
    const { calls, drain } = lifecycle(100);
    const { done, events } = await run(drain, { deadlineSeconds: 3600 });
    expect(done.status).toBe('succeeded');
    expect(calls.map((c) => c.name).sort()).toEqual(['admin/a', 'admin/b', 'admin/c']);
    expect(calls.every((c) => c.timeoutSeconds === 10 && !c.force)).toBe(true);
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ stage: 'stopped 3 of 3', fraction: 1 });
    expect((await nodes.one('n1')).cordoned).toBe(true);
  });

  it('past the deadline fails naming what still runs, and starts no more stops', async () => {
    // Each stop takes 20 s of a 10 s deadline: the first four-wide wave runs, then time is up.
    await store.db
      .insertInto('workspaces')
      .values(
        ['d', 'e', 'f'].map((name) => ({
          id: name,
          name,
          owner_id: 'u',
          node_id: 'n1',
          provider: 'docker' as const,
          image: 'base',
          status: 'running',
          cpus: null,
          memory_bytes: null,
          error_json: null,
          created_at: '',
          updated_at: '',
        })),
      )
      .execute();
    const { calls, drain } = lifecycle(20_000);
    const { done } = await run(drain, { deadlineSeconds: 10 });
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'deadline' });
    expect(calls).toHaveLength(4);
    expect(done.error!.message).toMatch(/still running on node n1: admin\/e, admin\/f\./);
    expect((await nodes.one('n1')).cordoned).toBe(true);
  });

  it('with --force stops what the deadline left forcibly', async () => {
    const { calls, drain } = lifecycle(100);
    const { done } = await run(drain, { deadlineSeconds: 0, force: true });
    expect(done.status).toBe('succeeded');
    expect(calls).toEqual([
      { name: 'admin/a', force: true, timeoutSeconds: 0 },
      { name: 'admin/b', force: true, timeoutSeconds: 0 },
      { name: 'admin/c', force: true, timeoutSeconds: 0 },
    ]);
  });

  it('drains a node with nothing running at once', async () => {
    await store.db.updateTable('workspaces').set({ status: 'stopped' }).execute();
    const { calls, drain } = lifecycle(100);
    expect((await run(drain, {})).done.status).toBe('succeeded');
    expect(calls).toEqual([]);
  });
});
