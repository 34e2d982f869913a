/**
 * The deletes that are not a plain transition: of a workspace still being created (cancel the
 * create and let it undo itself), of one a cut-off delete left `deleting`, and `--force` on an
 * offline node (forget the row; a tombstone has the node delete it when it returns).
 */
import { BerthError, type Operation, type User, type Workspace } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { Operations } from '../operations/operations.js';
import type { Store } from '../store/open.js';
import type { NodesService } from './nodes.js';
import { workspaceTarget } from './workspace-resolve.js';

/** What these deletes use of the workspace service. */
export interface DeleteContext {
  readonly store: Store;
  readonly hub: AgentHub;
  readonly ops: Operations;
  readonly nodes: NodesService;
  /** Workspaces this process is settling (recovery.ts): not to be picked up twice. */
  readonly settling: Set<string>;
  /** Rolls back creates a restart cut off on a node; the ids it rolled back. */
  rollBackCreates(nodeId: string): Promise<string[]>;
  /** A plain delete transition (when a create won the race with its delete). */
  deleteWorkspace(user: User, ref: string): Promise<Operation>;
}

/**
 * `ws rm` of a workspace left `deleting` by a cut-off delete (no operation runs it): the
 * delete is finished now when the node is online; with --force on an offline node only the
 * row goes, and a tombstone has the node delete it when it returns.
 */
export async function deleteWhileDeleting(ctx: DeleteContext, user: User, ws: Workspace, force: boolean): Promise<Operation> {
  const running = await ctx.store.db.selectFrom('operations').select('id').where('workspace_id', '=', ws.id).where('status', '=', 'running').executeTakeFirst();
  if (running || ctx.settling.has(ws.id))
    throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} is being deleted; wait for that to finish.`, { field: 'name' });
  await ctx.nodes.awaitAgent(ws.nodeId);
  if (!ctx.hub.isOnline(ws.nodeId)) {
    if (force) return forgetOnOfflineNode(ctx, user, ws);
    throw new BerthError(
      'NODE_OFFLINE',
      `Workspace ${ws.ref} is on node ${ws.nodeName}, which is offline; its delete is finished when the node is back, or remove only berth's record with \`berth ws rm ${ws.ref} --force\`.`,
      { field: 'name' },
    );
  }
  return ctx.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
    op.progress('finishing the interrupted delete', null);
    await ctx.hub.request(ws.nodeId, 'workspace.delete', { opId: op.id, workspaceId: ws.id });
    await ctx.store.db.deleteFrom('workspaces').where('id', '=', ws.id).execute();
  });
}

/**
 * `ws rm` of a workspace still being created: a delete operation that cancels the create and
 * waits for it to undo itself (the create drops the row). If the create finished first, the
 * workspace is deleted as usual. A create that no operation runs any more (cut off by a
 * restart) is rolled back on its node, when that is online.
 */
export async function deleteWhileCreating(ctx: DeleteContext, user: User, ws: Workspace): Promise<Operation> {
  const create = await ctx.store.db
    .selectFrom('operations')
    .select('id')
    .where('workspace_id', '=', ws.id)
    .where('kind', '=', 'workspace.create')
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (!create) {
    if (!ctx.hub.isOnline(ws.nodeId)) {
      throw new BerthError(
        'NODE_OFFLINE',
        `Workspace ${ws.ref} was being created on node ${ws.nodeName} when the server restarted; it is removed once that node is online again.`,
        { field: 'name' },
      );
    }
    return ctx.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
      op.progress('rolling back the interrupted create', null);
      if (!(await ctx.rollBackCreates(ws.nodeId)).includes(ws.id)) {
        throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} could not be rolled back now; see \`berth ws show ${ws.ref}\` and retry.`, {
          field: 'name',
        });
      }
    });
  }
  return ctx.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
    op.progress('cancelling the create', null);
    ctx.ops.cancel(
      create.id,
      new BerthError('CANCELLED', `Workspace ${ws.ref} was deleted by ${user.name} while it was being created; nothing it made was kept.`),
    );
    const ended = await ctx.ops.finished(create.id);
    const row = await ctx.store.db.selectFrom('workspaces').select('status').where('id', '=', ws.id).executeTakeFirst();
    if (!row) {
      op.log(`the create ended (${ended.error?.code ?? ended.status}) and left nothing`);
      return;
    }
    // The create won the race: delete the workspace it made like any other.
    const next = await ctx.deleteWorkspace(user, ws.ref);
    const done = await ctx.ops.finished(next.id);
    if (done.error) throw BerthError.fromApi(done.error);
  });
}

/**
 * `ws rm --force` on an offline node: drops the row and leaves a tombstone, so the node's
 * agent is told to delete the workspace when it connects again (tombstones.ts). Nothing is
 * deleted on the node now: it cannot be reached, and it may be running the workspace still.
 */
export async function forgetOnOfflineNode(ctx: DeleteContext, user: User, ws: Workspace): Promise<Operation> {
  await ctx.store.db.transaction().execute(async (tx) => {
    const gone = await tx.deleteFrom('workspaces').where('id', '=', ws.id).where('status', '=', ws.status).executeTakeFirst();
    if (Number(gone.numDeletedRows) !== 1) throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} changed meanwhile; retry.`, { field: 'name' });
    await tx
      .insertInto('workspace_tombstones')
      .values({ workspace_id: ws.id, node_id: ws.nodeId, name: `${ws.owner}/${ws.name}`, removed_at: new Date().toISOString() })
      .execute();
  });
  return ctx.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
    op.log(`node ${ws.nodeName} is offline: removed berth's record only; the node's agent deletes the workspace when it returns`);
  });
}
