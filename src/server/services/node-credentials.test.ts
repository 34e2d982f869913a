/** Node credentials on a real SQLite store: the rotation's crash window, and removal that revokes first. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../api/index.js';
import { AgentHub } from '../agents/hub.js';
import { LivenessMonitor } from '../agents/liveness.js';
import { AuditLog } from '../audit/audit.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../auth/secrets.js';
import { ensureAdmin } from '../auth/users.js';
import { Operations } from '../operations/operations.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { NodeCredentials } from './node-credentials.js';
import { NodesService } from './nodes.js';

let dir: string;
let store: Store;
let nodes: NodesService;
let creds: NodeCredentials;
let admin: User;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-creds-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  const liveness = new LivenessMonitor(store, new AuditLog(store, log), log, { heartbeatMs: 1000, ttlMs: 3000, graceMs: 1000 });
  const hub = new AgentHub(store, new Operations(store, log), log, 1000, liveness);
  nodes = new NodesService(store, hub, liveness);
  creds = new NodeCredentials(store, hub);
  await ensureAdmin(store, join(dir, 'admin-token'));
  const row = await store.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
  admin = { id: row.id, name: row.name, email: null, role: 'admin', createdAt: row.created_at };
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function joined(name: string): Promise<{ id: string; credential: string }> {
  const { token } = await nodes.mintJoinToken(admin, 60);
  const c = await nodes.join(token, name);
  return { id: c.nodeId, credential: c.credential };
}

describe('credential rotation', () => {
  it('a crash after the agent saved the new credential locks nothing out, and its first use retires the old one', async () => {
    const n = await joined('n1');
    // Step 1 of a rotation happened, and the agent saved the new credential (step 2), but the
    // server died before step 3.
    const fresh = newSecret(SECRET_PREFIX.nodeCredential);
    await store.db
      .insertInto('node_credential_rotations')
      .values({ node_id: n.id, credential_hash: hashSecret(fresh), created_at: new Date().toISOString() })
      .execute();
    expect((await creds.authenticate(n.credential))?.id).toBe(n.id);
    expect((await creds.authenticate(fresh))?.id).toBe(n.id);
    expect(await creds.authenticate(n.credential)).toBeNull();
    expect((await creds.authenticate(fresh))?.id).toBe(n.id);
    expect(await store.db.selectFrom('node_credential_rotations').selectAll().execute()).toEqual([]);
  });

  it('a crash before the agent saved it leaves the old credential working', async () => {
    const n = await joined('n1');
    await store.db
      .insertInto('node_credential_rotations')
      .values({ node_id: n.id, credential_hash: hashSecret('never-saved'), created_at: new Date().toISOString() })
      .execute();
    expect((await creds.authenticate(n.credential))?.id).toBe(n.id);
    expect((await creds.authenticate(n.credential))?.id).toBe(n.id);
  });

  it('refuses a node whose agent is not connected, recording nothing', async () => {
    const n = await joined('n1');
    await expect(creds.rotate('n1')).rejects.toMatchObject({ code: 'NODE_OFFLINE', field: 'name' });
    await expect(creds.rotate('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.db.selectFrom('node_credential_rotations').selectAll().execute()).toEqual([]);
    expect((await creds.authenticate(n.credential))?.id).toBe(n.id);
  });
});

describe('node removal', () => {
  async function addWorkspace(nodeId: string, name: string): Promise<void> {
    const now = new Date().toISOString();
    await store.db
      .insertInto('workspaces')
      .values({
        id: `w-${name}`,
        name,
        owner_id: admin.id,
        node_id: nodeId,
        provider: 'docker',
        image: 'base',
        status: 'running',
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  it('refuses while the node has workspaces, naming them; --force forgets them; the credential is revoked', async () => {
    const n = await joined('n1');
    await addWorkspace(n.id, 'alpha');
    await expect(creds.remove('n1', false)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('alpha') });
    expect((await creds.authenticate(n.credential))?.id).toBe(n.id);
    expect(await creds.remove('n1', true)).toEqual({ node: 'n1', deletedWorkspaces: ['alpha'], uninstalled: false });
    expect(await creds.authenticate(n.credential)).toBeNull();
    expect(await store.db.selectFrom('workspaces').selectAll().execute()).toEqual([]);
    expect(await store.db.selectFrom('nodes').selectAll().execute()).toEqual([]);
  });

  it('revokes a pending rotation too', async () => {
    const n = await joined('n1');
    const fresh = newSecret(SECRET_PREFIX.nodeCredential);
    await store.db
      .insertInto('node_credential_rotations')
      .values({ node_id: n.id, credential_hash: hashSecret(fresh), created_at: new Date().toISOString() })
      .execute();
    await creds.remove('n1', false);
    expect(await creds.authenticate(fresh)).toBeNull();
    expect(await creds.authenticate(n.credential)).toBeNull();
  });
});
