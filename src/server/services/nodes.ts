/**
 * Nodes: minting join tokens, trading one for a node credential, listing nodes with their
 * live status, authenticating an agent's credential, and the placement facts: labels, cordon
 * and what each node's workspaces reserve.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import {
  BerthError,
  DEFAULT_PAGE_LIMIT,
  type JoinToken,
  type Node,
  type NodeCredential,
  type NodeDetail,
  type NodeLabelsPost,
  type NodesQuery,
  nextCursorOf,
  nodeLabelsSchema,
  parseConstraint,
  type User,
} from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { LivenessMonitor } from '../agents/liveness.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../auth/secrets.js';
import { nodeToApi } from '../convert/to-api.js';
import type { PlacementNode } from '../scheduler/place.js';
import type { Store } from '../store/open.js';
import type { NodeRow } from '../store/schema.js';

/** Node registry. */
export class NodesService {
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly liveness: LivenessMonitor,
  ) {}

  /** A single-use join token, valid for `ttlSeconds`. */
  async mintJoinToken(by: User, ttlSeconds: number): Promise<JoinToken> {
    const token = newSecret(SECRET_PREFIX.joinToken);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    await this.store.db
      .insertInto('join_tokens')
      .values({
        id: randomUUID(),
        token_hash: hashSecret(token),
        created_by: by.id,
        created_at: now.toISOString(),
        expires_at: expiresAt,
        used_at: null,
        used_by_node: null,
      })
      .execute();
    return { token, expiresAt };
  }

  /**
   * Trades a join token for a node credential. The token is consumed in the same transaction
   * that creates the node, so two agents racing with one token cannot both join.
   */
  async join(token: string, name: string): Promise<NodeCredential> {
    const credential = newSecret(SECRET_PREFIX.nodeCredential);
    const nodeId = randomUUID();
    const now = new Date().toISOString();
    await this.store.db.transaction().execute(async (tx) => {
      const jt = await tx.selectFrom('join_tokens').selectAll().where('token_hash', '=', hashSecret(token)).executeTakeFirst();
      if (!jt) throw new BerthError('UNAUTHENTICATED', 'That join token is not valid; mint a new one with `berth node join-token`.', { field: 'token' });
      if (jt.used_at)
        throw new BerthError('UNAUTHENTICATED', 'That join token was already used; each token joins one node. Mint a new one with `berth node join-token`.', {
          field: 'token',
        });
      if (jt.expires_at <= now)
        throw new BerthError('UNAUTHENTICATED', 'That join token has expired; mint a new one with `berth node join-token`.', { field: 'token' });
      const taken = await tx.selectFrom('nodes').select('id').where('name', '=', name).executeTakeFirst();
      if (taken) throw new BerthError('ALREADY_EXISTS', `A node named ${name} already exists; start the agent with another --name.`, { field: 'name' });
      const used = await tx
        .updateTable('join_tokens')
        .set({ used_at: now, used_by_node: nodeId })
        .where('id', '=', jt.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1)
        throw new BerthError('UNAUTHENTICATED', 'That join token was already used; mint a new one with `berth node join-token`.', { field: 'token' });
      await tx
        .insertInto('nodes')
        .values({
          id: nodeId,
          name,
          credential_hash: hashSecret(credential),
          created_at: now,
          last_seen_at: null,
          agent_version: null,
          resources_json: null,
          providers_json: '[]',
        })
        .execute();
    });
    return { nodeId, nodeName: name, credential };
  }

  /** The node a credential belongs to, or null. */
  async authenticate(credential: string): Promise<NodeRow | null> {
    return (await this.store.db.selectFrom('nodes').selectAll().where('credential_hash', '=', hashSecret(credential)).executeTakeFirst()) ?? null;
  }

  /**
   * One page of nodes with their live status, in name order after `q.cursor`, filtered by
   * status and one label constraint. `limit: null` lists every node (for the server's own use).
   */
  async list(q: Omit<NodesQuery, 'limit'> & { limit: number | null } = { limit: DEFAULT_PAGE_LIMIT }): Promise<{ nodes: Node[]; nextCursor: string | null }> {
    await this.settleStatuses();
    let sel = this.store.db.selectFrom('nodes').selectAll().orderBy('name');
    if (q.cursor !== undefined) sel = sel.where('name', '>', q.cursor);
    // The recorded status is the live one: settleStatuses has just applied every due change.
    if (q.status !== undefined) sel = sel.where('status', '=', q.status);
    if (q.label !== undefined) {
      const c = parseConstraint(q.label);
      // The key is a checked label key (no quotes), and travels as a bound parameter anyway.
      const value = sql<string | null>`json_extract(labels_json, ${`$."${c.key}"`})`;
      sel = c.op === '=' ? sel.where(value, '=', c.value) : sel.where(value, 'is not', c.value);
    }
    if (q.limit !== null) sel = sel.limit(q.limit + 1);
    const rows = await sel.execute();
    const more = q.limit !== null && rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit!) : rows;
    const counts = await this.workspaceCounts(page.map((r) => r.id));
    return { nodes: page.map((r) => this.toApi(r, counts.get(r.id) ?? 0)), nextCursor: q.limit === null ? null : nextCursorOf(page, q.limit, more) };
  }

  /** Everything about one node: status, labels, providers, reservations, its workspaces. */
  async detail(name: string): Promise<NodeDetail> {
    await this.settleStatuses();
    const row = await this.row(name);
    const workspaces = await this.store.db
      .selectFrom('workspaces')
      .innerJoin('users', 'users.id', 'workspaces.owner_id')
      .select(['workspaces.name', 'users.name as owner', 'workspaces.status', 'workspaces.provider', 'workspaces.cpus', 'workspaces.memory_bytes'])
      .where('workspaces.node_id', '=', row.id)
      .orderBy('workspaces.name')
      .execute();
    const node = this.toApi(row, workspaces.length);
    const reserved = { cpus: workspaces.reduce((a, w) => a + (w.cpus ?? 0), 0), memoryBytes: workspaces.reduce((a, w) => a + Number(w.memory_bytes ?? 0), 0) };
    const free = node.resources ? { cpus: node.resources.cpus - reserved.cpus, memoryBytes: node.resources.memoryBytes - reserved.memoryBytes } : null;
    return {
      node,
      reserved,
      free,
      workspaces: workspaces.map((w) => ({
        name: w.name,
        owner: w.owner,
        status: w.status as NodeDetail['workspaces'][number]['status'],
        provider: w.provider,
        cpus: w.cpus,
        memoryBytes: w.memory_bytes === null ? null : Number(w.memory_bytes),
      })),
    };
  }

  /** Sets and removes labels; the result must stay within the label bounds. */
  async label(name: string, edit: Required<NodeLabelsPost>): Promise<Node> {
    const row = await this.row(name);
    const labels: Record<string, string> = { ...(JSON.parse(row.labels_json) as Record<string, string>) };
    for (const key of edit.remove) delete labels[key];
    for (const [k, v] of Object.entries(edit.set)) labels[k] = v;
    const checked = nodeLabelsSchema.safeParse(labels);
    if (!checked.success)
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Node ${name} would carry too many labels: ${checked.error.issues[0]?.message ?? 'invalid labels'}; remove some first.`,
        { field: 'labels' },
      );
    await this.store.db
      .updateTable('nodes')
      .set({ labels_json: JSON.stringify(labels) })
      .where('id', '=', row.id)
      .execute();
    return this.one(name);
  }

  /** Cordons (true) or uncordons (false) a node: a cordoned node gets no new workspaces. */
  async setCordoned(name: string, cordoned: boolean): Promise<Node> {
    const row = await this.row(name);
    await this.store.db
      .updateTable('nodes')
      .set({ cordoned: cordoned ? 1 : 0 })
      .where('id', '=', row.id)
      .execute();
    return this.one(name);
  }

  /** One node as users see it. */
  async one(name: string): Promise<Node> {
    const row = await this.row(name);
    return this.toApi(row, (await this.workspaceCounts([row.id])).get(row.id) ?? 0);
  }

  /**
   * During the grace after a server restart, waits (at most until the grace ends) for the agent
   * of a node that was online before the restart to connect again, so a request that arrives
   * in that window is served rather than refused with NODE_OFFLINE. Returns at once otherwise.
   */
  async awaitAgent(nodeId: string): Promise<void> {
    if (this.hub.isOnline(nodeId) || this.liveness.startGraceLeftMs() <= 0) return;
    const row = await this.store.db.selectFrom('nodes').select('status').where('id', '=', nodeId).executeTakeFirst();
    if (row?.status !== 'online') return;
    while (!this.hub.isOnline(nodeId) && this.liveness.startGraceLeftMs() > 0) {
      await new Promise((r) => setTimeout(r, Math.min(100, this.liveness.startGraceLeftMs())));
    }
  }

  /**
   * What the scheduler needs of every node. A node counts as online for placement only while
   * its agent is connected too: during the grace after a server restart a node shows the status
   * it had before, and placement first waits for such nodes' agents (awaitAgent).
   */
  async placementNodes(onlyName?: string): Promise<PlacementNode[]> {
    // With a node named (`ws create --node`), only that node's facts matter: no need to read
    // every node and every workspace of a large fleet.
    let nodeRows = this.store.db.selectFrom('nodes').selectAll().orderBy('name');
    if (onlyName !== undefined) nodeRows = nodeRows.where('name', '=', onlyName);
    if (this.liveness.startGraceLeftMs() > 0) {
      const ids = await nodeRows.execute();
      await Promise.all(ids.map((r) => this.awaitAgent(r.id)));
    }
    const rows = await nodeRows.execute();
    let sums = this.store.db.selectFrom('workspaces');
    if (onlyName !== undefined) sums = sums.where('node_id', 'in', rows.length ? rows.map((r) => r.id) : ['']);
    const res = await sums
      .select(['node_id'])
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(eb.fn.coalesce('cpus', eb.lit(0))).as('cpus'),
        eb.fn.sum<number>(eb.fn.coalesce('memory_bytes', eb.lit(0))).as('mem'),
      ])
      .groupBy('node_id')
      .execute();
    const byNode = new Map(res.map((r) => [r.node_id, r]));
    return rows.map((r) => {
      const api = this.toApi(r, 0);
      const agg = byNode.get(r.id);
      return {
        id: r.id,
        name: r.name,
        online: api.status === 'online' && this.hub.isOnline(r.id),
        cordoned: api.cordoned,
        labels: api.labels,
        providers: api.providers,
        resources: api.resources ? { cpus: api.resources.cpus, memoryBytes: api.resources.memoryBytes } : null,
        reserved: { cpus: Number(agg?.cpus ?? 0), memoryBytes: Number(agg?.mem ?? 0) },
        workspaces: Number(agg?.n ?? 0),
        image: 'unchecked' as const,
      };
    });
  }

  private toApi(r: NodeRow, workspaces: number): Node {
    // last_seen_at is written only now and then (hub.ts); the live figure is in memory.
    const heard = this.liveness.lastHeardAt(r.id);
    return { ...nodeToApi(r, { status: this.liveness.statusOf(r.id, r.status), workspaces }), ...(heard ? { lastSeenAt: heard } : {}) };
  }

  /**
   * Applies any status change that is due now instead of at the monitor's next tick, so a node
   * shown offline always comes with its workspaces already fenced as unknown.
   */
  private async settleStatuses(): Promise<void> {
    await this.liveness.check();
  }

  private async row(name: string): Promise<NodeRow> {
    const row = await this.store.db.selectFrom('nodes').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new BerthError('NOT_FOUND', `No node named ${name}; see \`berth node ls\`.`, { field: 'name' });
    return row;
  }

  /** How many workspaces each of these nodes has (an index range per node: workspaces_node_name). */
  private async workspaceCounts(nodeIds: string[]): Promise<Map<string, number>> {
    if (nodeIds.length === 0) return new Map();
    const rows = await this.store.db
      .selectFrom('workspaces')
      .select(['node_id'])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('node_id', 'in', nodeIds)
      .groupBy('node_id')
      .execute();
    return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
  }
}
