import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServices, type Services } from './index.js';
import { openSqliteStore, type Store } from '../store/open.js';

let dir: string;
let store: Store;
let services: Services;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-ws-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  services = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  const now = new Date().toISOString();
  await store.db.insertInto('users').values([
    { id: 'admin', name: 'admin', role: 'admin', email: null, created_at: now },
    { id: 'm1', name: 'mia', role: 'member', email: null, created_at: now },
    { id: 'm2', name: 'max', role: 'member', email: null, created_at: now },
  ]).execute();
  await store.db.insertInto('nodes').values({ id: 'n1', name: 'n1', credential_hash: 'x', created_at: now, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' }).execute();
  const ws = (name: string, status: string, owner = 'm1') => ({ id: name, name, owner_id: owner, node_id: 'n1', provider: 'docker' as const, image: 'base', status, cpus: null, memory_bytes: null, error_json: null, created_at: now, updated_at: now });
  await store.db.insertInto('workspaces').values([ws('a', 'creating'), ws('b', 'stopping'), ws('c', 'running'), ws('d', 'deleting', 'm2')]).execute();
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
    expect(rows.d.status).toBe('unknown');
  });

  it('shows members only their own workspaces and hides the rest as NOT_FOUND, auditing the attempt', async () => {
    expect((await services.workspaces.list(user('m1'))).map((w) => w.name)).toEqual(['a', 'b', 'c']);
    expect((await services.workspaces.list(user('admin', 'admin'))).map((w) => w.name)).toEqual(['a', 'b', 'c', 'd']);
    await expect(services.workspaces.get(user('m1'), 'd')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    await expect(services.workspaces.get(user('m1'), 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const audit = await store.db.selectFrom('audit_log').selectAll().execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_name: 'm1', outcome: 'denied', target: 'workspace/d' });
  });

  it('refuses a second mutation while one runs, and transitions on offline nodes', async () => {
    await expect(services.workspaces.transition(user('m1'), 'b', 'start')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(services.workspaces.transition(user('m1'), 'c', 'stop')).rejects.toMatchObject({ code: 'NODE_OFFLINE' });
  });
});
