/**
 * Database tables, as kysely sees them. Timestamps are ISO-8601 text and JSON columns are
 * text, so the same queries run on SQLite and PostgreSQL. These are rows, not API views:
 * src/server/convert turns them into what users see.
 */
import type { Generated, Selectable } from 'kysely';

export interface UsersTable {
  id: string;
  name: string;
  role: 'admin' | 'member';
  created_at: string;
  email: string | null;
  /** When an admin disabled the user (migration 0012); null while they may sign in. */
  disabled_at?: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** sha256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

export interface InvitesTable {
  id: string;
  code_hash: string;
  email: string;
  role: 'admin' | 'member';
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
}

export interface SshKeysTable {
  id: string;
  user_id: string;
  name: string;
  algorithm: string;
  /** The key line as registered (`ssh-ed25519 AAAA... comment`). */
  public_key: string;
  /** OpenSSH `SHA256:...` of the key blob; unique, so one key belongs to one user. */
  fingerprint: string;
  created_at: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor_id: string | null;
  /** Kept as text so entries outlive the user they name. */
  actor_name: string | null;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'error';
  source_ip: string | null;
  detail: string | null;
}

export interface JoinTokensTable {
  id: string;
  token_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by_node: string | null;
}

export interface NodesTable {
  id: string;
  name: string;
  credential_hash: string;
  created_at: string;
  last_seen_at: string | null;
  agent_version: string | null;
  /** JSON NodeResources. */
  resources_json: string | null;
  /** JSON ProviderInfo[]. */
  providers_json: string;
  // Placement (fleet, migration 0004).
  /** JSON Record<string, string> of node labels. */
  labels_json: Generated<string>;
  /** 1 while cordoned: the scheduler places nothing new there. */
  cordoned: Generated<number>;
  /** The status the liveness monitor last recorded (`online` | `offline`). */
  status: Generated<string>;
}

/** A workspace removed with `ws rm --force` while its node was offline: deleted there when the node returns. */
export interface WorkspaceTombstonesTable {
  workspace_id: string;
  node_id: string;
  /** For the audit entry only: `OWNER/NAME` (names per owner, 0009); a bare name in tombstones made before. */
  name: string;
  removed_at: string;
}

export interface WorkspacesTable {
  id: string;
  name: string;
  owner_id: string;
  node_id: string;
  /** A provider kind: built-in or a plugin's (providerKindSchema). */
  provider: string;
  image: string;
  status: string;
  cpus: number | null;
  memory_bytes: number | null;
  /** JSON ApiError of the last failure. */
  error_json: string | null;
  created_at: string;
  updated_at: string;
  /** Workspace specs: the validated project spec as JSON (0007); null without one. Optional so rows built before it still type. */
  spec_json?: string | null;
  /** Teams and sharing (0010): the team the workspace belongs to; null for a personal one. Optional so rows built before it still type. */
  team_id?: string | null;
}

export interface OperationsTable {
  id: string;
  kind: string;
  target: string;
  workspace_id: string | null;
  status: 'running' | 'succeeded' | 'failed';
  stage: string | null;
  progress: number | null;
  error_json: string | null;
  created_by: string;
  created_at: string;
  finished_at: string | null;
}

/**
 * A node credential being rotated to, accepted next to the current one
 * until the agent has proven it holds it (then it replaces nodes.credential_hash).
 */
export interface NodeCredentialRotationsTable {
  node_id: string;
  credential_hash: string;
  created_at: string;
}

// Nodes added over SSH.
/** A node `berth node add` installed over SSH: where it is and how its agent runs. */
export interface SshNodesTable {
  node_id: string;
  user: string;
  host: string;
  port: number;
  /** The host key seen (and accepted) on first add; later adds must meet the same key. */
  host_key_fingerprint: string;
  /** How the agent is kept running: `systemd` or `supervised`. */
  service: 'systemd' | 'supervised';
  created_at: string;
  updated_at: string;
}

// Web UI (migration 0008).
/** A one-time sign-in link from `berth ui`: deleted when redeemed, so it works once. */
export interface WebSignInLinksTable {
  /** sha256 of the link's token. */
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

/** A browser session; the cookie holds the token, the row only its hash. */
export interface WebSessionsTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  /** Web UI previews (migration 0014): the session's id, which a preview cookie minted from it names. */
  id: string | null;
}

// Configuration as code and dotfiles (migration 0011).
/** One row (id 1): the config revision every config-changing write bumps, and server settings. */
export interface ConfigStateTable {
  id: number;
  revision: number;
  /** JSON ServerSettings spec: placement and, since 0013, the sharing policy. */
  settings_json: string;
}

/** A named workspace spec (`ws create --template`). */
export interface WorkspaceTemplatesTable {
  name: string;
  /** JSON WorkspaceTemplateSpec. */
  spec_json: string;
  updated_at: string;
}

/** A user's quota. */
export interface UserQuotasTable {
  user_id: string;
  /** JSON UserQuotaSpec. */
  spec_json: string;
  updated_at: string;
}

/** A user's dotfiles: a git URL, or an uploaded folder as a tar archive. */
export interface UserDotfilesTable {
  user_id: string;
  source: 'repo' | 'dir';
  url: string | null;
  ref: string | null;
  /** base64 of the tar archive (source dir). */
  archive: string | null;
  files: number | null;
  bytes: number | null;
  /** sha256 over what is applied; the workspace keeps the one it last applied. */
  digest: string;
  install: string | null;
  updated_at: string;
}

// Teams and sharing (migration 0010).
/** A team; its quotas bound what its workspaces may hold together (null: no limit). */
export interface TeamsTable {
  id: string;
  name: string;
  max_workspaces: number | null;
  max_cpus: number | null;
  max_memory_bytes: number | null;
  created_by: string;
  created_at: string;
}

/** A user's membership of a team. */
export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: 'member' | 'admin';
  added_at: string;
}

