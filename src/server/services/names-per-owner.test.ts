import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type User, workspacesQuerySchema } from '../../api/index.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../store/seed.test-support.js';
import { createServices, type Services } from './index.js';

let dir: string;
let store: Store;
let services: Services;
const now = new Date().toISOString();
const person = (id: string, name: string, role: 'admin' | 'member' = 'member'): User => ({ id, name, email: null, role, createdAt: now });
const admin = person('uz', 'admin', 'admin');
const alice = person('ua', 'alice');
const bob = person('ub', 'bob');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-names-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  services = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  await seedUsers(store, [admin, alice, bob], now);
  await seedNode(store, 'n1', now);
  // Stopped: these tests read and resolve, no node runs them.
  const ws = (id: string, name: string, owner: string) => workspaceRow(id, name, owner, now, { status: 'stopped' });
  await store.db
    .insertInto('workspaces')
    .values([ws('w1', 'api', 'ua'), ws('w2', 'api', 'ub'), ws('w3', 'api', 'uz'), ws('w4', 'web', 'ua'), ws('w5', 'db', 'ub')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('listing workspaces whose names repeat across owners', () => {
  it("pages one row at a time through every owner's `api`, skipping and repeating none", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const q = workspacesQuerySchema.parse({ limit: '1', ...(cursor ? { cursor } : {}) });
      const page = await services.workspaces.list(admin, q);
      seen.push(...page.workspaces.map((w) => w.ref));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    // Name order, then owner order; the admin's own shows as the bare name.
    expect(seen).toEqual(['api', 'alice/api', 'bob/api', 'bob/db', 'alice/web']);
  });

  it('shows each member their own as NAME, and filters by owner', async () => {
    expect((await services.workspaces.list(alice)).workspaces.map((w) => [w.ref, w.owner])).toEqual([
      ['api', 'alice'],
      ['web', 'alice'],
    ]);
    expect((await services.workspaces.list(admin, workspacesQuerySchema.parse({ owner: 'bob' }))).workspaces.map((w) => w.ref)).toEqual(['bob/api', 'bob/db']);
  });
});

describe('removing a user whose workspace names others use too', () => {
  it('refuses to transfer onto a name the heir already has, changing nothing', async () => {
    const err = await services.users.remove(admin, 'alice', { workspaces: 'transfer', transferTo: 'bob' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ALREADY_EXISTS', field: 'transferTo' });
    expect((err as Error).message).toContain('bob already has workspaces named api');
    expect(await store.db.selectFrom('users').select('id').where('id', '=', 'ua').executeTakeFirst()).toBeDefined();
    expect((await store.db.selectFrom('workspaces').select('id').where('owner_id', '=', 'ua').execute()).length).toBe(2);
  });

  it('transfers when no name clashes', async () => {
    await store.db.deleteFrom('workspaces').where('id', '=', 'w2').execute();
    const done = await services.users.remove(admin, 'alice', { workspaces: 'transfer', transferTo: 'bob' });
    expect(done.transferredWorkspaces).toEqual(['api', 'web']);
    expect((await services.workspaces.list(bob)).workspaces.map((w) => w.ref)).toEqual(['api', 'db', 'web']);
  });

  it("hands the workspaces to the admin for deletion under names that cannot clash with the admin's own", async () => {
    const done = await services.users.remove(admin, 'alice', { workspaces: 'delete' });
    expect(done.deletedWorkspaces).toEqual(['api', 'web']);
    const held = await store.db.selectFrom('workspaces').select(['id', 'name']).where('owner_id', '=', 'uz').orderBy('id').execute();
    // The admin's own `api` keeps its name; alice's became api-ID8 (its deletion runs on, its node being away here).
    expect(held).toEqual([
      { id: 'w1', name: 'api-w1' },
      { id: 'w3', name: 'api' },
      { id: 'w4', name: 'web' },
    ]);
  });
});
