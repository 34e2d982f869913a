/** How every provider names what it makes for a workspace, so `docker ps`, `lxc-ls` and `ps` agree. */
import type { WorkspaceSpec } from '../api/index.js';

/** The first 8 letters and digits of an id, lowercased: enough to tell workspaces of one name apart. */
export function shortId(workspaceId: string): string {
  return workspaceId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8);
}

/** A workspace's container (or VM) name: `berth-NAME-ID8`, readable in listings and unique per workspace. */
export function containerName(spec: Pick<WorkspaceSpec, 'id' | 'name'>): string {
  return `berth-${spec.name}-${shortId(spec.id)}`;
}
