/** The one write of a workspace row's settled status (and the error that put it there). */
import type { toApiError, WorkspaceStatus } from '../../api/index.js';
import type { Store } from '../store/open.js';

/** Sets a workspace's status and error (null clears it). */
export async function setWorkspaceStatus(store: Store, id: string, status: WorkspaceStatus, error: ReturnType<typeof toApiError> | null): Promise<void> {
  await store.db
    .updateTable('workspaces')
    .set({ status, error_json: error ? JSON.stringify(error) : null, updated_at: new Date().toISOString() })
    .where('id', '=', id)
    .execute();
}
