import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { readSharingPolicy, writeSharingPolicy } from '../access/settings.js';
import { ConfigService } from '../services/config/config-service.js';
import { migrateUpTo } from './migrations.js';
import { openSqliteStore } from './open.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-0013-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const now = '2026-01-01T00:00:00.000Z';

/** A database as berth left it before 0013: a sharing policy in server_settings, a placement in config_state, and a team with quotas. */
async function oldDatabase(file: string, policy: string | null): Promise<number> {
  const sqlite = new Sqlite(file);
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateUpTo(db, '0012_user_disabled');
  await db.insertInto('users').values({ id: 'u1', name: 'admin', role: 'admin', created_at: now, email: null }).execute();
  if (policy !== null) await db.insertInto('server_settings').values({ key: 'sharing_policy', value: policy, updated_by: 'u1', updated_at: now }).execute();
  await db.updateTable('config_state').set({ settings_json: '{"placement":"binpack"}' }).where('id', '=', 1).execute();
  await db
    .insertInto('teams')
    .values({ id: 't1', name: 'core', max_workspaces: 3, max_cpus: null, max_memory_bytes: 2 * 1024 ** 3, created_by: 'u1', created_at: now })
    .execute();
  const { revision } = await db.selectFrom('config_state').select('revision').where('id', '=', 1).executeTakeFirstOrThrow();
  await db.destroy();
  return Number(revision);
}

describe('migration 0013_config_resources', () => {
  it('carries the stored sharing policy into the ServerSettings resource, keeps the placement, and drops server_settings', async () => {
    const file = join(dir, 'carried.db');
    const before = await oldDatabase(file, 'off');
    const store = await openSqliteStore(file);
    try {
      expect(await readSharingPolicy(store)).toBe('off');
      const doc = await new ConfigService(store).pull();
      expect(doc.resources).toEqual([
        { kind: 'ServerSettings', name: 'server', spec: { placement: 'binpack', sharing: 'off' } },
        { kind: 'TeamQuota', name: 'core', spec: { workspaces: 3, memory: '2g' } },
      ]);
      // The settings changed shape, so a folder pulled before the upgrade is stale.
      expect(doc.revision).toBeGreaterThan(before);
      const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'server_settings'`.execute(store.db);
      expect(tables.rows).toEqual([]);
      // The sharing commands now write the same store, keeping the placement, and bump the revision.
      await writeSharingPolicy(store, 'admins');
      const after = await new ConfigService(store).pull();
      expect(after.resources[0]).toEqual({ kind: 'ServerSettings', name: 'server', spec: { placement: 'binpack', sharing: 'admins' } });
      expect(after.revision).toBe(doc.revision + 1);
      await writeSharingPolicy(store, 'admins');
      expect((await new ConfigService(store).pull()).revision).toBe(after.revision);
    } finally {
      await store.close();
    }
  });

  it('leaves the policy out (the default) when none or an unreadable one was stored', async () => {
    for (const [name, policy] of [
      ['none.db', null],
      ['garbled.db', 'sometimes'],
    ] as const) {
      const file = join(dir, name);
      await oldDatabase(file, policy);
      const store = await openSqliteStore(file);
      try {
        expect(await readSharingPolicy(store)).toBe('everyone');
        expect((await new ConfigService(store).pull()).resources[0].spec).toEqual({ placement: 'binpack' });
      } finally {
        await store.close();
      }
    }
  });
});
