/**
 * Rows → API views, in one place. Nothing else in the server builds a wire object from a row.
 */
import type { Operation, OperationKind, ProviderInfo, Node, Workspace, WorkspaceStatus, ApiError, NodeResources } from '../../api/index.js';
import type { NodesTable, OperationsTable, WorkspacesTable } from '../store/schema.js';

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

/** Workspace row (+ its node's and owner's names) → Workspace. */
export function workspaceToApi(row: WorkspacesTable, names: { nodeName: string; ownerName: string }): Workspace {
  return {
    id: row.id,
    name: row.name,
    owner: names.ownerName,
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
  };
}

/** Node row → Node; `online` is decided by the caller from the live connection and heartbeats. */
export function nodeToApi(row: NodesTable, live: { online: boolean; workspaces: number }): Node {
  return {
    id: row.id,
    name: row.name,
    status: live.online ? 'online' : 'offline',
    agentVersion: row.agent_version,
    lastSeenAt: row.last_seen_at,
    resources: row.resources_json ? (JSON.parse(row.resources_json) as NodeResources) : null,
    providers: JSON.parse(row.providers_json) as ProviderInfo[],
    workspaces: live.workspaces,
    createdAt: row.created_at,
  };
}
