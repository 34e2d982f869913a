/**
 * Workspaces: placement, the lifecycle as operations, and the rules about which transition is
 * allowed from which state. One operation at a time per workspace: a workspace in a
 * transitional state refuses new mutations until the running one is done.
 */
import { randomUUID } from 'node:crypto';
import type { OpContext } from '../../api/index.js';
import {
  BerthError,
  DEFAULT_PAGE_LIMIT,
  fromZodError,
  isLoopbackAddress,
  nextCursorOf,
  type Operation,
  type PlacementStrategy,
  parseConstraint,
  parseSize,
  parseWorkspaceRef,
  type SshGateway,
  toApiError,
  type User,
  type Workspace,
  type WorkspaceCreateBody,
  type WorkspacePorts,
  type WorkspaceStatus,
  type WorkspacesQuery,
  workspaceCreateSchema,
} from '../../api/index.js';
import { decideMany } from '../access/facts.js';
import type { Action } from '../access/permissions.js';
// Teams and sharing: every access decision is access/permissions.ts's `can`.
import { visibleTo as sharedWith } from '../access/workspace-access.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import { workspaceToApi } from '../convert/to-api.js';
import type { Operations } from '../operations/operations.js';
import { chooseNode } from '../scheduler/choose.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import type { WorkspacesTable } from '../store/schema.js';
// Configuration as code and dotfiles: templates, quotas, placement setting, dotfiles at create.
import type { CreateRules } from './config/create-rules.js';
import type { NodesService } from './nodes.js';
import { Recovery } from './recovery.js';
// Workspace specs: defaults from the spec, the stored spec for hooks and services.
import { storedSpec, withSpecDefaults } from './spec/stored-spec.js';
import { checkTeamForCreate } from './teams-quota.js';
import { reapTombstones } from './tombstones.js';
// Names per owner: the one resolution of a reference to a row, and the one view check.
import { resolveWorkspace, workspaceRows, workspaceTarget } from './workspace-resolve.js';

/** The image a workspace gets when none is named: the one the quickstart builds. */
export const DEFAULT_IMAGE = 'base';
const DEFAULT_STOP_TIMEOUT_S = 10;

type Transition = 'start' | 'stop' | 'restart' | 'delete';
const TRANSITIONAL: WorkspaceStatus[] = ['creating', 'starting', 'stopping', 'restarting', 'deleting'];

