import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthError, User } from '../../api/index.js';
import { AuditLog } from '../audit/audit.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../store/seed.test-support.js';
import { resolveWorkspace } from './workspace-resolve.js';

let dir: string;
let store: Store;
let audit: AuditLog;
const now = new Date().toISOString();
const alice: User = { id: 'ua', name: 'alice', email: null, role: 'member', createdAt: now };
const bob: User = { id: 'ub', name: 'bob', email: null, role: 'member', createdAt: now };
const admin: User = { id: 'uz', name: 'admin', email: null, role: 'admin', createdAt: now };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-resolve-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  audit = new AuditLog(store, pino({ level: 'silent' }));
  await seedUsers(store, [alice, bob, admin], now);
  await seedNode(store, 'n1', now);
  const ws = (id: string, name: string, owner: string) => workspaceRow(id, name, owner, now);
  // alice and bob both have `api`; only bob has `web`.
  await store.db
    .insertInto('workspaces')
    .values([ws('wa', 'api', 'ua'), ws('wb', 'api', 'ub'), ws('wweb', 'web', 'ub')])
    .execute();
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const fail = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('resolved'),
    (e: unknown) => e as BerthError,
  );
const denials = () => store.db.selectFrom('audit_log').selectAll().where('outcome', '=', 'denied').orderBy('id').execute();

describe('resolveWorkspace', () => {
  it("resolves a bare name to the actor's own workspace, never another owner's of the same name", async () => {
    expect((await resolveWorkspace(store, audit, alice, 'api')).id).toBe('wa');
    expect((await resolveWorkspace(store, audit, bob, 'api')).id).toBe('wb');
    expect((await resolveWorkspace(store, audit, alice, 'alice/api')).id).toBe('wa');
    // The admin has no `api` of their own: a bare name is never someone else's.
    expect(await fail(resolveWorkspace(store, audit, admin, 'api'))).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
  });

  it('resolves OWNER/NAME for an actor that may view it (the admin)', async () => {
    expect(await resolveWorkspace(store, audit, admin, 'alice/api')).toMatchObject({ id: 'wa', ownerName: 'alice', nodeName: 'n1' });
    expect((await resolveWorkspace(store, audit, admin, 'bob/api')).id).toBe('wb');
  });

  it("answers another member's workspace exactly like a missing one, and audits only the real one", async () => {
    const before = (await denials()).length;
    const hidden = await fail(resolveWorkspace(store, audit, alice, 'bob/web', { sourceIp: '127.0.0.9' }));
    const missing = await fail(resolveWorkspace(store, audit, alice, 'bob/wex'));
    const noOwner = await fail(resolveWorkspace(store, audit, alice, 'carol/web'));
    for (const e of [hidden, missing, noOwner]) expect(e).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    expect(hidden.message.replace('bob/web', 'X')).toBe(missing.message.replace('bob/wex', 'X'));
    expect(noOwner.message.replace('carol/web', 'X')).toBe(missing.message.replace('bob/wex', 'X'));
    const after = await denials();
    expect(after.slice(before)).toMatchObject([{ actor_name: 'alice', action: 'workspace.access', target: 'workspace/bob/web', source_ip: '127.0.0.9' }]);
  });

  it('refuses text that is no reference without a query, echoing it escaped and cut short', async () => {
    for (const bad of ['a/b/c', '/api', 'api/', '', 'alice/../api', 'a;b', 'x'.repeat(500), 'a\nb']) {
      const e = await fail(resolveWorkspace(store, audit, admin, bad));
      expect(e).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
      expect(e.message).not.toContain('\n');
      expect(e.message.length).toBeLessThan(200);
    }
  });
});

describe('resolveWorkspace with the permission function', () => {
  it("lets a user another's workspace is shared with reach it as OWNER/NAME, for what the share allows", async () => {
    expect(await fail(resolveWorkspace(store, audit, alice, 'bob/web'))).toMatchObject({ code: 'NOT_FOUND' });
    await store.db
      .insertInto('workspace_shares')
      .values({ id: 's1', workspace_id: 'wweb', user_id: 'ua', team_id: null, role: 'use', expires_at: null, created_by: 'ub', created_at: now })
      .execute();
    try {
      expect((await resolveWorkspace(store, audit, alice, 'bob/web', {}, 'use')).id).toBe('wweb');
      // Her bare `web` is still her own, and she has none.
      expect(await fail(resolveWorkspace(store, audit, alice, 'web'))).toMatchObject({ code: 'NOT_FOUND' });
      // A `use` share neither deletes nor re-shares; the refusal names the workspace in full.
      const denied = await fail(resolveWorkspace(store, audit, alice, 'bob/web', {}, 'delete'));
      expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', field: 'name' });
      expect(denied.message).toContain('bob/web');
      expect(await fail(resolveWorkspace(store, audit, alice, 'bob/web', {}, 'share'))).toMatchObject({ code: 'PERMISSION_DENIED' });
    } finally {
      await store.db.deleteFrom('workspace_shares').where('id', '=', 's1').execute();
    }
  });
});
