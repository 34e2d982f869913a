/**
 * Level-driven reconciliation: each agent report says what its workspaces really are, and
 * the server's rows follow — but only for rows in a settled state, so an operation in flight
 * is never overruled by a report that raced it. A settled workspace its node no longer
 * reports at all has vanished from the node and is marked failed, so nothing disappears
 * unseen.
 */
import type { Logger } from 'pino';
import type { WorkspaceReport } from '../../api/index.js';
import type { Store } from '../store/open.js';

const SETTLED = ['running', 'stopped', 'failed', 'unknown'];

/**
 * Applies one agent report to the workspace rows of its node. `graceMs` protects rows changed
 * since the report may have been built. True when the rows now agree with the report (nothing
 * was left for a later report), so an identical next report has nothing to do.
 */
export async function reconcileReports(
  store: Store,
  nodeId: string,
  reports: WorkspaceReport[],
  log: Logger,
  graceMs: number,
  nowMs = Date.now(),
): Promise<boolean> {
  const rows = await store.db
    .selectFrom('workspaces')
    .select(['id', 'name', 'status', 'updated_at'])
    .where('node_id', '=', nodeId)
    .where('status', 'in', SETTLED)
    .execute();
  const reported = new Map(reports.map((r) => [r.workspaceId, r.status]));
  const staleBefore = new Date(nowMs - graceMs).toISOString();
  let agreed = true;
  for (const row of rows) {
    const seen = reported.get(row.id);
    if (seen === row.status || (seen !== undefined && !SETTLED.includes(seen))) continue;
    // A row that changed moments ago may be newer than the report: leave it for the next one.
    if (row.updated_at > staleBefore) {
      agreed = false;
      continue;
    }
    const now = new Date(nowMs).toISOString();
    if (seen === undefined) {
      if (row.status === 'failed') continue;
      log.warn({ workspace: row.name, workspaceId: row.id }, 'workspace is gone from its node');
      const error = JSON.stringify({
        code: 'NOT_FOUND',
        message: 'The workspace vanished from its node (removed outside berth, or the agent lost its state); remove it with `berth ws rm`.',
      });
      const res = await store.db
        .updateTable('workspaces')
        .set({ status: 'failed', error_json: error, updated_at: now })
        .where('id', '=', row.id)
        .where('status', '=', row.status)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) agreed = false;
      continue;
    }
    log.info({ workspace: row.name, workspaceId: row.id, from: row.status, to: seen }, 'workspace state changed on its node');
    const res = await store.db
      .updateTable('workspaces')
      .set({ status: seen, updated_at: now })
      .where('id', '=', row.id)
      .where('status', '=', row.status)
      .executeTakeFirst();
    // A row changed meanwhile (an operation claimed it): the next report looks again.
    if (Number(res.numUpdatedRows) !== 1) agreed = false;
  }
  return agreed;
}
