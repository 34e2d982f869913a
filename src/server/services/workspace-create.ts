/**
 * Creating a workspace: validation against templates, quotas and names; placement and the
 * `creating` row that reserves the node's room (one create at a time); then the node's create
 * as an operation, which leaves nothing behind when it fails or is cancelled.
 */
import { randomUUID } from 'node:crypto';
import type { OpContext } from '../../api/index.js';
import {
  BerthError,
  fromZodError,
  type Operation,
  type PlacementStrategy,
  parseConstraint,
  parseSize,
  toApiError,
  type User,
  type Workspace,
  type WorkspaceCreateBody,
  workspaceCreateSchema,
} from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { Operations } from '../operations/operations.js';
import { chooseNode } from '../scheduler/choose.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import type { WorkspacesTable } from '../store/schema.js';
import type { CreateRules } from './config/create-rules.js';
import type { NodesService } from './nodes.js';
import { withSpecDefaults } from './spec/stored-spec.js';
import { checkTeamForCreate } from './teams-quota.js';
import { workspaceTarget } from './workspace-resolve.js';
import { setWorkspaceStatus } from './workspace-status.js';

/** The image a workspace gets when none is named: the one the quickstart builds. */
export const DEFAULT_IMAGE = 'base';

/** What a create reads from the workspace service; rules and afterCreate are read at each create (set after construction). */
export interface CreateContext {
  readonly store: Store;
  readonly hub: AgentHub;
  readonly ops: Operations;
  readonly nodes: NodesService;
  /** The placement strategy given at start-up (`berth server --placement`), unless the configuration sets one. */
  readonly placement: PlacementStrategy;
  /** Templates, quotas and the placement setting (config/create-rules.ts). */
  readonly rules: CreateRules | null;
  /** Runs after a create succeeded, in its operation (dotfiles). */
  readonly afterCreate: ((op: OpContext, user: User, ws: { id: string; name: string; nodeId: string }) => Promise<void>) | null;
  /** The created workspace as its creator sees it. */
  get(user: User, ref: string): Promise<Workspace>;
}

/** Workspace creates, placed one at a time. */
export class WorkspaceCreator {
  /** The tail of the one-at-a-time placement queue (see create). */
  private placing: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: CreateContext) {}

  /**
   * Validates, places and records a workspace, then creates it on its node in the background.
   * The image is looked up on the chosen node first: an image the node does not have is
   * NOT_FOUND here, before any row, operation or engine object exists.
   */
  async create(user: User, input: WorkspaceCreateBody): Promise<{ workspace: Workspace; operation: Operation }> {
    // The spec is checked again here with the CLI's schema: a client is never trusted.
    const parsed = workspaceCreateSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const body = withSpecDefaults(this.ctx.rules ? await this.ctx.rules.withTemplate(parsed.data) : parsed.data);
    // Teams and sharing: the team must exist and have the caller as a member (quotas are checked at placement).
    const team = body.team ? await checkTeamForCreate(this.ctx.store, user, body.team) : null;
    // A team's workspaces are unique by name within the team too (its members all see them).
    if (
      team &&
      (await this.ctx.store.db.selectFrom('workspaces').select('id').where('team_id', '=', team.id).where('name', '=', body.name).executeTakeFirst())
    ) {
      throw new BerthError('ALREADY_EXISTS', `Team ${body.team} already has a workspace named ${body.name}; pick another name.`, { field: 'name' });
    }
    // Names are unique per owner: only the caller's own workspaces can clash (nobody learns of another's).
    const existing = await this.ctx.store.db
      .selectFrom('workspaces')
      .select('id')
      .where('owner_id', '=', user.id)
      .where('name', '=', body.name)
      .executeTakeFirst();
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
    const operation = await this.ctx.ops.start(
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
          const { status } = await this.ctx.hub.requestForOp(node.id, 'workspace.create', { opId: op.id, spec, project: body.spec ?? null }, op.signal);
          // A cancel that arrived as the node finished still wins: the user asked for nothing to remain.
          op.signal.throwIfAborted();
          await setWorkspaceStatus(this.ctx.store, row.id, status, null);
          if (this.ctx.afterCreate && status === 'running') await this.ctx.afterCreate(op, user, { id: row.id, name: row.name, nodeId: node.id });
        } catch (err) {
          // A failed or cancelled create leaves nothing: the agent cleans up what it made; we drop the row.
          if (op.signal.aborted) op.progress('cancelling', null);
          const cleaned = await this.ctx.hub.request(node.id, 'workspace.delete', { opId: op.id, workspaceId: row.id }, 60_000).then(
            () => true,
            () => false,
          );
          await this.ctx.store.db.transaction().execute(async (tx) => {
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
    return { workspace: await this.ctx.get(user, row.name), operation };
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
    await this.ctx.rules?.checkQuota(user, body.cpus ?? null, memoryBytes);
    const node = await chooseNode(this.ctx.nodes, this.ctx.hub, {
      provider: body.provider,
      image: body.image ?? DEFAULT_IMAGE,
      cpus: body.cpus ?? null,
      memoryBytes,
      constraints: (body.constraints ?? []).map(parseConstraint),
      node: body.node,
      strategy: this.ctx.rules ? await this.ctx.rules.placement(this.ctx.placement) : this.ctx.placement,
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
      await this.ctx.store.db.insertInto('workspaces').values(row).execute();
    } catch (err) {
      // Two creates with one name can race past the check above; the unique index decides.
      if (isUniqueViolation(err)) {
        throw new BerthError('ALREADY_EXISTS', `You already have a workspace named ${body.name}; pick another name.`, { field: 'name' });
      }
      throw err;
    }
    return { node, row };
  }
}
