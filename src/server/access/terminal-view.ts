/**
 * Who may watch a kept terminal read-only (pairing): whoever may use the workspace — its owner,
 * an admin, a member of its team, someone it is shared with (the permission function, asked by
 * `forExec` before this). The one place to narrow watching should it ever differ from use.
 */
import type { User, Workspace } from '../../api/index.js';

/** Whether `user`, whom the permission function lets use `workspace`, may also watch others' terminals there. */
export function mayWatchTerminals(_user: User, _workspace: Pick<Workspace, 'owner'>): boolean {
  return true;
}
