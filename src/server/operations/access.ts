/**
 * Who may see and cancel an operation. An admin sees every operation; a member sees those they
 * started and those about their own workspaces. Any other operation answers exactly like a
 * missing one, so operation ids, targets and log lines do not leak, and the attempt is
 * audited as a denial, as for workspaces.
 */
import { BerthError, type Operation, type OperationEvent, type User } from '../../api/index.js';
// Teams and sharing: whether the operation's workspace is the caller's to see is `can`'s call.
import { decide } from '../access/facts.js';
import type { Action } from '../access/permissions.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';
import type { Operations } from './operations.js';

/** Kinds of operation that can be cancelled: the ones that make something and can undo it. */
const CANCELLABLE = new Set<Operation['kind']>(['workspace.create', 'image.build', 'node.add']);

/** Where a request came from, for the audit log. */
export interface Via {
  sourceIp?: string;
}

/** Operations as a user may see and steer them. */
export class OperationAccess {
  constructor(
    private readonly store: Store,
    private readonly ops: Operations,
    private readonly audit: Pick<AuditLog, 'record'>,
  ) {}

  /** The operation, when `user` may see it; NOT_FOUND (and an audited denial) otherwise. */
  async get(user: User, id: string, via: Via = {}, action: Action = 'view'): Promise<Operation> {
    const op = await this.ops.get(id);
    if (user.role === 'admin') return op;
    const row = await this.store.db
      .selectFrom('operations')
      .leftJoin('workspaces', 'workspaces.id', 'operations.workspace_id')
      .select(['operations.created_by as createdBy', 'workspaces.id as wsId', 'workspaces.owner_id as ownerId', 'workspaces.team_id as teamId'])
      .where('operations.id', '=', id)
      .executeTakeFirst();
    if (row && row.createdBy === user.id) return op;
    if (row?.wsId && row.ownerId && (await decide(this.store, user.id, action, { id: row.wsId, ownerId: row.ownerId, teamId: row.teamId ?? null })).allowed)
      return op;
    await this.audit.record({
      actorId: user.id,
      actorName: user.name,
      action: 'operation.access',
      target: `operation/${id}`,
      outcome: 'denied',
      sourceIp: via.sourceIp,
      detail: 'not started by them, nor about their workspace',
    });
    throw notFound(id);
  }

  /** Streams the operation's events to `listener` once `user` may see it (see Operations.watch). */
  async watch(user: User, id: string, listener: (e: OperationEvent) => void, via: Via = {}): Promise<() => void> {
    await this.get(user, id, via);
    return this.ops.watch(id, listener);
  }

  /**
   * Cancels a running create or image build that `user` may see. Returns the operation as it
   * stands; it ends failed with CANCELLED once what it made is removed.
   */
  async cancel(user: User, id: string, via: Via = {}): Promise<Operation> {
    // Cancelling a create undoes it: someone else's needs the right to delete the workspace.
    const op = await this.get(user, id, via, 'delete');
    if (op.status !== 'running') {
      throw new BerthError('FAILED_PRECONDITION', `Operation ${id} has already ${op.status}; there is nothing to cancel.`, { field: 'id' });
    }
    if (!CANCELLABLE.has(op.kind)) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `A ${op.kind} operation cannot be cancelled, only workspace creates, image builds and node adds; wait for it to finish.`,
        { field: 'id' },
      );
    }
    const reason = new BerthError('CANCELLED', `Operation ${id} (${op.kind} of ${op.target}) was cancelled by ${user.name}; nothing it made was kept.`);
    if (!this.ops.cancel(id, reason)) {
      throw new BerthError('FAILED_PRECONDITION', `Operation ${id} is no longer running; see \`berth ws ls\`.`, { field: 'id' });
    }
    return this.ops.get(id);
  }
}

function notFound(id: string): BerthError {
  return new BerthError('NOT_FOUND', `No operation ${id}; list recent work with \`berth ws ls\`.`, { field: 'id' });
}
