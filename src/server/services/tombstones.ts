/**
 * Workspaces removed with `ws rm --force` while their node was offline. Only berth's record
 * went; the container, VM or LXC container and its home directory are still on the node,
 * which may be merely cut off. A tombstone remembers it, and when the node's agent connects
 * again the server asks it to delete the workspace (its own start-up reaper would keep it: the
 * agent still holds the workspace's handle), then drops the tombstone.
 */
import { toApiError } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';

/** Deletes on `nodeId` every workspace tombstoned there; returns what they were named (`OWNER/NAME`). */
export async function reapTombstones(store: Store, hub: AgentHub, audit: AuditLog, nodeId: string): Promise<string[]> {
  const rows = await store.db.selectFrom('workspace_tombstones').selectAll().where('node_id', '=', nodeId).execute();
  const done: string[] = [];
  for (const t of rows) {
    try {
      await hub.request(nodeId, 'workspace.delete', { opId: `tombstone-${t.workspace_id}`, workspaceId: t.workspace_id }, 5 * 60_000);
      await store.db.deleteFrom('workspace_tombstones').where('workspace_id', '=', t.workspace_id).execute();
      done.push(t.name);
      await audit.record({
        actorId: null,
        actorName: 'berth',
        action: 'workspace.reap',
        target: `workspace/${t.name}`,
        outcome: 'ok',
        detail: 'removed with --force while its node was offline; deleted on the node now that it is back',
      });
    } catch (err) {
      const e = toApiError(err);
      await audit.record({
        actorId: null,
        actorName: 'berth',
        action: 'workspace.reap',
        target: `workspace/${t.name}`,
        outcome: 'error',
        detail: `${e.code}: ${e.message}; retried when the node connects again`,
      });
    }
  }
  return done;
}
