/**
 * Workspaces: placement, the lifecycle as operations, and the rules about which transition is
 * allowed from which state. One operation at a time per workspace: a workspace in a
 * transitional state refuses new mutations until the running one is done.
 */
import { randomUUID } from 'node:crypto';
import {
  BerthError,
  parseSize,
  toApiError,
  type Operation,
  type User,
  type Workspace,
  type WorkspacesPost,
  type WorkspaceStatus,
  type SshGateway,
  workspacesPostSchema,
} from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import { workspaceToApi } from '../convert/to-api.js';
import type { Operations } from '../operations/operations.js';
import { placeWorkspace } from '../scheduler/place.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import type { WorkspacesTable } from '../store/schema.js';
import type { NodesService } from './nodes.js';

/** The image a workspace gets when none is named: the one the quickstart builds. */
export const DEFAULT_IMAGE = 'base';
const DEFAULT_STOP_TIMEOUT_S = 10;

type Transition = 'start' | 'stop' | 'restart' | 'delete';
const TRANSITIONAL: WorkspaceStatus[] = ['creating', 'starting', 'stopping', 'restarting', 'deleting'];

/** Workspace lifecycle. */
export class WorkspacesService {
  /** The SSH gateway clients should use, set by the server once it listens; null when it is off. */
  sshGateway: SshGateway | null = null;

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Settles rows a previous server process left mid-operation. A create that was cut off is
   * marked failed (its node may hold part of it; `ws rm` cleans up); any other transition
   * becomes `unknown` until the node's next report says what the workspace really is.
   */
  async recoverInterrupted(): Promise<number> {
    const now = new Date().toISOString();
    const error = JSON.stringify({ code: 'INTERNAL', message: 'The server restarted while this workspace was being created; remove it with `berth ws rm` and create it again.' });
    const created = await this.store.db.updateTable('workspaces').set({ status: 'failed', error_json: error, updated_at: now }).where('status', '=', 'creating').executeTakeFirst();
    const others = await this.store.db
      .updateTable('workspaces')
      .set({ status: 'unknown', updated_at: now })
      .where('status', 'in', TRANSITIONAL.filter((t) => t !== 'creating'))
      .executeTakeFirst();
    return Number(created.numUpdatedRows) + Number(others.numUpdatedRows);
  }

  /** Workspaces the caller may see. */
  async list(user: User): Promise<Workspace[]> {
    let q = this.baseQuery();
    if (user.role !== 'admin') q = q.where('workspaces.owner_id', '=', user.id);
    const rows = await q.orderBy('workspaces.name').execute();
    return rows.map((r) => workspaceToApi(r, r, this.sshGateway));
  }

  /**
   * One workspace by name. Someone else's workspace answers exactly like a missing one, so
   * names do not leak; the attempt is audited as a denial.
   */
  async get(user: User, name: string, via: { sourceIp?: string } = {}): Promise<Workspace> {
    const row = await this.baseQuery().where('workspaces.name', '=', name).executeTakeFirst();
    if (row && user.role !== 'admin' && row.owner_id !== user.id) {
      await this.audit.record({ actorId: user.id, actorName: user.name, action: 'workspace.access', target: `workspace/${name}`, outcome: 'denied', sourceIp: via.sourceIp, detail: 'not the owner' });
    }
    if (!row || (user.role !== 'admin' && row.owner_id !== user.id)) {
      throw new BerthError('NOT_FOUND', `No workspace named ${name}; see \`berth ws ls\`.`, { field: 'name' });
    }
    return workspaceToApi(row, row, this.sshGateway);
  }

