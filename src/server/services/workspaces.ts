/**
 * Workspaces: lists and lookups, the lifecycle as operations, and the rules about which
 * transition is allowed from which state. One operation at a time per workspace: a workspace in
 * a transitional state refuses new mutations until the running one is done. Creating is
 * workspace-create.ts; the deletes that are not a plain transition are workspace-deletes.ts.
 */
import type { OpContext } from '../../api/index.js';
import {
  BerthError,
  DEFAULT_PAGE_LIMIT,
  isLoopbackAddress,
  nextCursorOf,
  type Operation,
  type PlacementStrategy,
  parseWorkspaceRef,
  type SshGateway,
  toApiError,
  type User,
  type Workspace,
  type WorkspaceCreateBody,
  type WorkspacePorts,
  type WorkspaceStatus,
  type WorkspacesQuery,
} from '../../api/index.js';
import { decideMany } from '../access/facts.js';
import type { Action } from '../access/permissions.js';
// Teams and sharing: every access decision is access/permissions.ts's `can`.
import { visibleTo as sharedWith } from '../access/workspace-access.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import { workspaceToApi } from '../convert/to-api.js';
import type { Operations } from '../operations/operations.js';
import type { Store } from '../store/open.js';
// Configuration as code and dotfiles: templates, quotas, placement setting, dotfiles at create.
import type { CreateRules } from './config/create-rules.js';
import type { NodesService } from './nodes.js';
import { Recovery } from './recovery.js';
// Workspace specs: defaults from the spec, the stored spec for hooks and services.
import { storedSpec } from './spec/stored-spec.js';
import { reapTombstones } from './tombstones.js';
import { WorkspaceCreator } from './workspace-create.js';
import { type DeleteContext, deleteWhileCreating, deleteWhileDeleting, forgetOnOfflineNode } from './workspace-deletes.js';
// Names per owner: the one resolution of a reference to a row, and the one view check.
import { resolveWorkspace, workspaceRows, workspaceTarget } from './workspace-resolve.js';
import { setWorkspaceStatus } from './workspace-status.js';

export { DEFAULT_IMAGE } from './workspace-create.js';

const DEFAULT_STOP_TIMEOUT_S = 10;

type Transition = 'start' | 'stop' | 'restart' | 'delete';
const TRANSITIONAL: WorkspaceStatus[] = ['creating', 'starting', 'stopping', 'restarting', 'deleting'];

