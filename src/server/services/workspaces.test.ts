import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentMethod, BerthError } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { PlacementNode } from '../scheduler/place.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../store/seed.test-support.js';
import { createServices, type Services } from './index.js';
import type { NodesService } from './nodes.js';
import { reapTombstones } from './tombstones.js';
import { WorkspacesService } from './workspaces.js';

let dir: string;
let store: Store;
let services: Services;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-ws-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  services = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  const now = new Date().toISOString();
  await seedUsers(
    store,
    [
      { id: 'admin', name: 'admin', role: 'admin' },
      { id: 'm1', name: 'mia', role: 'member' },
      { id: 'm2', name: 'max', role: 'member' },
    ],
    now,
  );
  await seedNode(store, 'n1', now);
  const ws = (name: string, status: string, owner = 'm1') => workspaceRow(name, name, owner, now, { status });
  await store.db
    .insertInto('workspaces')
    .values([ws('a', 'creating'), ws('b', 'stopping'), ws('c', 'running'), ws('d', 'deleting', 'm2')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const user = (id: string, role: 'admin' | 'member' = 'member') => ({ id, name: id, email: null, role, createdAt: '' });

describe('WorkspacesService', () => {
  it('settles rows left mid-operation by a crash', async () => {
    expect(await services.workspaces.recoverInterrupted()).toBe(3);
    const rows = Object.fromEntries((await store.db.selectFrom('workspaces').select(['name', 'status', 'error_json']).execute()).map((r) => [r.name, r]));
    // A cut-off create waits, still `creating`, for its node to connect and roll it back.
    expect(rows.a.status).toBe('creating');
    expect(rows.b.status).toBe('unknown');
    expect(rows.c.status).toBe('running');
    // A cut-off delete keeps its desired state, "gone": it is finished when its node connects.
    expect(rows.d.status).toBe('deleting');
  });

  it('shows members only their own workspaces and hides the rest as NOT_FOUND, auditing the attempt', async () => {
    expect((await services.workspaces.list(user('m1'))).workspaces.map((w) => w.name)).toEqual(['a', 'b', 'c']);
    expect((await services.workspaces.list(user('admin', 'admin'))).workspaces.map((w) => w.name)).toEqual(['a', 'b', 'c', 'd']);
    // A bare name is the caller's own: mia has no `d`, and nobody learns that max has one.
    const hidden = (await services.workspaces.get(user('m1'), 'max/d').catch((e: unknown) => e)) as BerthError;
    const missing = (await services.workspaces.get(user('m1'), 'max/nope').catch((e: unknown) => e)) as BerthError;
    expect(hidden).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    expect(missing).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    expect(hidden.message).toBe(missing.message.replace('max/nope', 'max/d'));
    await expect(services.workspaces.get(user('m1'), 'd')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    await expect(services.workspaces.get(user('m1'), 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The admin's own namespace holds no `d` either; max's is reached as max/d.
    await expect(services.workspaces.get(user('admin', 'admin'), 'd')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await services.workspaces.get(user('admin', 'admin'), 'max/d')).toMatchObject({ id: 'd', name: 'd', owner: 'max', ref: 'max/d' });
    expect(await services.workspaces.get(user('m1'), 'a')).toMatchObject({ id: 'a', name: 'a', owner: 'mia' });
    const audit = await store.db.selectFrom('audit_log').selectAll().execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_name: 'm1', outcome: 'denied', target: 'workspace/max/d' });
  });

  it('answers names no workspace can have as NOT_FOUND, echoing them only cut short and escaped', async () => {
    for (const name of ['../x', 'a\nb', 'x'.repeat(5000), "'; DROP TABLE workspaces; --"]) {
      const err = await services.workspaces.get(user('admin', 'admin'), name).then(
        () => expect.fail(`a workspace named ${JSON.stringify(name)} was found`),
        (e: unknown) => e as BerthError,
      );
      expect(err).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
      expect(err.message.length).toBeLessThan(200);
      expect(err.message).not.toContain('\n');
    }
    expect((await store.db.selectFrom('workspaces').select('id').execute()).length).toBe(4);
  });

  it('refuses a second mutation while one runs, and transitions on offline nodes', async () => {
    await expect(services.workspaces.transition(user('m1'), 'b', 'start')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(services.workspaces.transition(user('m1'), 'c', 'stop')).rejects.toMatchObject({ code: 'NODE_OFFLINE' });
  });
});

describe('ws rm on an offline node', () => {
  it('refuses without --force, and with it drops only the row and leaves a tombstone the node is told about when it returns', async () => {
    await expect(services.workspaces.transition(user('m1'), 'c', 'delete')).rejects.toMatchObject({
      code: 'NODE_OFFLINE',
      message: expect.stringContaining('--force'),
    });
    const op = await services.workspaces.transition(user('m1'), 'c', 'delete', { force: true });
    expect((await services.ops.finished(op.id)).status).toBe('succeeded');
    expect(await store.db.selectFrom('workspaces').select('id').where('id', '=', 'c').execute()).toEqual([]);
    expect(await store.db.selectFrom('workspace_tombstones').selectAll().execute()).toMatchObject([{ workspace_id: 'c', node_id: 'n1', name: 'mia/c' }]);

    // The node returns: it is asked to delete the workspace, and the tombstone goes.
    const asked: unknown[] = [];
    const hub = { request: async (_n: string, method: string, params: unknown) => asked.push([method, params]) } as unknown as AgentHub;
    expect(await reapTombstones(store, hub, services.audit, 'n1')).toEqual(['mia/c']);
    expect(asked).toEqual([['workspace.delete', { opId: 'tombstone-c', workspaceId: 'c' }]]);
    expect(await store.db.selectFrom('workspace_tombstones').selectAll().execute()).toEqual([]);

    // A node that fails the delete keeps the tombstone for its next return.
    await store.db.insertInto('workspace_tombstones').values({ workspace_id: 'x', node_id: 'n1', name: 'x', removed_at: '' }).execute();
    const failing = { request: async () => Promise.reject(new BerthError('NODE_OFFLINE', 'gone again')) } as unknown as AgentHub;
    expect(await reapTombstones(store, failing, services.audit, 'n1')).toEqual([]);
    expect(await store.db.selectFrom('workspace_tombstones').select('workspace_id').execute()).toEqual([{ workspace_id: 'x' }]);
  });
});

describe('a create cut off by its node going away', () => {
  it('drops the row but leaves a tombstone, so the node deletes what it made when it returns', async () => {
    const hub = {
      isOnline: () => true,
      onNodeConnected: () => {},
      request: async (_n: string, method: string) => {
        if (method === 'image.resolve') return { ref: 'berth/base:latest' };
        throw new BerthError('NODE_OFFLINE', 'The node is offline.');
      },
      requestForOp: async () => Promise.reject(new BerthError('NODE_OFFLINE', 'The node went away.')),
    } as unknown as AgentHub;
    const nodes = { placementNodes: async () => [ONLINE()] } as unknown as NodesService;
    const workspaces = new WorkspacesService(store, hub, services.ops, nodes, services.audit);
    const { workspace, operation } = await workspaces.create(user('m1'), { name: 'cut' });
    expect((await services.ops.finished(operation.id)).error?.code).toBe('NODE_OFFLINE');
    expect(await store.db.selectFrom('workspaces').select('id').where('name', '=', 'cut').execute()).toEqual([]);
    expect(await store.db.selectFrom('workspace_tombstones').selectAll().execute()).toMatchObject([
      { workspace_id: workspace.id, node_id: 'n1', name: 'm1/cut' },
    ]); // the user here is named by its id
  });
});

/** One online node with a usable Docker provider, as placement sees it. */
const ONLINE = (): PlacementNode => ({
  id: 'n1',
  name: 'n1',
  online: true,
  cordoned: false,
  labels: {},
  resources: null,
  reserved: { cpus: 0, memoryBytes: 0 },
  providers: [{ kind: 'docker', usable: true, details: {} }],
  workspaces: 0,
  image: 'unchecked',
});

/**
 * A workspaces service whose node answers image.resolve with `answer` and records every
 * request; a stand-in for the agent hub, whose own protocol is tested in rpc/ and e2e/.
 */
function withNode(answer: (image: string) => Promise<{ ref: string }>) {
  const calls: AgentMethod[] = [];
  const hub = {
    isOnline: () => true,
    onNodeConnected: () => {},
    request: async (_node: string, method: AgentMethod, params: { image?: string }) => {
      calls.push(method);
      if (method === 'image.resolve') return answer(params.image!);
      return new Promise(() => {}); // workspace.create: stays running, which is all these tests need.
    },
  } as unknown as AgentHub;
  const nodes = { placementNodes: async () => [ONLINE()] } as unknown as NodesService;
  return { calls, workspaces: new WorkspacesService(store, hub, services.ops, nodes, services.audit) };
}

describe('WorkspacesService.create', () => {
  const counts = async () => ({
    workspaces: (await store.db.selectFrom('workspaces').select('id').execute()).length,
    operations: (await store.db.selectFrom('operations').select('id').execute()).length,
  });

  it('asks the chosen node for the image before anything is recorded; an unknown one leaves no row and no operation', async () => {
    const before = await counts();
    const { calls, workspaces } = withNode(async (image) => {
      throw new BerthError('NOT_FOUND', `No berth image named ${image} on this node.`, { field: 'image' });
    });
    await expect(workspaces.create(user('m1'), { name: 'fresh', image: 'nosuch' })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'image' });
    expect(calls).toEqual(['image.resolve']);
    expect(await counts()).toEqual(before);
  });

  it('refuses a hostile image before asking any node', async () => {
    const before = await counts();
    const { calls, workspaces } = withNode(async (image) => ({ ref: image }));
    for (const image of ['../../../etc/passwd', 'x/../../y', 'http://evil/', 'a\0b', 'x'.repeat(5000)]) {
      await expect(workspaces.create(user('m1'), { name: 'fresh', image })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
    }
    expect(calls).toEqual([]);
    expect(await counts()).toEqual(before);
  });

  it('refuses the create when the node cannot resolve images, recording nothing', async () => {
    const before = await counts();
    const { workspaces } = withNode(async () => {
      throw new BerthError('UNSUPPORTED', 'This agent does not know the method image.resolve; upgrade it to match the server.');
    });
    await expect(workspaces.create(user('m1'), { name: 'older' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect(await counts()).toEqual(before);
  });

  it('records the workspace and starts the create once the node has the image', async () => {
    const { calls, workspaces } = withNode(async () => ({ ref: 'berth/base:latest' }));
    const { workspace, operation } = await workspaces.create(user('m1'), { name: 'fresh' });
    expect(workspace).toMatchObject({ name: 'fresh', image: 'base', status: 'creating' });
    expect(operation.kind).toBe('workspace.create');
    expect(calls[0]).toBe('image.resolve');
  });
});

/** A hub whose node answers every request with `answer` and records them. */
function recordingHub(answer: (method: string, params: any) => unknown = () => ({})) {
  const asked: Array<[string, any]> = [];
  const connected: Array<(nodeId: string) => void> = [];
  const hub = {
    isOnline: () => true,
    onNodeConnected: (l: (nodeId: string) => void) => connected.push(l),
    endWorkspaceSessions: () => 0,
    request: async (_n: string, method: string, params: any) => {
      asked.push([method, params]);
      return answer(method, params);
    },
  } as unknown as AgentHub;
  return { hub, asked, connected };
}

describe('a delete cut off by a restart or by its node going away', () => {
  it('is finished when the node connects: the idempotent delete is sent again and the row goes, audited, its operation saying so', async () => {
    // The previous process left a delete running on d.
    await services.ops.start({ kind: 'workspace.delete', target: 'workspace/d', workspaceId: 'd', createdBy: 'admin' }, () => new Promise(() => {}));
    const { Operations } = await import('../operations/operations.js');
    const ops = new Operations(store, pino({ level: 'silent' }));
    expect(await ops.failInterrupted()).toBe(1);
    const { hub, asked } = recordingHub();
    const workspaces = new WorkspacesService(store, hub, ops, {} as NodesService, services.audit);
    await workspaces.recoverInterrupted();
    expect(await workspaces.resumeDeletes('n1')).toEqual(['d']);
    expect(asked).toEqual([['workspace.delete', { opId: 'resume-delete-d', workspaceId: 'd' }]]);
    expect(await store.db.selectFrom('workspaces').select('id').where('id', '=', 'd').execute()).toEqual([]);
    const [op] = await store.db.selectFrom('operations').selectAll().where('workspace_id', '=', 'd').execute();
    expect(JSON.parse(op!.error_json!).message).toMatch(/interrupted.*finished the delete when the node connected again: workspace d is gone/);
    const audit = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'workspace.delete').execute();
    expect(audit).toMatchObject([{ actor_name: 'berth', target: 'workspace/max/d', outcome: 'ok' }]);
    // Nothing left to resume: a second connect asks nothing.
    expect(await workspaces.resumeDeletes('n1')).toEqual([]);
    expect(asked).toHaveLength(1);
  });

  it('keeps the row deleting when the node fails the delete, and leaves deletes that an operation runs alone', async () => {
    await services.ops.start({ kind: 'workspace.delete', target: 'workspace/d', workspaceId: 'd', createdBy: 'admin' }, () => new Promise(() => {}));
    const { hub, asked } = recordingHub(() => Promise.reject(new BerthError('NODE_OFFLINE', 'gone')));
    const workspaces = new WorkspacesService(store, hub, services.ops, {} as NodesService, services.audit);
    // d's delete is running in this process: not touched.
    expect(await workspaces.resumeDeletes('n1')).toEqual([]);
    expect(asked).toEqual([]);
    await store.db.updateTable('operations').set({ status: 'failed' }).execute();
    expect(await workspaces.resumeDeletes('n1')).toEqual([]);
    expect(asked).toHaveLength(1);
    expect((await store.db.selectFrom('workspaces').select('status').where('id', '=', 'd').executeTakeFirst())?.status).toBe('deleting');
    expect(await store.db.selectFrom('audit_log').select(['outcome', 'detail']).where('action', '=', 'workspace.delete').execute()).toMatchObject([
      { outcome: 'error', detail: expect.stringMatching(/retried when the node connects again/) },
    ]);
  });

  it('keeps the row deleting when the node drops away mid-delete, and `ws rm` again finishes it', async () => {
    let offline = true;
    const { hub, asked } = recordingHub((method) =>
      offline && method === 'workspace.delete' ? Promise.reject(new BerthError('NODE_OFFLINE', 'The connection to the node closed before it answered.')) : {},
    );
    const nodes = { awaitAgent: async () => {} } as unknown as NodesService;
    const workspaces = new WorkspacesService(store, hub, services.ops, nodes, services.audit);
    const op = await workspaces.transition(user('m1'), 'c', 'delete');
    const done = await services.ops.finished(op.id);
    expect(done.error).toMatchObject({ code: 'NODE_OFFLINE', message: expect.stringMatching(/finishes the delete when the node is back/) });
    expect((await store.db.selectFrom('workspaces').select('status').where('id', '=', 'c').executeTakeFirst())?.status).toBe('deleting');
    // No inspect was needed to settle it: the desired state is still "gone".
    expect(asked.map(([m]) => m)).toEqual(['workspace.delete']);
    offline = false;
    const again = await workspaces.transition(user('m1'), 'c', 'delete');
    expect((await services.ops.finished(again.id)).status).toBe('succeeded');
    expect(await store.db.selectFrom('workspaces').select('id').where('id', '=', 'c').execute()).toEqual([]);
  });

  it('leaves a stop whose node went away unknown, for the next report to settle, and the interrupted operation then says what the workspace is', async () => {
    const { hub } = recordingHub(() => Promise.reject(new BerthError('NODE_OFFLINE', 'The connection to the node closed before it answered.')));
    const nodes = { awaitAgent: async () => {} } as unknown as NodesService;
    const workspaces = new WorkspacesService(store, hub, services.ops, nodes, services.audit);
    const op = await workspaces.transition(user('m1'), 'c', 'stop');
    expect((await services.ops.finished(op.id)).error?.code).toBe('NODE_OFFLINE');
    expect((await store.db.selectFrom('workspaces').select('status').where('id', '=', 'c').executeTakeFirst())?.status).toBe('unknown');

    // A stop cut off by a restart: once the node's report settled the row, the operation says so.
    await services.ops.start({ kind: 'workspace.stop', target: 'workspace/b', workspaceId: 'b', createdBy: 'm1' }, () => new Promise(() => {}));
    const { Operations } = await import('../operations/operations.js');
    const ops = new Operations(store, pino({ level: 'silent' }));
    await ops.failInterrupted();
    const restarted = new WorkspacesService(store, hub, ops, nodes, services.audit);
    await restarted.recoverInterrupted();
    await restarted.noteSettled('n1');
    const stopOp = () => store.db.selectFrom('operations').selectAll().where('workspace_id', '=', 'b').executeTakeFirstOrThrow();
    expect(JSON.parse((await stopOp()).error_json!).message).toMatch(/interrupted\); workspace b shows what its node reports/);
    await store.db.updateTable('workspaces').set({ status: 'stopped' }).where('id', '=', 'b').execute();
    await restarted.noteSettled('n1');
    expect(JSON.parse((await stopOp()).error_json!).message).toBe(
      'The server restarted while this stop ran (interrupted); its node reports workspace b stopped now.',
    );
  });
});