  /** Validates, places and records a workspace, then creates it on its node in the background. */
  async create(user: User, input: WorkspacesPost): Promise<{ workspace: Workspace; operation: Operation }> {
    const body = workspacesPostSchema.parse(input);
    const existing = await this.store.db.selectFrom('workspaces').select('id').where('name', '=', body.name).executeTakeFirst();
    if (existing) throw new BerthError('ALREADY_EXISTS', `A workspace named ${body.name} already exists; pick another name or remove it with \`berth ws rm ${body.name}\`.`, { field: 'name' });
    const node = placeWorkspace(await this.nodes.list(), body.provider, body.node);
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
      memory_bytes: body.memory ? parseSize(body.memory)! : null,
      error_json: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.store.db.insertInto('workspaces').values(row).execute();
    } catch (err) {
      // Two creates with one name can race past the check above; the unique index decides.
      if (isUniqueViolation(err)) {
        throw new BerthError('ALREADY_EXISTS', `A workspace named ${body.name} already exists; pick another name.`, { field: 'name' });
      }
      throw err;
    }
    const operation = await this.ops.start({ kind: 'workspace.create', target: `workspace/${row.name}`, workspaceId: row.id, createdBy: user.id }, async (op) => {
      op.progress('scheduled', null);
      op.log(`placed on node ${node.name}`);
      try {
        const spec = { id: row.id, name: row.name, provider: row.provider, image: row.image, cpus: row.cpus, memoryBytes: row.memory_bytes, env: {} };
        const { status } = await this.hub.request(node.id, 'workspace.create', { opId: op.id, spec });
        await this.setStatus(row.id, status, null);
      } catch (err) {
        // A failed create leaves nothing: the agent cleans up what it made; we drop the row.
        await this.hub.request(node.id, 'workspace.delete', { opId: op.id, workspaceId: row.id }, 60_000).catch(() => {});
        await this.store.db.deleteFrom('workspaces').where('id', '=', row.id).execute();
        throw err;
      }
    });
    return { workspace: await this.get(user, row.name), operation };
  }

  /** Starts, stops, restarts or deletes a workspace as an operation. */
  async transition(user: User, name: string, what: Transition, opts: { timeoutSeconds?: number; force?: boolean } = {}): Promise<Operation> {
    const ws = await this.get(user, name);
    if (TRANSITIONAL.includes(ws.status)) {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is ${ws.status}; wait for that to finish and retry.`, { field: 'name' });
    }
    if (what === 'start' && ws.status === 'running') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already running.`, { field: 'name' });
    if (what === 'stop' && ws.status === 'stopped') throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is already stopped.`, { field: 'name' });
    if (!this.hub.isOnline(ws.nodeId)) {
      throw new BerthError('NODE_OFFLINE', `Workspace ${name} is on node ${ws.nodeName}, which is offline; start its agent and retry.`, { field: 'name' });
    }
    const pending: Record<Transition, WorkspaceStatus> = { start: 'starting', stop: 'stopping', restart: 'restarting', delete: 'deleting' };
    const before = ws.status;
    // Claim the workspace atomically: only one caller can move it out of its settled state.
    const claimed = await this.store.db
      .updateTable('workspaces')
      .set({ status: pending[what], updated_at: new Date().toISOString() })
      .where('id', '=', ws.id)
      .where('status', '=', before)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} changed meanwhile; retry.`, { field: 'name' });

    const timeoutSeconds = opts.timeoutSeconds ?? DEFAULT_STOP_TIMEOUT_S;
    return this.ops.start({ kind: `workspace.${what}`, target: `workspace/${name}`, workspaceId: ws.id, createdBy: user.id }, async (op) => {
      try {
        if (what === 'delete') {
          await this.hub.request(ws.nodeId, 'workspace.delete', { opId: op.id, workspaceId: ws.id });
          await this.store.db.deleteFrom('workspaces').where('id', '=', ws.id).execute();
          return;
        }
        const result =
          what === 'start'
            ? await this.hub.request(ws.nodeId, 'workspace.start', { opId: op.id, workspaceId: ws.id })
            : what === 'stop'
              ? await this.hub.request(ws.nodeId, 'workspace.stop', { opId: op.id, workspaceId: ws.id, timeoutSeconds, force: opts.force ?? false })
              : await this.hub.request(ws.nodeId, 'workspace.restart', { opId: op.id, workspaceId: ws.id, timeoutSeconds });
        await this.setStatus(ws.id, result.status, null);
      } catch (err) {
        // Settle on what the node really sees, so the row is never stuck in a -ing state.
        const seen = await this.hub.request(ws.nodeId, 'workspace.inspect', { workspaceId: ws.id }, 15_000).then((r) => r.status, () => before);
        await this.setStatus(ws.id, seen === 'unknown' ? 'failed' : seen, toApiError(err));
        throw err;
      }
    });
  }

  /** The row an exec needs: the workspace must be running on an online node. */
  async forExec(user: User, name: string, via: { sourceIp?: string } = {}): Promise<Workspace> {
    const ws = await this.get(user, name, via);
    if (ws.status !== 'running') {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${name} is ${ws.status}, not running; start it with \`berth ws start ${name}\`.`, { field: 'name' });
    }
    if (!this.hub.isOnline(ws.nodeId)) throw new BerthError('NODE_OFFLINE', `Workspace ${name} is on node ${ws.nodeName}, which is offline.`, { field: 'name' });
    return ws;
  }

  private async setStatus(id: string, status: WorkspaceStatus, error: ReturnType<typeof toApiError> | null): Promise<void> {
    await this.store.db
      .updateTable('workspaces')
      .set({ status, error_json: error ? JSON.stringify(error) : null, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  private baseQuery() {
    return this.store.db
      .selectFrom('workspaces')
      .innerJoin('nodes', 'nodes.id', 'workspaces.node_id')
      .innerJoin('users', 'users.id', 'workspaces.owner_id')
      .selectAll('workspaces')
      .select(['nodes.name as nodeName', 'users.name as ownerName']);
  }
}