/** Workspace lifecycle. */
export class WorkspacesService {
  /** Workspaces this process is rolling back, finishing a delete of, or deleting: not to be picked up twice. */
  private readonly settling = new Set<string>();
  /** Settles what a restart or a lost node cut off (recovery.ts). */
  private readonly recovery: Recovery;
  /** The tail of the one-at-a-time placement queue (see create). */
  private placing: Promise<unknown> = Promise.resolve();
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
    private readonly placement: PlacementStrategy = 'spread',
  ) {
    this.recovery = new Recovery(store, hub, ops, audit, this.settling);
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
   * Validates, places and records a workspace, then creates it on its node in the background.
   * The image is looked up on the chosen node first: an image the node does not have is
   * NOT_FOUND here, before any row, operation or engine object exists.
   */
  async create(user: User, input: WorkspaceCreateBody): Promise<{ workspace: Workspace; operation: Operation }> {
    // The spec is checked again here with the CLI's schema: a client is never trusted.
    const parsed = workspaceCreateSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const body = withSpecDefaults(this.rules ? await this.rules.withTemplate(parsed.data) : parsed.data);
    // Teams and sharing: the team must exist and have the caller as a member (quotas are checked at placement).
    const team = body.team ? await checkTeamForCreate(this.store, user, body.team) : null;
    // A team's workspaces are unique by name within the team too (its members all see them).
    if (team && (await this.store.db.selectFrom('workspaces').select('id').where('team_id', '=', team.id).where('name', '=', body.name).executeTakeFirst())) {
      throw new BerthError('ALREADY_EXISTS', `Team ${body.team} already has a workspace named ${body.name}; pick another name.`, { field: 'name' });
    }
    // Names are unique per owner: only the caller's own workspaces can clash (nobody learns of another's).
    const existing = await this.store.db.selectFrom('workspaces').select('id').where('owner_id', '=', user.id).where('name', '=', body.name).executeTakeFirst();
    if (existing)
      throw new BerthError(
        'ALREADY_EXISTS',
        `You already have a workspace named ${body.name}; pick another name or remove it with \`berth ws rm ${body.name}\`.`,
        { field: 'name' },
      );
    const memoryBytes = body.memory ? parseSize(body.memory)! : null;
    // Placement and the row's insert run one create at a time, so two creates never both count
    // the same free room (the row is what reserves it). The scheduler asks the candidates for
    // the image first: an image no node has is NOT_FOUND (field image) here, before any row,
    // operation or engine object exists.
    const placed = this.placing.then(() => this.placeAndRecord(user, body, memoryBytes, team));
    this.placing = placed.catch(() => {});
    const { node, row } = await placed;
    const operation = await this.ops.start(
      { kind: 'workspace.create', target: workspaceTarget(user.name, row.name), workspaceId: row.id, createdBy: user.id },
      async (op) => {
        op.progress('scheduled', null);
        op.log(`placed on node ${node.name}`);
        try {
          const spec = {
            id: row.id,
            name: row.name,
            provider: row.provider,
            image: row.image,
            cpus: row.cpus,
            memoryBytes: row.memory_bytes,
            env: body.spec?.env ?? {},
          };
          const { status } = await this.hub.requestForOp(node.id, 'workspace.create', { opId: op.id, spec, project: body.spec ?? null }, op.signal);
          // A cancel that arrived as the node finished still wins: the user asked for nothing to remain.
          op.signal.throwIfAborted();
          await this.setStatus(row.id, status, null);
          if (this.afterCreate && status === 'running') await this.afterCreate(op, user, { id: row.id, name: row.name, nodeId: node.id });
        } catch (err) {
          // A failed or cancelled create leaves nothing: the agent cleans up what it made; we drop the row.
          if (op.signal.aborted) op.progress('cancelling', null);
          const cleaned = await this.hub.request(node.id, 'workspace.delete', { opId: op.id, workspaceId: row.id }, 60_000).then(
            () => true,
            () => false,
          );
          await this.store.db.transaction().execute(async (tx) => {
            await tx.deleteFrom('workspaces').where('id', '=', row.id).execute();
            // A node that dropped away mid-create may still hold what it made: remember it, so
            // the node deletes it when it returns (tombstones.ts) rather than keeping it forever.
            if (!cleaned)
              await tx
                .insertInto('workspace_tombstones')
                .values({ workspace_id: row.id, node_id: node.id, name: `${user.name}/${row.name}`, removed_at: new Date().toISOString() })
                .onConflict((oc) => oc.doNothing())
                .execute();
          });
          if (!cleaned && !op.signal.aborted && toApiError(err).code === 'NODE_OFFLINE') {
            throw new BerthError(
              'NODE_OFFLINE',
              `Node ${node.name} went away during the create of ${row.name} (interrupted); it was rolled back: berth's record is gone and the node removes what it made when it is back. Create it again.`,
              { field: 'name' },
            );
          }
          throw err;
        }
      },
    );
    return { workspace: await this.get(user, row.name), operation };
  }

  /** Chooses the node (place.ts) and records the `creating` row that reserves its room. */
  private async placeAndRecord(
    user: User,
    body: ReturnType<typeof workspaceCreateSchema.parse>,
    memoryBytes: number | null,
    team: { id: string; check: (cpus: number | null, memoryBytes: number | null) => Promise<void> } | null = null,
  ) {
    // Teams and sharing: quotas are counted here, one create at a time, so two never both fit the last room.
    await team?.check(body.cpus ?? null, memoryBytes);
    await this.rules?.checkQuota(user, body.cpus ?? null, memoryBytes);
    const node = await chooseNode(this.nodes, this.hub, {
      provider: body.provider,
      image: body.image ?? DEFAULT_IMAGE,
      cpus: body.cpus ?? null,
      memoryBytes,
      constraints: (body.constraints ?? []).map(parseConstraint),
      node: body.node,
      strategy: this.rules ? await this.rules.placement(this.placement) : this.placement,
    });
    const now = new Date().toISOString();
    const row: WorkspacesTable = {
      id: randomUUID(),
      name: body.name,
      owner_id: user.id,
      node_id: node.id,
      provider: body.provider,
      image: body.image ?? DEFAULT_IMAGE,
      status: 'creating',
      cpus: body.cpus ?? null,
      memory_bytes: memoryBytes,
      error_json: null,
      created_at: now,
      updated_at: now,
      spec_json: body.spec ? JSON.stringify(body.spec) : null,
      team_id: team?.id ?? null,
    };
    try {
      await this.store.db.insertInto('workspaces').values(row).execute();
    } catch (err) {
      // Two creates with one name can race past the check above; the unique index decides.
      if (isUniqueViolation(err)) {
        throw new BerthError('ALREADY_EXISTS', `You already have a workspace named ${body.name}; pick another name.`, { field: 'name' });
      }
      throw err;
    }
    return { node, row };
  }

  /** Starts, stops, restarts or deletes a workspace as an operation. */
  async transition(user: User, name: string, what: Transition, opts: { timeoutSeconds?: number; force?: boolean } = {}): Promise<Operation> {
    const ws = await this.get(user, name, {}, what === 'delete' ? 'delete' : 'use');
    if (what === 'delete' && ws.status === 'creating') return this.deleteWhileCreating(user, ws);
    if (what === 'delete' && ws.status === 'deleting') return this.deleteWhileDeleting(user, ws, opts.force ?? false);
    if (TRANSITIONAL.includes(ws.status)) {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is ${ws.status}; wait for that to finish and retry.`, { field: 'name' });
    }
    if (what === 'start' && ws.status === 'running') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already running.`, { field: 'name' });
    if (what === 'stop' && ws.status === 'stopped') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already stopped.`, { field: 'name' });
    await this.nodes.awaitAgent(ws.nodeId);
    if (!this.hub.isOnline(ws.nodeId)) {
      if (what === 'delete' && opts.force) return this.forgetOnOfflineNode(user, ws);
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
        await this.setStatus(ws.id, result.status, null);
      } catch (err) {
        if (what === 'delete') {
          // A delete the node refused settles on what the node sees; one it never answered
          // (NODE_OFFLINE above) stays `deleting` for resumeDeletes.
          if (toApiError(err).code !== 'NODE_OFFLINE') {
            const seen = await this.hub.request(ws.nodeId, 'workspace.inspect', { workspaceId: ws.id }, 15_000).then(
              (r) => r.status,
              () => 'unknown' as const,
            );
            await this.setStatus(ws.id, seen, toApiError(err));
          }
          throw err;
        }
        // Settle on what the node really sees, so the row is never stuck in a -ing state; a
        // node that cannot be asked leaves it `unknown` for its next report to settle.
        const seen = await this.hub.request(ws.nodeId, 'workspace.inspect', { workspaceId: ws.id }, 15_000).then(
          (r) => (r.status === 'unknown' ? 'failed' : r.status),
          () => 'unknown' as const,
        );
        await this.setStatus(ws.id, seen, toApiError(err));
        throw err;
      }
    });
  }

  /**
   * `ws rm` of a workspace left `deleting` by a cut-off delete (no operation runs it): the
   * delete is finished now when the node is online; with --force on an offline node only the
   * row goes, and a tombstone has the node delete it when it returns.
   */
  private async deleteWhileDeleting(user: User, ws: Workspace, force: boolean): Promise<Operation> {
    const running = await this.store.db
      .selectFrom('operations')
      .select('id')
      .where('workspace_id', '=', ws.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (running || this.settling.has(ws.id))
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} is being deleted; wait for that to finish.`, { field: 'name' });
    await this.nodes.awaitAgent(ws.nodeId);
    if (!this.hub.isOnline(ws.nodeId)) {
      if (force) return this.forgetOnOfflineNode(user, ws);
      throw new BerthError(
        'NODE_OFFLINE',
        `Workspace ${ws.ref} is on node ${ws.nodeName}, which is offline; its delete is finished when the node is back, or remove only berth's record with \`berth ws rm ${ws.ref} --force\`.`,
        { field: 'name' },
      );
    }
    return this.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
      op.progress('finishing the interrupted delete', null);
      await this.hub.request(ws.nodeId, 'workspace.delete', { opId: op.id, workspaceId: ws.id });
      await this.store.db.deleteFrom('workspaces').where('id', '=', ws.id).execute();
    });
  }

  /**
   * `ws rm` of a workspace still being created: a delete operation that cancels the create and
   * waits for it to undo itself (the create drops the row). If the create finished first, the
   * workspace is deleted as usual. A create that no operation runs any more (cut off by a
   * restart) is rolled back on its node, when that is online.
   */
  private async deleteWhileCreating(user: User, ws: Workspace): Promise<Operation> {
    const create = await this.store.db
      .selectFrom('operations')
      .select('id')
      .where('workspace_id', '=', ws.id)
      .where('kind', '=', 'workspace.create')
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (!create) {
      if (!this.hub.isOnline(ws.nodeId)) {
        throw new BerthError(
          'NODE_OFFLINE',
          `Workspace ${ws.ref} was being created on node ${ws.nodeName} when the server restarted; it is removed once that node is online again.`,
          { field: 'name' },
        );
      }
      return this.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
        op.progress('rolling back the interrupted create', null);
        if (!(await this.rollBackCreates(ws.nodeId)).includes(ws.id)) {
          throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} could not be rolled back now; see \`berth ws show ${ws.ref}\` and retry.`, {
            field: 'name',
          });
        }
      });
    }
    return this.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
      op.progress('cancelling the create', null);
      this.ops.cancel(
        create.id,
        new BerthError('CANCELLED', `Workspace ${ws.ref} was deleted by ${user.name} while it was being created; nothing it made was kept.`),
      );
      const ended = await this.ops.finished(create.id);
      const row = await this.store.db.selectFrom('workspaces').select('status').where('id', '=', ws.id).executeTakeFirst();
      if (!row) {
        op.log(`the create ended (${ended.error?.code ?? ended.status}) and left nothing`);
        return;
      }
      // The create won the race: delete the workspace it made like any other.
      const next = await this.transition(user, ws.ref, 'delete');
      const done = await this.ops.finished(next.id);
      if (done.error) throw BerthError.fromApi(done.error);
    });
  }

  /**
   * `ws rm --force` on an offline node: drops the row and leaves a tombstone, so the node's
   * agent is told to delete the workspace when it connects again (tombstones.ts). Nothing is
   * deleted on the node now: it cannot be reached, and it may be running the workspace still.
   */
  private async forgetOnOfflineNode(user: User, ws: Workspace): Promise<Operation> {
    await this.store.db.transaction().execute(async (tx) => {
      const gone = await tx.deleteFrom('workspaces').where('id', '=', ws.id).where('status', '=', ws.status).executeTakeFirst();
      if (Number(gone.numDeletedRows) !== 1) throw new BerthError('FAILED_PRECONDITION', `Workspace ${ws.ref} changed meanwhile; retry.`, { field: 'name' });
      await tx
        .insertInto('workspace_tombstones')
        .values({ workspace_id: ws.id, node_id: ws.nodeId, name: `${ws.owner}/${ws.name}`, removed_at: new Date().toISOString() })
        .execute();
    });
    return this.ops.start({ kind: 'workspace.delete', target: workspaceTarget(ws.owner, ws.name), workspaceId: ws.id, createdBy: user.id }, async (op) => {
      op.log(`node ${ws.nodeName} is offline: removed berth's record only; the node's agent deletes the workspace when it returns`);
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

  private async setStatus(id: string, status: WorkspaceStatus, error: ReturnType<typeof toApiError> | null): Promise<void> {
    await this.store.db
      .updateTable('workspaces')
      .set({ status, error_json: error ? JSON.stringify(error) : null, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }
}
