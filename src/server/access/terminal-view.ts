/**
 * Who may watch a kept terminal read-only (pairing): for now the workspace's owner and
 * admins. The one place to widen when sharing exists ("may view" the workspace).
 */
import type { User, Workspace } from '../../api/index.js';

/** Whether `user` may open a read-only view of the terminals of `workspace`. */
export function mayWatchTerminals(user: User, workspace: Pick<Workspace, 'owner'>): boolean {
  return user.role === 'admin' || workspace.owner === user.name;
}
