/**
 * Level-driven reconciliation: each agent report says what its workspaces really are, and
 * the server's rows follow — but only for rows in a settled state, so an operation in flight
 * is never overruled by a report that raced it.
 */
import type { Logger } from 'pino';
import type { WorkspaceReport } from '../../api/index.js';
import type { Store } from '../store/open.js';

const SETTLED = ['running', 'stopped', 'failed', 'unknown'];

/** Applies one agent report to the workspace rows of its node. */
export async function reconcileReports(store: Store, nodeId: string, reports: WorkspaceReport[], log: Logger): Promise<void> {
  if (reports.length === 0) return;
  const rows = await store.db
    .selectFrom('workspaces')
    .select(['id', 'name', 'status'])
    .where('node_id', '=', nodeId)
    .where('status', 'in', SETTLED)
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const report of reports) {
    const row = byId.get(report.workspaceId);
    if (!row || row.status === report.status || !SETTLED.includes(report.status)) continue;
    log.info({ workspace: row.name, from: row.status, to: report.status }, 'workspace state changed on its node');
    await store.db
      .updateTable('workspaces')
      .set({ status: report.status, updated_at: new Date().toISOString() })
      .where('id', '=', row.id)
      .where('status', '=', row.status)
      .execute();
  }
}
