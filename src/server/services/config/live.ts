/**
 * The live configuration as resources (config.ts): read from the tables inside whatever
 * transaction the caller holds, so a push diffs and applies against one consistent view.
 */
import type { Kysely, Transaction } from 'kysely';
import {
  type ConfigResource,
  configResourceSchema,
  type ImageRecipeSpec,
  SERVER_SETTINGS_NAME,
  type ServerSettingsSpec,
  type TeamQuotaSpec,
  type UserQuotaSpec,
  type WorkspaceTemplateSpec,
} from '../../../api/index.js';
import type { Database } from '../../store/schema.js';

/** A database handle or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

/** The config revision (0 before any config-changing write). */
export async function configRevision(db: Db): Promise<number> {
  const row = await db.selectFrom('config_state').select('revision').where('id', '=', 1).executeTakeFirst();
  return Number(row?.revision ?? 0);
}

/** The server settings as stored (a field left out keeps the start-up flag's, or built-in, value). */
export async function serverSettings(db: Db): Promise<ServerSettingsSpec> {
  const row = await db.selectFrom('config_state').select('settings_json').where('id', '=', 1).executeTakeFirst();
  return row ? (JSON.parse(row.settings_json) as ServerSettingsSpec) : {};
}

/** A team's quota columns as a TeamQuota spec (null columns left out: unlimited). */
export function teamQuotaSpec(t: { max_workspaces: number | null; max_cpus: number | null; max_memory_bytes: number | null }): TeamQuotaSpec {
  const spec: TeamQuotaSpec = {};
  if (t.max_workspaces !== null) spec.workspaces = Number(t.max_workspaces);
  if (t.max_cpus !== null) spec.cpus = Number(t.max_cpus);
  if (t.max_memory_bytes !== null) spec.memory = sizeText(Number(t.max_memory_bytes));
  return spec;
}

/** Bytes as the shortest exact size text (`2g`, `1536m`, `12345`), the form a pull writes. */
export function sizeText(bytes: number): string {
  for (const [unit, size] of [
    ['t', 1024 ** 4],
    ['g', 1024 ** 3],
    ['m', 1024 ** 2],
    ['k', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
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
  // Every team has a TeamQuota (an empty spec: unlimited); teams themselves are made by `berth team create`.
  const teams = await db.selectFrom('teams').select(['name', 'max_workspaces', 'max_cpus', 'max_memory_bytes']).orderBy('name').execute();
  for (const t of teams) out.push({ kind: 'TeamQuota', name: t.name, spec: teamQuotaSpec(t) });
  const recipes = await db.selectFrom('image_recipes').select(['name', 'spec_json']).orderBy('name').execute();
  for (const r of recipes) out.push({ kind: 'ImageRecipe', name: r.name, spec: JSON.parse(r.spec_json) as ImageRecipeSpec });
  // Stored rows went through the same schema on their way in; parsing again gives the exact
  // form a pushed file has, so a pull pushed back unchanged diffs as nothing.
  return out.map((r) => configResourceSchema.parse(r));
}

/** A stored template by name, or null. */
export async function templateByName(db: Db, name: string): Promise<WorkspaceTemplateSpec | null> {
  const row = await db.selectFrom('workspace_templates').select('spec_json').where('name', '=', name).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as WorkspaceTemplateSpec) : null;
}

/** A stored image recipe by name, or null. */
export async function recipeByName(db: Db, name: string): Promise<ImageRecipeSpec | null> {
  const row = await db.selectFrom('image_recipes').select('spec_json').where('name', '=', name).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as ImageRecipeSpec) : null;
}

/** A user's quota, or null when they have none. */
export async function quotaOf(db: Db, userId: string): Promise<UserQuotaSpec | null> {
  const row = await db.selectFrom('user_quotas').select('spec_json').where('user_id', '=', userId).executeTakeFirst();
  return row ? (JSON.parse(row.spec_json) as UserQuotaSpec) : null;
}