/** A workspace shared with one user or one team (exactly one of user_id, team_id is set). */
export interface WorkspaceSharesTable {
  id: string;
  workspace_id: string;
  user_id: string | null;
  team_id: string | null;
  role: 'use' | 'admin';
  /** ISO time after which the share grants nothing; null: until unshared. */
  expires_at: string | null;
  created_by: string;
  created_at: string;
}

/** A stored image recipe (migration 0013): what `berth image build NAME` builds with no other arguments. */
export interface ImageRecipesTable {
  name: string;
  /** JSON ImageRecipeSpec. */
  spec_json: string;
  updated_at: string;
}

/** The whole database. */
export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  join_tokens: JoinTokensTable;
  nodes: NodesTable;
  workspaces: WorkspacesTable;
  operations: OperationsTable;
  invites: InvitesTable;
  ssh_keys: SshKeysTable;
  audit_log: AuditLogTable;
  workspace_tombstones: WorkspaceTombstonesTable;
  node_credential_rotations: NodeCredentialRotationsTable;
  ssh_nodes: SshNodesTable;
  // Web UI (migration 0008).
  web_sign_in_links: WebSignInLinksTable;
  web_sessions: WebSessionsTable;
  // Configuration as code and dotfiles (migration 0011).
  config_state: ConfigStateTable;
  workspace_templates: WorkspaceTemplatesTable;
  user_quotas: UserQuotasTable;
  user_dotfiles: UserDotfilesTable;
  // Teams and sharing (migration 0010).
  teams: TeamsTable;
  team_members: TeamMembersTable;
  workspace_shares: WorkspaceSharesTable;
  // Configuration resources (migration 0013; the sharing policy moved into config_state).
  image_recipes: ImageRecipesTable;
}

/** A nodes row as read (defaulted columns filled in). */
export type NodeRow = Selectable<NodesTable>;
