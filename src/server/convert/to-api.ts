/**
 * Rows → API views, in one place. Nothing else in the server builds a wire object from a row.
 */
import type {
  ApiError,
  ApiToken,
  Node,
  NodeResources,
  NodeStatus,
  Operation,
  OperationKind,
  ProviderInfo,
  SshKey,
  User,
  Workspace,
  WorkspaceStatus,
} from '../../api/index.js';
import { editorLinks, sshUserFor, workspaceRefFor } from '../../api/index.js';
import type { ApiTokensTable, NodeRow, OperationsTable, SshKeysTable, UsersTable, WorkspacesTable } from '../store/schema.js';

/** Operation row → Operation. */
export function operationToApi(row: OperationsTable): Operation {
  return {
    id: row.id,
    kind: row.kind as OperationKind,
    target: row.target,
    status: row.status,
    stage: row.stage,
    progress: row.progress,
    error: row.error_json ? (JSON.parse(row.error_json) as ApiError) : null,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

/**
 * Workspace row (+ its node's, owner's and team's names, the SSH gateway's address when it
 * runs, and the name of the user it is shown to) → Workspace. The viewer decides `ref` and the
 * links' SSH user: the bare name for the owner, OWNER/NAME (OWNER.NAME over SSH) for anyone else.
 */
export function workspaceToApi(
  row: WorkspacesTable,
  names: { nodeName: string; ownerName: string; teamName?: string | null },
  gateway: { host: string; port: number } | null,
  viewer: string,
): Workspace {
  const named = { name: row.name, owner: names.ownerName };
  return {
    id: row.id,
    name: row.name,
    owner: names.ownerName,
    ref: workspaceRefFor(named, viewer),
    nodeId: row.node_id,
    nodeName: names.nodeName,
    provider: row.provider,
    image: row.image,
    status: row.status as WorkspaceStatus,
    cpus: row.cpus,
    memoryBytes: row.memory_bytes === null ? null : Number(row.memory_bytes),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    error: row.error_json ? (JSON.parse(row.error_json) as ApiError) : null,
    links: gateway ? editorLinks({ workspace: sshUserFor(named, viewer), host: gateway.host, port: gateway.port }) : null,
    // Teams and sharing.
    team: names.teamName ?? null,
  };
}

/** Node row → Node; `status` is decided by the caller (liveness.ts) from heartbeats. */
export function nodeToApi(row: NodeRow, live: { status: NodeStatus; workspaces: number }): Node {
  return {
    id: row.id,
    name: row.name,
    status: live.status,
    agentVersion: row.agent_version,
    lastSeenAt: row.last_seen_at,
    resources: row.resources_json ? (JSON.parse(row.resources_json) as NodeResources) : null,
    providers: JSON.parse(row.providers_json) as ProviderInfo[],
    workspaces: live.workspaces,
    createdAt: row.created_at,
    labels: JSON.parse(row.labels_json) as Record<string, string>,
    cordoned: row.cordoned === 1,
  };
}

/** User row → User. */
export function userToApi(row: UsersTable): User {
  return { id: row.id, name: row.name, email: row.email ?? null, role: row.role, createdAt: row.created_at, ...(row.disabled_at ? { disabled: true } : {}) };
}

/** Token row → its metadata (never the secret). */
export function tokenToApi(row: ApiTokensTable): ApiToken {
  return { id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at, expiresAt: row.expires_at };
}

/** SSH key row → SshKey. */
export function sshKeyToApi(row: SshKeysTable): SshKey {
  return { id: row.id, name: row.name, algorithm: row.algorithm, fingerprint: row.fingerprint, publicKey: row.public_key, createdAt: row.created_at };
}
