import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from './errors.js';
import { migrateUpTo } from './migrations.js';
import { openSqliteStore } from './open.js';
import type { Database } from './schema.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-0009-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const now = '2026-01-01T00:00:00.000Z';
const ws = (id: string, name: string, owner: string, extra: Partial<Database['workspaces']> = {}) => ({
  id,
  name,
  owner_id: owner,
  node_id: 'n1',
  provider: 'docker',
  image: 'base',
  status: 'running',
  cpus: null,
  memory_bytes: null,
  error_json: null,
  created_at: now,
  updated_at: now,
  ...extra,
});

/** A database as berth left it before 0009 (migrated to 0008), with users, a node and workspaces. */
async function oldDatabase(file: string): Promise<void> {
  const sqlite = new Sqlite(file);
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateUpTo(db, '0008_web_sessions');
  await db
    .insertInto('users')
    .values([
      { id: 'u1', name: 'alice', role: 'member', created_at: now, email: null },
      { id: 'u2', name: 'bob', role: 'member', created_at: now, email: null },
    ])
    .execute();
  await db
    .insertInto('nodes')
    .values({
      id: 'n1',
      name: 'node1',
      credential_hash: 'h',
      created_at: now,
      last_seen_at: null,
      agent_version: null,
      resources_json: null,
      providers_json: '[]',
    })
    .execute();
  await db
    .insertInto('workspaces')
    .values([
      ws('w1', 'api', 'u1', { cpus: 1.5, memory_bytes: 1 << 30, spec_json: '{"env":{}}', error_json: '{"code":"INTERNAL"}', status: 'failed' }),
      ws('w2', 'web', 'u2'),
    ])
    .execute();
  // Before 0009 the name was unique across the server.
  const dup = await db
    .insertInto('workspaces')
    .values(ws('w3', 'api', 'u2'))
    .execute()
    .catch((e: unknown) => e);
  expect(isUniqueViolation(dup)).toBe(true);
  await db.destroy();
}

describe('migration 0009_names_per_owner', () => {
  it('keeps every row untouched and makes names unique per owner, not per server', async () => {
    const file = join(dir, 'old.db');
    await oldDatabase(file);
    const store = await openSqliteStore(file);
    try {
      const rows = await store.db.selectFrom('workspaces').selectAll().orderBy('id').execute();
      expect(rows).toEqual([
        // team_id: added by the migration after this one (0010_teams_and_shares).
        {
          ...ws('w1', 'api', 'u1', { cpus: 1.5, memory_bytes: 1 << 30, spec_json: '{"env":{}}', error_json: '{"code":"INTERNAL"}', status: 'failed' }),
          team_id: null,
        },
        { ...ws('w2', 'web', 'u2'), spec_json: null, team_id: null },
      ]);
      // bob may now have an `api` too; alice may not have two.
      await store.db
        .insertInto('workspaces')
        .values(ws('w3', 'api', 'u2'))
        .execute();
      const again = await store.db
        .insertInto('workspaces')
        .values(ws('w4', 'api', 'u1'))
        .execute()
        .catch((e: unknown) => e);
      expect(isUniqueViolation(again)).toBe(true);
      // The foreign keys came along: a workspace of no user is refused.
      const orphan = await store.db
        .insertInto('workspaces')
        .values(ws('w5', 'x', 'nobody'))
        .execute()
        .catch((e: unknown) => e);
      expect((orphan as { code?: string }).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
      const indexes = (
        await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and tbl_name = 'workspaces' and name not like 'sqlite_%' order by name`.execute(store.db)
      ).rows.map((r) => r.name);
      // (workspaces_team_name is 0010's, workspaces_team_name_unique 0012's, workspaces_status_provider 0015's.)
      expect(indexes).toEqual([
        'workspaces_name',
        'workspaces_node_name',
        'workspaces_owner_name',
        'workspaces_provider_name',
        'workspaces_status_name',
        'workspaces_status_provider',
        'workspaces_team_name',
        'workspaces_team_name_unique',
      ]);
    } finally {
      await store.close();
    }
  });

  it('applies to a new database the same way', async () => {
    const store = await openSqliteStore(join(dir, 'new.db'));
    try {
      await store.db
        .insertInto('users')
        .values([
          { id: 'u1', name: 'alice', role: 'member', created_at: now, email: null },
          { id: 'u2', name: 'bob', role: 'member', created_at: now, email: null },
        ])
        .execute();
      await store.db
        .insertInto('nodes')
        .values({
          id: 'n1',
          name: 'node1',
          credential_hash: 'h',
          created_at: now,
          last_seen_at: null,
          agent_version: null,
          resources_json: null,
          providers_json: '[]',
        })
        .execute();
      await store.db
        .insertInto('workspaces')
        .values([ws('w1', 'api', 'u1'), ws('w2', 'api', 'u2')])
        .execute();
      expect(await store.db.selectFrom('workspaces').select('id').where('name', '=', 'api').execute()).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
