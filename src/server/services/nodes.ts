/**
 * Nodes: minting join tokens, trading one for a node credential, listing nodes, and
 * authenticating an agent's credential.
 */
import { randomUUID } from 'node:crypto';
import { BerthError, type JoinToken, type Node, type NodeCredential, type User } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../auth/secrets.js';
import { nodeToApi } from '../convert/to-api.js';
import type { Store } from '../store/open.js';
import type { NodesTable } from '../store/schema.js';

/** Node registry. */
export class NodesService {
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
  ) {}

  /** A single-use join token, valid for `ttlSeconds`. */
  async mintJoinToken(by: User, ttlSeconds: number): Promise<JoinToken> {
    const token = newSecret(SECRET_PREFIX.joinToken);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    await this.store.db
      .insertInto('join_tokens')
      .values({ id: randomUUID(), token_hash: hashSecret(token), created_by: by.id, created_at: now.toISOString(), expires_at: expiresAt, used_at: null, used_by_node: null })
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
      if (jt.used_at) throw new BerthError('UNAUTHENTICATED', 'That join token was already used; each token joins one node. Mint a new one with `berth node join-token`.', { field: 'token' });
      if (jt.expires_at <= now) throw new BerthError('UNAUTHENTICATED', 'That join token has expired; mint a new one with `berth node join-token`.', { field: 'token' });
      const taken = await tx.selectFrom('nodes').select('id').where('name', '=', name).executeTakeFirst();
      if (taken) throw new BerthError('ALREADY_EXISTS', `A node named ${name} already exists; start the agent with another --name.`, { field: 'name' });
      const used = await tx.updateTable('join_tokens').set({ used_at: now, used_by_node: nodeId }).where('id', '=', jt.id).where('used_at', 'is', null).executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw new BerthError('UNAUTHENTICATED', 'That join token was already used; mint a new one with `berth node join-token`.', { field: 'token' });
      await tx
        .insertInto('nodes')
        .values({ id: nodeId, name, credential_hash: hashSecret(credential), created_at: now, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
        .execute();
    });
    return { nodeId, nodeName: name, credential };
  }

  /** The node a credential belongs to, or null. */
  async authenticate(credential: string): Promise<NodesTable | null> {
    return (await this.store.db.selectFrom('nodes').selectAll().where('credential_hash', '=', hashSecret(credential)).executeTakeFirst()) ?? null;
  }

  /** Every node with its live status. */
  async list(): Promise<Node[]> {
    const rows = await this.store.db.selectFrom('nodes').selectAll().orderBy('name').execute();
    const counts = await this.workspaceCounts();
    return rows.map((r) => nodeToApi(r, { online: this.hub.isOnline(r.id), workspaces: counts.get(r.id) ?? 0 }));
  }

  private async workspaceCounts(): Promise<Map<string, number>> {
    const rows = await this.store.db.selectFrom('workspaces').select(['node_id']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('node_id').execute();
    return new Map(rows.map((r) => [r.node_id, Number(r.n)]));
  }
}
