/**
 * Settling what a server restart, or a node that went away, cut off: the rows are the desired
 * state, and as each node connects the server finishes or undoes the work on its own (see
 * docs/crash-safety.md). A create cut off is rolled back, a delete cut off is finished, and
 * the operations the restart interrupted are rewritten to say how each ended up.
 */
import { toApiError, type WorkspaceStatus } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import type { Operations } from '../operations/operations.js';
import type { Store } from '../store/open.js';
import { workspaceTarget } from './workspace-resolve.js';

const TRANSITIONAL: WorkspaceStatus[] = ['creating', 'starting', 'stopping', 'restarting', 'deleting'];

/** Recovery of cut-off workspace operations, shared with WorkspacesService through `settling`. */
export class Recovery {
  /** When this server process started: creates recorded before it were cut off by a restart. */
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly audit: AuditLog,
    /** Workspaces being rolled back, finished or deleted by this process: not to be picked up twice. */
    private readonly settling: Set<string>,
  ) {}

  /**
   * Settles rows a previous server process left mid-operation. A create that was cut off stays
   * `creating` until its node is connected, and is then rolled back (see rollBackCreates); a
   * delete stays `deleting` and is finished then (resumeDeletes): the desired state is "gone"
   * either way, so nobody has to clean up by hand. Any other transition becomes `unknown` until
   * the node's next report says what the workspace really is.
   */
  async recoverInterrupted(): Promise<number> {
    const now = new Date().toISOString();
    const pending = await this.store.db
      .selectFrom('workspaces')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', ['creating', 'deleting'])
      .executeTakeFirstOrThrow();
    const others = await this.store.db
      .updateTable('workspaces')
      .set({ status: 'unknown', updated_at: now })
      .where(
        'status',
        'in',
        TRANSITIONAL.filter((t) => t !== 'creating' && t !== 'deleting'),
      )
      .executeTakeFirst();
    return Number(pending.n) + Number(others.numUpdatedRows);
  }

  /**
   * Finishes deletes on `nodeId` that no operation is running: ones a server restart cut off,
   * or whose node dropped away mid-delete. The node's delete is idempotent (it removes whatever
   * carries the workspace's labels), then the row goes. A node that fails it keeps the row
   * `deleting` until it connects again. Returns the ids of the workspaces deleted.
   */
  async resumeDeletes(nodeId: string): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('workspaces')
      .innerJoin('users', 'users.id', 'workspaces.owner_id')
      .select(['workspaces.id', 'workspaces.name', 'users.name as ownerName'])
      .where('workspaces.node_id', '=', nodeId)
      .where('workspaces.status', '=', 'deleting')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('operations')
              .select('operations.id')
              .whereRef('operations.workspace_id', '=', 'workspaces.id')
              .where('operations.status', '=', 'running'),
          ),
        ),
      )
      .execute();
    const done: string[] = [];
    for (const row of rows) {
      if (this.settling.has(row.id)) continue;
      this.settling.add(row.id);
      try {
        await this.hub.request(nodeId, 'workspace.delete', { opId: `resume-delete-${row.id}`, workspaceId: row.id }, 5 * 60_000);
        await this.store.db.deleteFrom('workspaces').where('id', '=', row.id).where('status', '=', 'deleting').execute();
        done.push(row.id);
        await this.audit.record({
          actorId: null,
          actorName: 'berth',
          action: 'workspace.delete',
          target: workspaceTarget(row.ownerName, row.name),
          outcome: 'ok',
          detail: 'a delete cut off (server restart or node gone) was finished on its node',
        });
        await this.amendInterruptedOf(
          row.id,
          (kind) =>
            `The server restarted while this ${kind} ran (interrupted); berth finished the delete when the node connected again: workspace ${row.name} is gone.`,
        );
      } catch (err) {
        const e = toApiError(err);
        await this.audit.record({
          actorId: null,
          actorName: 'berth',
          action: 'workspace.delete',
          target: workspaceTarget(row.ownerName, row.name),
          outcome: 'error',
          detail: `finishing a cut-off delete: ${e.code}: ${e.message}; retried when the node connects again`,
        });
      } finally {
        this.settling.delete(row.id);
      }
    }
    return done;
  }

  /**
   * Once a node's first report is applied, rewrites the error of each start, stop or restart a
   * restart cut off on it to say what the workspace is now (its row follows the report).
   */
  async noteSettled(nodeId: string): Promise<void> {
    for (const op of this.ops.interruptedOps()) {
      if (!op.workspaceId || !['workspace.start', 'workspace.stop', 'workspace.restart'].includes(op.kind)) continue;
      const row = await this.store.db.selectFrom('workspaces').select(['name', 'status', 'node_id']).where('id', '=', op.workspaceId).executeTakeFirst();
      if (!row || row.node_id !== nodeId || TRANSITIONAL.includes(row.status as WorkspaceStatus) || row.status === 'unknown') continue;
      await this.ops.amendInterrupted(
        op.id,
        `The server restarted while this ${op.kind.slice('workspace.'.length)} ran (interrupted); its node reports workspace ${row.name} ${row.status} now.`,
      );
    }
  }

  /** Rewrites the errors of operations on a workspace that the last restart cut off (see Operations.amendInterrupted). */
  private async amendInterruptedOf(workspaceId: string, message: (kind: string) => string): Promise<void> {
    for (const op of this.ops.interruptedOps().filter((o) => o.workspaceId === workspaceId))
      await this.ops.amendInterrupted(op.id, message(op.kind.replace(/^workspace\./, '')));
  }

  /**
   * Rolls back creates on `nodeId` that no operation of this server process is running: ones
   * a crash or restart cut off. The node deletes whatever it made for the workspace (stopping
   * its create first if that is still going) and the row is dropped. A node that drops away
   * meanwhile leaves the row `creating`, to be rolled back when it connects again. Returns the
   * ids of the workspaces rolled back (names are unique only per owner).
   */
  async rollBackCreates(nodeId: string): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('workspaces')
      .innerJoin('users', 'users.id', 'workspaces.owner_id')
      .select(['workspaces.id', 'workspaces.name', 'workspaces.owner_id', 'users.name as ownerName'])
      .where('workspaces.node_id', '=', nodeId)
      .where('workspaces.status', '=', 'creating')
      // Only rows from before this process: a create of this process records its row a moment
      // before its operation, and must not be mistaken for a cut-off one in between.
      .where('workspaces.created_at', '<', this.startedAt)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('operations')
              .select('operations.id')
              .whereRef('operations.workspace_id', '=', 'workspaces.id')
              .where('operations.kind', '=', 'workspace.create')
              .where('operations.status', '=', 'running'),
          ),
        ),
      )
      .execute();
    const rolledBack: string[] = [];
    for (const row of rows) {
      // Claim it, so two connects in a row do not roll it back twice.
      const claimed = await this.store.db
        .updateTable('workspaces')
        .set({ status: 'deleting', updated_at: new Date().toISOString() })
        .where('id', '=', row.id)
        .where('status', '=', 'creating')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      this.settling.add(row.id);
      try {
        await this.hub.request(nodeId, 'workspace.delete', { opId: `rollback-${row.id}`, workspaceId: row.id }, 5 * 60_000);
        await this.store.db.deleteFrom('workspaces').where('id', '=', row.id).execute();
        rolledBack.push(row.id);
        await this.audit.record({
          actorId: null,
          actorName: 'berth',
          action: 'workspace.rollback',
          target: workspaceTarget(row.ownerName, row.name),
          outcome: 'ok',
          detail: 'a create cut off by a server restart was rolled back on its node',
        });
        await this.amendInterruptedOf(
          row.id,
          () =>
            `The server restarted while this create ran (interrupted); it was rolled back: workspace ${row.name} was removed from its node and from berth. Create it again.`,
        );
      } catch (err) {
        await this.store.db.updateTable('workspaces').set({ status: 'creating', updated_at: new Date().toISOString() }).where('id', '=', row.id).execute();
        await this.audit.record({
          actorId: null,
          actorName: 'berth',
          action: 'workspace.rollback',
          target: workspaceTarget(row.ownerName, row.name),
          outcome: 'error',
          detail: `${toApiError(err).code}: ${toApiError(err).message}; retried when the node connects again`,
        });
      } finally {
        this.settling.delete(row.id);
      }
    }
    return rolledBack;
  }
}
