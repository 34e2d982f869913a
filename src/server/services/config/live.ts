/**
 * The live configuration as resources (config.ts): read from the tables inside whatever
 * transaction the caller holds, so a push diffs and applies against one consistent view.
 */
import type { Kysely, Transaction } from 'kysely';
import { type ConfigResource, configResourceSchema, SERVER_SETTINGS_NAME, type UserQuotaSpec, type WorkspaceTemplateSpec } from '../../../api/index.js';
import type { Database } from '../../store/schema.js';

/** A database handle or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

/** The config revision (0 before any config-changing write). */
export async function configRevision(db: Db): Promise<number> {
  const row = await db.selectFrom('config_state').select('revision').where('id', '=', 1).executeTakeFirst();
  return Number(row?.revision ?? 0);
}

/** The server settings as stored (a field left out keeps the start-up flag's value). */
export async function serverSettings(db: Db): Promise<{ placement?: 'spread' | 'binpack' }> {
  const row = await db.selectFrom('config_state').select('settings_json').where('id', '=', 1).executeTakeFirst();
  return row ? (JSON.parse(row.settings_json) as { placement?: 'spread' | 'binpack' }) : {};
}

/** Every live resource, each in the normal form the schema gives it (defaults filled in). */
export async function liveConfig(db: Db): Promise<ConfigResource[]> {
  const out: ConfigResource[] = [{ kind: 'ServerSettings', name: SERVER_SETTINGS_NAME, spec: await serverSettings(db) }];
  const nodes = await db.selectFrom('nodes').select(['name', 'labels_json', 'cordoned']).orderBy('name').execute();
  for (const n of nodes)
    out.push({ kind: 'Node', name: n.name, spec: { labels: JSON.parse(n.labels_json) as Record<string, string>, cordoned: n.cordoned === 1 } });
  const templates = await db.selectFrom('workspace_templates').select(['name', 'spec_json']).orderBy('name').execute();
  for (const t of templates) out.push({ kind: 'WorkspaceTemplate', name: t.name, spec: JSON.parse(t.spec_json) as WorkspaceTemplateSpec });
  const quotas = await db
    .selectFrom('user_quotas')
    .innerJoin('users', 'users.id', 'user_quotas.user_id')
    .select(['users.name', 'user_quotas.spec_json'])
    .orderBy('users.name')
    .execute();
  for (const q of quotas) out.push({ kind: 'UserQuota', name: q.name, spec: JSON.parse(q.spec_json) as UserQuotaSpec });
  // Stored rows went through the same schema on their way in; parsing again gives the exact
  // form a pushed file has, so a pull pushed back unchanged diffs as nothing.
  return out.map((r) => configResourceSchema.parse(r));
}

/** A stored template by name, or null. */
export async function templateByName(db: Db, name: string): Promise<WorkspaceTemplateSpec | null> {
  const row = await db.selectFrom('workspace_templates').select('spec_json').where('name', '=', name).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as WorkspaceTemplateSpec) : null;
}

/** A user's quota, or null when they have none. */
export async function quotaOf(db: Db, userId: string): Promise<UserQuotaSpec | null> {
  const row = await db.selectFrom('user_quotas').select('spec_json').where('user_id', '=', userId).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as UserQuotaSpec) : null;
}
