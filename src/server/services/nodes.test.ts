import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../api/index.js';
import { AgentHub } from '../agents/hub.js';
import { LivenessMonitor } from '../agents/liveness.js';
import { AuditLog } from '../audit/audit.js';
import { ensureAdmin, userForToken } from '../auth/users.js';
import { Operations } from '../operations/operations.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { NodesService } from './nodes.js';

let dir: string;
let store: Store;
let nodes: NodesService;
const admin: User = { id: 'u1', name: 'admin', email: null, role: 'admin', createdAt: new Date(0).toISOString() };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-nodes-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  const ops = new Operations(store, log);
  const liveness = new LivenessMonitor(store, new AuditLog(store, log), log, { heartbeatMs: 1000, ttlMs: 3000, graceMs: 1000 });
  nodes = new NodesService(store, new AgentHub(store, ops, log, 1000, liveness), liveness);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('join tokens', () => {
  it('join once, then refuse the same token', async () => {
    const { token } = await nodes.mintJoinToken(admin, 60);
    const cred = await nodes.join(token, 'n1');
    expect(cred.credential).toMatch(/^bnode_/);
    expect((await nodes.authenticate(cred.credential))?.name).toBe('n1');
    await expect(nodes.join(token, 'n2')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', field: 'token', message: expect.stringMatching(/already used/) });
  });

  it('refuses an expired or unknown token and a taken name, consuming nothing', async () => {
    const { token } = await nodes.mintJoinToken(admin, 60);
    await store.db
      .updateTable('join_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    await expect(nodes.join(token, 'n1')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
    await expect(nodes.join('bjoin_nope', 'n1')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    const a = await nodes.mintJoinToken(admin, 60);
    await nodes.join(a.token, 'same');
    const b = await nodes.mintJoinToken(admin, 60);
    await expect(nodes.join(b.token, 'same')).rejects.toMatchObject({ code: 'ALREADY_EXISTS', field: 'name' });
    // The refused join did not burn the token.
    await expect(nodes.join(b.token, 'other')).resolves.toMatchObject({ nodeName: 'other' });
  });

  it('stores only hashes', async () => {
    const { token } = await nodes.mintJoinToken(admin, 60);
    const rows = await store.db.selectFrom('join_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);
  });
});

describe('admin bootstrap', () => {
  it('creates one admin with a 0600 token file, only on first start', async () => {
    const file = join(dir, 'admin-token');
    expect(await ensureAdmin(store, file)).toBe(file);
    const { readFile, stat } = await import('node:fs/promises');
    const token = (await readFile(file, 'utf8')).trim();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await userForToken(store, token)).toMatchObject({ name: 'admin', role: 'admin' });
    expect(await userForToken(store, token + 'x')).toBeNull();
    expect(await ensureAdmin(store, file)).toBeNull();
    const tokens = await store.db.selectFrom('api_tokens').selectAll().execute();
    expect(tokens).toHaveLength(1);
    expect(tokens[0].token_hash).not.toContain(token);
  });
});

describe('placement facts', () => {
  async function seed() {
    const { token } = await nodes.mintJoinToken(admin, 60);
    const { nodeId } = await nodes.join(token, 'n1');
    const now = new Date().toISOString();
    await store.db.insertInto('users').values({ id: admin.id, name: admin.name, role: 'admin', email: null, created_at: now }).execute();
    await store.db
      .updateTable('nodes')
      .set({ resources_json: JSON.stringify({ cpus: 4, memoryBytes: 8 * 1024 ** 3, memoryFreeBytes: 1, diskBytes: 1, diskFreeBytes: 1 }) })
      .execute();
    const ws = (name: string, cpus: number | null, mem: number | null, status = 'running') => ({
      id: name,
      name,
      owner_id: admin.id,
      node_id: nodeId,
      provider: 'docker' as const,
      image: 'base',
      status,
      cpus,
      memory_bytes: mem,
      error_json: null,
      created_at: now,
      updated_at: now,
    });
    await store.db
      .insertInto('workspaces')
      .values([ws('a', 1.5, 1024 ** 3), ws('b', null, null), ws('c', 1, 2 * 1024 ** 3, 'stopped')])
      .execute();
    return nodeId;
  }

  it('sets and removes labels within bounds, and cordons', async () => {
    await seed();
    expect((await nodes.label('n1', { set: { zone: 'eu', tier: 'gold' }, remove: [] })).labels).toEqual({ zone: 'eu', tier: 'gold' });
    expect((await nodes.label('n1', { set: { gpu: 'a100' }, remove: ['tier'] })).labels).toEqual({ zone: 'eu', gpu: 'a100' });
    const many = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, 'v']));
    await expect(nodes.label('n1', { set: many, remove: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'labels' });
    expect((await nodes.one('n1')).labels).toEqual({ zone: 'eu', gpu: 'a100' });
    expect((await nodes.setCordoned('n1', true)).cordoned).toBe(true);
    expect((await nodes.setCordoned('n1', false)).cordoned).toBe(false);
    await expect(nodes.setCordoned('nope', true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('counts what every workspace reserves, stopped ones included and unlimited ones as nothing', async () => {
    const nodeId = await seed();
    const d = await nodes.detail('n1');
    expect(d.reserved).toEqual({ cpus: 2.5, memoryBytes: 3 * 1024 ** 3 });
    expect(d.free).toEqual({ cpus: 1.5, memoryBytes: 5 * 1024 ** 3 });
    expect(d.workspaces.map((w) => w.name)).toEqual(['a', 'b', 'c']);
    const [p] = await nodes.placementNodes();
    expect(p).toMatchObject({
      id: nodeId,
      reserved: { cpus: 2.5, memoryBytes: 3 * 1024 ** 3 },
      workspaces: 3,
      resources: { cpus: 4, memoryBytes: 8 * 1024 ** 3 },
    });
    // No agent connected: not a placement candidate, whatever the recorded status says.
    expect(p.online).toBe(false);
  });
});