/** Workspace lifecycle. */
export class WorkspacesService {
  /** Workspaces this process is rolling back, finishing a delete of, or deleting: not to be picked up twice. */
  private readonly settling = new Set<string>();
  /** Settles what a restart or a lost node cut off (recovery.ts). */
  private readonly recovery: Recovery;
  private readonly creator: WorkspaceCreator;
  private readonly deletes: DeleteContext;
  /** The SSH gateway clients should use, set by the server once it listens; null when it is off. */
  sshGateway: SshGateway | null = null;
  /** Templates, quotas and the placement setting (config/create-rules.ts); set by createServices. */
  rules: CreateRules | null = null;
  /** Runs after a create succeeded, in its operation (dotfiles); a failure there is its own to report. */
  afterCreate: ((op: OpContext, user: User, ws: { id: string; name: string; nodeId: string }) => Promise<void>) | null = null;

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
    private readonly audit: AuditLog,
    /** How the scheduler picks among fitting nodes (`berth server --placement`). */
    placement: PlacementStrategy = 'spread',
  ) {
    this.recovery = new Recovery(store, hub, ops, audit, this.settling);
    // Getters, not values: createServices sets rules and afterCreate after construction.
    const service = this;
    this.creator = new WorkspaceCreator({
      store,
      hub,
      ops,
      nodes,
      placement,
      get rules() {
        return service.rules;
      },
      get afterCreate() {
        return service.afterCreate;
      },
      get: (user, ref) => this.get(user, ref),
    });
    this.deletes = {
      store,
      hub,
      ops,
      nodes,
      settling: this.settling,
      rollBackCreates: (nodeId) => this.rollBackCreates(nodeId),
      deleteWorkspace: (user, ref) => this.transition(user, ref, 'delete'),
    };
    // Creates cut off by a restart are rolled back, and deletes cut off finished, as their
    // nodes connect; operations cut off then say how their workspace ended up.
    this.hub.onNodeConnected((nodeId) => void this.rollBackCreates(nodeId).catch(() => {}));
    this.hub.onNodeConnected((nodeId) => void this.resumeDeletes(nodeId).catch(() => {}));
    this.hub.onNodeConnected((nodeId) => void this.noteSettled(nodeId).catch(() => {}));
    // Workspaces removed with --force while their node was away are deleted there now.
    this.hub.onNodeConnected((nodeId) => void reapTombstones(this.store, this.hub, this.audit, nodeId).catch(() => {}));
  }

  /** See Recovery.recoverInterrupted. */
  recoverInterrupted(): Promise<number> {
    return this.recovery.recoverInterrupted();
  }

  /** See Recovery.rollBackCreates. */
  rollBackCreates(nodeId: string): Promise<string[]> {
    return this.recovery.rollBackCreates(nodeId);
  }

  /** See Recovery.resumeDeletes. */
  resumeDeletes(nodeId: string): Promise<string[]> {
    return this.recovery.resumeDeletes(nodeId);
  }

  /** See Recovery.noteSettled. */
  noteSettled(nodeId: string): Promise<void> {
    return this.recovery.noteSettled(nodeId);
  }

  /** One page of the workspaces the caller may see, in name order after `q.cursor`, filtered by node, owner, status and provider. */
  async list(user: User, q: WorkspacesQuery = { limit: DEFAULT_PAGE_LIMIT }): Promise<{ workspaces: Workspace[]; nextCursor: string | null }> {
    let sel = workspaceRows(this.store);
    // Teams and sharing: own, team and shared workspaces (admins see all unless --shared).
    if (user.role !== 'admin' || q.shared) sel = sel.where(sharedWith(user.id, new Date().toISOString(), q.shared === true));
    // Names per owner: pages are in (name, owner) order and the cursor is OWNER/NAME.
    if (q.cursor !== undefined) {
      const after = parseWorkspaceRef(q.cursor);
      if (after?.owner) {
        const { owner, name } = after;
        sel = sel.where((eb) => eb.or([eb('workspaces.name', '>', name), eb.and([eb('workspaces.name', '=', name), eb('users.name', '>', owner)])]));
      } else if (after) sel = sel.where('workspaces.name', '>', after.name);
    }
    if (q.node !== undefined) sel = sel.where('nodes.name', '=', q.node);
    if (q.owner !== undefined) sel = sel.where('users.name', '=', q.owner);
    if (q.status !== undefined) sel = sel.where('workspaces.status', '=', q.status);
    if (q.provider !== undefined) sel = sel.where('workspaces.provider', '=', q.provider);
    const rows = await sel
      .orderBy('workspaces.name')
      .orderBy('users.name')
      .limit(q.limit + 1)
      .execute();
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    // The query only preselects: each row someone else owns is decided by `can` itself.
    const seen = (
      await decideMany(
        this.store,
        user.id,
        'view',
        page.map((r) => ({ id: r.id, ownerId: r.owner_id, teamId: r.team_id ?? null })),
      )
    ).map((d) => d.allowed);
    const shown = page.filter((_, i) => seen[i]);
    return {
      workspaces: shown.map((r) => workspaceToApi(r, r, this.sshGateway, user.name)),
      nextCursor: nextCursorOf(
        page.map((r) => ({ name: `${r.ownerName}/${r.name}` })),
        q.limit,
        more,
      ),
    };
  }

  /**
   * One workspace by reference (`NAME`: the caller's own; `OWNER/NAME`: that owner's), through
   * resolveWorkspace: one the caller may not see answers exactly like a missing one, so names
   * do not leak; the attempt is audited as a denial.
   */
  async get(user: User, ref: string, via: { sourceIp?: string } = {}, action: Action = 'view'): Promise<Workspace> {
    // Teams and sharing: NOT_FOUND unless the caller may view it, PERMISSION_DENIED unless they may do `action`.
    const row = await resolveWorkspace(this.store, this.audit, user, ref, via, action);
    return workspaceToApi(row, row, this.sshGateway, user.name);
  }

  /**
   * Validates, places and records a workspace, then creates it on its node in the background
   * (workspace-create.ts).
   */
  create(user: User, input: WorkspaceCreateBody): Promise<{ workspace: Workspace; operation: Operation }> {
    return this.creator.create(user, input);
  }

  /** Starts, stops, restarts or deletes a workspace as an operation. */
  async transition(user: User, name: string, what: Transition, opts: { timeoutSeconds?: number; force?: boolean } = {}): Promise<Operation> {
    const ws = await this.get(user, name, {}, what === 'delete' ? 'delete' : 'use');
    if (what === 'delete' && ws.status === 'creating') return deleteWhileCreating(this.deletes, user, ws);
    if (what === 'delete' && ws.status === 'deleting') return deleteWhileDeleting(this.deletes, user, ws, opts.force ?? false);
    if (TRANSITIONAL.includes(ws.status)) {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is ${ws.status}; wait for that to finish and retry.`, { field: 'name' });
    }
    if (what === 'start' && ws.status === 'running') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already running.`, { field: 'name' });
    if (what === 'stop' && ws.status === 'stopped') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already stopped.`, { field: 'name' });
    await this.nodes.awaitAgent(ws.nodeId);
    if (!this.hub.isOnline(ws.nodeId)) {
      if (what === 'delete' && opts.force) return forgetOnOfflineNode(this.deletes, user, ws);
      const orForce =
        what === 'delete' ? ` Or remove only berth's record with \`berth ws rm ${name} --force\`: the node deletes the workspace when it returns.` : '';
      throw new BerthError('NODE_OFFLINE', `Workspace ${name} is on node ${ws.nodeName}, which is offline; start its agent and retry.${orForce}`, {
        field: 'name',
      });
    }
    const before = ws.status;
    // A delete is marked before its claim, so resumeDeletes never takes a row this process is
    // about to delete for a cut-off one (until the operation's row exists).
    if (what === 'delete') this.settling.add(ws.id);
    try {
      return await this.claimAndRun(user, ws, what, before, opts);
    } catch (err) {
      if (what === 'delete') this.settling.delete(ws.id);
      throw err;
    }
  }

  /** The claim and the operation of transition(). */
  private async claimAndRun(
    user: User,
    ws: Workspace,
    what: Transition,
    before: WorkspaceStatus,
    opts: { timeoutSeconds?: number; force?: boolean },
  ): Promise<Operation> {
    const name = ws.ref;
    const pending: Record<Transition, WorkspaceStatus> = { start: 'starting', stop: 'stopping', restart: 'restarting', delete: 'deleting' };
    // Claim the workspace atomically: only one caller can move it out of its settled state.
    const claimed = await this.store.db
      .updateTable('workspaces')
      .set({ status: pending[what], updated_at: new Date().toISOString() })
      .where('id', '=', ws.id)
      .where('status', '=', before)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} changed meanwhile; retry.`, { field: 'name' });

    if (what !== 'start') {
      // Sessions end with their workspace, at once and saying why, rather than hanging on a
      // command the node is about to kill (or has already lost with the container).
      const verb = { stop: 'stopped', restart: 'restarted', delete: 'deleted' }[what];
      this.hub.endWorkspaceSessions(ws, { code: 'FAILED_PRECONDITION', message: `Workspace ${name} was ${verb} by ${user.name}; session closed.` });
    }
    const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_STOP_TIMEOUT_S;
    return this.ops.start({ kind: `workspace.${what}`, target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
      try {
        if (what === 'delete') {
          try {
            await this.hub.request(ws.nodeId, 'workspace.delete', { opId: op.id, workspaceId: ws.id });
          } catch (err) {
            // The node went away mid-delete: the row stays `deleting` (the desired state is
            // still "gone") and the delete is finished when the node connects (resumeDeletes).
            if (toApiError(err).code === 'NODE_OFFLINE') {
              throw new BerthError(
                'NODE_OFFLINE',
                `Node ${ws.nodeName} went away while deleting workspace ${name}; berth finishes the delete when the node is back (\`berth ws rm ${name} --force\` forgets it now).`,
                { field: 'name' },
              );
            }
            throw err;
          } finally {
            this.settling.delete(ws.id);
          }
          await this.store.db.deleteFrom('workspaces').where('id', '=', ws.id).execute();
          return;
        }
        // Workspace specs: a start runs the post_start hooks and the services again on the node.
        const project = what === 'stop' ? null : await storedSpec(this.store, ws.id);
        const result =
          what === 'start'
            ? await this.hub.request(ws.nodeId, 'workspace.start', { opId: op.id, workspaceId: ws.id, project })
            : what === 'stop'
              ? await this.hub.request(ws.nodeId, 'workspace.stop', { opId: op.id, workspaceId: ws.id, timeoutSeconds, force: opts.force ?? false })
              : await this.hub.request(ws.nodeId, 'workspace.restart', { opId: op.id, workspaceId: ws.id, timeoutSeconds, project });
        await setWorkspaceStatus(this.store, ws.id, result.status, null);
      } catch (err) {
        if (what === 'delete') {
          // A delete the node refused settles on what the node sees; one it never answered
          // (NODE_OFFLINE above) stays `deleting` for resumeDeletes.
          if (toApiError(err).code !== 'NODE_OFFLINE') {
            const seen = await this.hub.request(ws.nodeId, 'workspace.inspect', { workspaceId: ws.id }, 15_000).then(
              (r) => r.status,
              () => 'unknown' as const,
            );
            await setWorkspaceStatus(this.store, ws.id, seen, toApiError(err));
          }
          throw err;
        }
        // Settle on what the node really sees, so the row is never stuck in a -ing state; a
        // node that cannot be asked leaves it `unknown` for its next report to settle.
        const seen = await this.hub.request(ws.nodeId, 'workspace.inspect', { workspaceId: ws.id }, 15_000).then(
          (r) => (r.status === 'unknown' ? 'failed' : r.status),
          () => 'unknown' as const,
        );
        await setWorkspaceStatus(this.store, ws.id, seen, toApiError(err));
        throw err;
      }
    });
  }

  /** What the workspace listens on, as its node last pushed it (an empty list with observedAt null before any report). */
  async ports(user: User, name: string, via: { sourceIp?: string } = {}): Promise<WorkspacePorts> {
    const ws = await this.get(user, name, via, 'use');
    const seen = this.hub.ports.get(ws.id, ws.nodeId);
    const ports = (seen?.value ?? []).map((p) => ({ ...p, loopbackOnly: p.addresses.length > 0 && p.addresses.every(isLoopbackAddress) }));
    return { workspace: ws.ref, observedAt: seen?.at ?? null, ports };
  }

  /** The row an exec needs: the workspace must be running on an online node. */
  async forExec(user: User, name: string, via: { sourceIp?: string } = {}): Promise<Workspace> {
    const ws = await this.get(user, name, via, 'use');
    // The node first: a workspace fenced as `unknown` while its node is away is not the user's to fix.
    await this.nodes.awaitAgent(ws.nodeId);
    if (!this.hub.isOnline(ws.nodeId))
      throw new BerthError('NODE_OFFLINE', `Workspace ${name} is on node ${ws.nodeName}, which is offline; retry when its agent is back.`, { field: 'name' });
    if (ws.status !== 'running') {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is ${ws.status}, not running; start it with \`berth ws start ${name}\`.`, {
        field: 'name',
      });
    }
    return ws;
  }
}
