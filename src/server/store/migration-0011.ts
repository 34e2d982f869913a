/**
 * Migration 0011_config_and_dotfiles: the config revision and server settings (one row),
 * workspace templates, quotas per user, and each user's dotfiles.
 *
 * The revision is bumped by triggers, so every write that changes configuration bumps it,
 * whoever makes it: a push, `node label`, `node cordon`, a node joining or being removed, a
 * user (and with it their quota) being deleted. A pull records the revision; a push based on
 * another is refused as stale. Triggers are SQLite's syntax here; a PostgreSQL store would
 * declare the same ones in its own.
 */
import { type Kysely, sql } from 'kysely';

const BUMP = `UPDATE config_state SET revision = revision + 1 WHERE id = 1`;

/** Creates the tables and the revision triggers. */
export async function configAndDotfilesUp(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('config_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('settings_json', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await sql`INSERT INTO config_state (id, revision, settings_json) VALUES (1, 0, '{}')`.execute(db);
  await db.schema
    .createTable('workspace_templates')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('spec_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('user_quotas')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('spec_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('user_dotfiles')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('ref', 'text')
    /** base64 of the tar archive of an uploaded folder. */
    .addColumn('archive', 'text')
    .addColumn('files', 'integer')
    .addColumn('bytes', 'integer')
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('install', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  const triggers: Array<[string, string]> = [
    // Node labels and cordons (heartbeats write other columns of the same rows: they must not bump).
    ['config_nodes_update', `AFTER UPDATE OF labels_json, cordoned ON nodes WHEN OLD.labels_json IS NOT NEW.labels_json OR OLD.cordoned IS NOT NEW.cordoned`],
    ['config_nodes_insert', `AFTER INSERT ON nodes`],
    ['config_nodes_delete', `AFTER DELETE ON nodes`],
    ['config_templates_insert', `AFTER INSERT ON workspace_templates`],
    ['config_templates_update', `AFTER UPDATE ON workspace_templates`],
    ['config_templates_delete', `AFTER DELETE ON workspace_templates`],
    ['config_quotas_insert', `AFTER INSERT ON user_quotas`],
    ['config_quotas_update', `AFTER UPDATE ON user_quotas`],
    ['config_quotas_delete', `AFTER DELETE ON user_quotas`],
    ['config_settings_update', `AFTER UPDATE OF settings_json ON config_state WHEN OLD.settings_json IS NOT NEW.settings_json`],
  ];
  for (const [name, when] of triggers) {
    await sql.raw(`CREATE TRIGGER ${name} ${when} BEGIN ${BUMP}; END`).execute(db);
  }
}
