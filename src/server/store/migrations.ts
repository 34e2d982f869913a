/**
 * Schema migrations, run in order on every start (kysely's Migrator records which ran).
 * Never edit a migration that has shipped: add a new one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { BerthError } from '../../api/index.js';
import { configAndDotfilesUp } from './migration-0011.js';
import { configResourcesUp } from './migration-0013.js';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('join_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('used_by_node', 'text')
        .execute();
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text')
        .addColumn('agent_version', 'text')
        .addColumn('resources_json', 'text')
        .addColumn('providers_json', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema
        .createTable('workspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('node_id', 'text', (c) => c.notNull().references('nodes.id'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('cpus', 'real')
        .addColumn('memory_bytes', 'bigint')
        .addColumn('error_json', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('operations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('workspace_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stage', 'text')
        .addColumn('progress', 'real')
        .addColumn('error_json', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('operations_workspace').on('operations').column('workspace_id').execute();
    },
  },
  '0002_people': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('email', 'text').execute();
      await db.schema.alterTable('api_tokens').addColumn('expires_at', 'text').execute();
      await db.schema
        .createTable('invites')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code_hash', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('used_by', 'text')
        .execute();
      await db.schema
        .createTable('ssh_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // SQLite's INTEGER PRIMARY KEY is its rowid alias; PostgreSQL will use a serial here.
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_name', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('source_ip', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      await db.schema.createIndex('audit_log_actor').on('audit_log').column('actor_name').execute();
    },
  },
  // A node credential being rotated is accepted next to the current one
  // until the agent has proven it holds it, so no crash during a rotation locks a node out.
  '0003_fleet_credentials': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('node_credential_rotations')
        .addColumn('node_id', 'text', (c) => c.primaryKey().references('nodes.id').onDelete('cascade'))
        .addColumn('credential_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Placement: node labels, cordon and the last status the liveness monitor recorded
  // (kept so a server restart does not flap every node), and tombstones of workspaces removed
  // with `ws rm --force` while their node was offline, deleted there when it returns.
  '0004_fleet_placement': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('nodes')
        .addColumn('labels_json', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .alterTable('nodes')
        .addColumn('cordoned', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('nodes')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('offline'))
        .execute();
      await db.schema
        .createTable('workspace_tombstones')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('removed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('workspace_tombstones_node').on('workspace_tombstones').column('node_id').execute();
    },
  },
  // Nodes added over SSH: how each was reached, so re-adding pins its host key and
  // upgrades in place. The SSH private key is never stored.
  '0005_fleet_ssh_nodes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('ssh_nodes')
        .addColumn('node_id', 'text', (c) => c.primaryKey().references('nodes.id').onDelete('cascade'))
        .addColumn('user', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('host_key_fingerprint', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ssh_nodes_address').on('ssh_nodes').columns(['host', 'port']).unique().execute();
    },
  },
  // Scale: every agent report reads its node's workspaces (node_id), and the paged lists
  // filter by node, owner, status or provider and page by name; each index ends with the name
  // so a filtered page is one index range scan in name order.
  '0006_list_indexes': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('workspaces_node_name').on('workspaces').columns(['node_id', 'name']).execute();
      await db.schema.createIndex('workspaces_owner_name').on('workspaces').columns(['owner_id', 'name']).execute();
      await db.schema.createIndex('workspaces_status_name').on('workspaces').columns(['status', 'name']).execute();
      await db.schema.createIndex('workspaces_provider_name').on('workspaces').columns(['provider', 'name']).execute();
      await db.schema.createIndex('nodes_status_name').on('nodes').columns(['status', 'name']).execute();
    },
  },
  // Workspace specs: the project spec (berth.yaml / devcontainer.json) a workspace was created
  // from, as JSON text; null for a workspace created without one.
  '0007_workspace_spec': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('workspaces').addColumn('spec_json', 'text').execute();
    },
  },
  // Web UI: one-time sign-in links and browser sessions, both stored only as sha256 hashes.
  '0008_web_sessions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('web_sign_in_links')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('web_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('web_sessions_user').on('web_sessions').column('user_id').execute();
    },
  },
  // Names per owner: two people may both have `api`. SQLite cannot drop a column's UNIQUE, so
  // the table is rebuilt (same columns, rows copied untouched) and (owner_id, name) made unique.
  '0009_names_per_owner': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('workspaces_0009')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('node_id', 'text', (c) => c.notNull().references('nodes.id'))
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('cpus', 'real')
        .addColumn('memory_bytes', 'bigint')
        .addColumn('error_json', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('spec_json', 'text')
        .execute();
      const cols = sql.raw('id, name, owner_id, node_id, provider, image, status, cpus, memory_bytes, error_json, created_at, updated_at, spec_json');
      await sql`insert into workspaces_0009 (${cols}) select ${cols} from workspaces`.execute(db);
      await db.schema.dropTable('workspaces').execute();
      await db.schema.alterTable('workspaces_0009').renameTo('workspaces').execute();
      // The indexes went with the old table: the 0006 list indexes again, the owner's now unique.
      await db.schema.createIndex('workspaces_owner_name').on('workspaces').columns(['owner_id', 'name']).unique().execute();
      await db.schema.createIndex('workspaces_node_name').on('workspaces').columns(['node_id', 'name']).execute();
      await db.schema.createIndex('workspaces_status_name').on('workspaces').columns(['status', 'name']).execute();
      await db.schema.createIndex('workspaces_provider_name').on('workspaces').columns(['provider', 'name']).execute();
      await db.schema.createIndex('workspaces_name').on('workspaces').column('name').execute();
    },
  },
  // Teams and sharing (issue 15): teams with quotas, their members, shares of a workspace
  // with a user or a team, the team a workspace belongs to, and server settings (the
  // sharing policy) that an admin changes at run time.
  '0010_teams_and_shares': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('max_workspaces', 'integer')
        .addColumn('max_cpus', 'real')
        .addColumn('max_memory_bytes', 'integer')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();
      await db.schema
        .createTable('workspace_shares')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // One share per workspace and grantee: sharing again replaces the role and expiry.
      await db.schema
        .createIndex('workspace_shares_user')
        .on('workspace_shares')
        .columns(['workspace_id', 'user_id'])
        .unique()
        .where(sql.ref('user_id'), 'is not', null)
        .execute();
      await db.schema
        .createIndex('workspace_shares_team')
        .on('workspace_shares')
        .columns(['workspace_id', 'team_id'])
        .unique()
        .where(sql.ref('team_id'), 'is not', null)
        .execute();
      await db.schema.createIndex('workspace_shares_grantee_user').on('workspace_shares').column('user_id').execute();
      await db.schema.createIndex('workspace_shares_grantee_team').on('workspace_shares').column('team_id').execute();
      await db.schema.alterTable('workspaces').addColumn('team_id', 'text').execute();
      await db.schema.createIndex('workspaces_team_name').on('workspaces').columns(['team_id', 'name']).execute();
      await db.schema
        .createTable('server_settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Configuration as code and dotfiles (docs/config.md): the config revision and server
  // settings, workspace templates, quotas per user, and each user's dotfiles.
  '0011_config_and_dotfiles': {
    async up(db: Kysely<unknown>) {
      await configAndDotfilesUp(db);
    },
  },
  // Disabling a user (`berth user disable`): their tokens, keys and browser sessions stop
  // working and their live sessions end, while their workspaces and shares stay for later.
  // And a team's workspace names made unique within the team.
  '0012_user_disabled': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('disabled_at', 'text').execute();
      // A team's workspaces are unique by name within the team as well as per owner.
      await db.schema
        .createIndex('workspaces_team_name_unique')
        .on('workspaces')
        .columns(['team_id', 'name'])
        .unique()
        .where(sql.ref('team_id'), 'is not', null)
        .execute();
    },
  },
  // Configuration as code, completed (docs/config.md): one settings store (the sharing policy
  // joins config_state), image recipes, and revision triggers for teams' quotas and recipes.
  '0013_config_resources': {
    async up(db: Kysely<unknown>) {
      await configResourcesUp(db);
    },
  },
  // Web UI previews: a preview cookie minted from a browser session names the session by an
  // id (never its token's hash), so signing out or the session ending ends the preview too.
  '0014_web_previews': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('web_sessions').addColumn('id', 'text').execute();
      await sql`UPDATE web_sessions SET id = lower(hex(randomblob(16))) WHERE id IS NULL`.execute(db);
      await db.schema.createIndex('web_sessions_id').on('web_sessions').column('id').unique().execute();
    },
  },
  // Metrics: GET /metrics counts workspaces by status and provider at every scrape; with this
  // index the count reads the index alone instead of every row (src/server/metrics).
  '0015_workspace_count_index': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('workspaces_status_provider').on('workspaces').columns(['status', 'provider']).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date; throws FAILED_PRECONDITION naming the failing migration. */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against every past schema, not today's typed one
export async function migrate(db: Kysely<any>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const what = failed ? `migration ${failed} failed` : 'the migrations could not run';
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The database could not be brought up to date: ${what} (${error instanceof Error ? error.message : String(error)}). A database last used by a newer berth cannot be opened by an older one: run that version, or restore the database from a backup.`,
      { field: 'dataDir', cause: error },
    );
  }
}

/** Runs the migrations up to and including `name` only: tests build a database as an older berth left it. */
// biome-ignore lint/suspicious/noExplicitAny: as migrate(): past schemas, not today's typed one
export async function migrateUpTo(db: Kysely<any>, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider }).migrateTo(name);
  if (error) throw error;
}
