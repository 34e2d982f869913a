/**
 * Migration 0013_config_resources: one settings store, team quotas and image recipes as
 * configuration (docs/config.md).
 *
 * - The sharing policy moves from the server_settings table (0010) into config_state's
 *   settings_json (0011) as its `sharing` field, so `berth sharing-policy set` and a pushed
 *   ServerSettings write the same place; server_settings is dropped. A policy stored before
 *   is carried over (an unreadable one is left out, which reads as the default).
 * - image_recipes: what `berth image build NAME` builds with no other arguments.
 * - Revision triggers for both new kinds: a team made, removed or its quotas changed, and a
 *   recipe added, changed or removed, each bump the config revision.
 */
import { type Kysely, sql } from 'kysely';

const BUMP = `UPDATE config_state SET revision = revision + 1 WHERE id = 1`;
/** The team columns a TeamQuota resource maps to. */
const QUOTA_CHANGED = `OLD.max_workspaces IS NOT NEW.max_workspaces OR OLD.max_cpus IS NOT NEW.max_cpus OR OLD.max_memory_bytes IS NOT NEW.max_memory_bytes`;

/** Moves the sharing policy, creates image_recipes and the new revision triggers. */
export async function configResourcesUp(db: Kysely<unknown>): Promise<void> {
  await sql`UPDATE config_state
    SET settings_json = json_set(settings_json, '$.sharing', (SELECT value FROM server_settings WHERE key = 'sharing_policy'))
    WHERE id = 1 AND EXISTS (SELECT 1 FROM server_settings WHERE key = 'sharing_policy' AND value IN ('everyone', 'admins', 'off'))`.execute(db);
  await db.schema.dropTable('server_settings').execute();
  await db.schema
    .createTable('image_recipes')
    .addColumn('name', 'text', (c) => c.primaryKey())
    /** JSON ImageRecipeSpec: `{ from, packages }`. */
    .addColumn('spec_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  const triggers: Array<[string, string]> = [
    ['config_teams_insert', `AFTER INSERT ON teams`],
    ['config_teams_update', `AFTER UPDATE OF max_workspaces, max_cpus, max_memory_bytes ON teams WHEN ${QUOTA_CHANGED}`],
    ['config_teams_delete', `AFTER DELETE ON teams`],
    ['config_recipes_insert', `AFTER INSERT ON image_recipes`],
    // A rebuild records the same recipe again: only a different one is a change.
    ['config_recipes_update', `AFTER UPDATE ON image_recipes WHEN OLD.spec_json IS NOT NEW.spec_json`],
    ['config_recipes_delete', `AFTER DELETE ON image_recipes`],
  ];
  for (const [name, when] of triggers) {
    await sql.raw(`CREATE TRIGGER ${name} ${when} BEGIN ${BUMP}; END`).execute(db);
  }
}
