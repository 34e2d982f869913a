/**
 * Node credentials after the join: authenticating an agent, rotating a connected node's
 * credential, and removing a node (which revokes its credential first).
 */
import { BerthError, type CredentialRotated, type NodeDeleted } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../auth/secrets.js';
import type { Store } from '../store/open.js';
import type { NodeRow } from '../store/schema.js';

/** How long a connected agent may take to save a rotated credential. */
const ROTATE_TIMEOUT_MS = 30_000;

/** Rotation, revocation and authentication of node credentials. */
export class NodeCredentials {
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
  ) {}

  /**
   * The node a credential belongs to, or null. A credential being rotated to counts too, and
   * using it finishes the rotation: the agent has proven it holds the new one, so the old
   * one is retired.
   */
  async authenticate(credential: string): Promise<NodeRow | null> {
    const hash = hashSecret(credential);
    const current = await this.store.db.selectFrom('nodes').selectAll().where('credential_hash', '=', hash).executeTakeFirst();
    if (current) return current;
    const pending = await this.store.db.selectFrom('node_credential_rotations').selectAll().where('credential_hash', '=', hash).executeTakeFirst();
    if (!pending) return null;
    await this.promote(pending.node_id, hash);
    return (await this.store.db.selectFrom('nodes').selectAll().where('id', '=', pending.node_id).executeTakeFirst()) ?? null;
  }

  /**
   * Gives a connected node a new credential. The order is what keeps a crash at any point
   * from locking the node out:
   *   1. the new credential's hash is recorded as pending; from now on both old and new work;
   *   2. the agent saves the new credential atomically (temporary file + rename) and answers;
   *   3. only then does the new hash replace the old one, retiring the old credential.
   * A crash of the server after 1 or 2 leaves both accepted, and the agent's next connection
   * with the new one finishes step 3 (see authenticate). A crash of the agent before its
   * rename leaves it with the old credential, still current. If the agent's answer is lost,
   * the pending hash stays, for the same reason: the agent may have saved it.
   */
  async rotate(name: string): Promise<CredentialRotated> {
    const node = await this.byName(name);
    if (!this.hub.isConnected(node.id)) {
      throw new BerthError('NODE_OFFLINE', `Node ${name} is not connected, so it cannot receive a new credential; start its agent and retry.`, {
        field: 'name',
      });
    }
    const credential = newSecret(SECRET_PREFIX.nodeCredential);
    const hash = hashSecret(credential);
    const now = new Date().toISOString();
    await this.store.db
      .insertInto('node_credential_rotations')
      .values({ node_id: node.id, credential_hash: hash, created_at: now })
      .onConflict((oc) => oc.column('node_id').doUpdateSet({ credential_hash: hash, created_at: now }))
      .execute();
    await this.hub.request(node.id, 'credential.rotate', { credential }, ROTATE_TIMEOUT_MS);
    await this.promote(node.id, hash);
    return { node: node.name, rotatedAt: new Date().toISOString() };
  }

  /**
   * Removes a node. Its credential is revoked first (the hash replaced by one no secret has,
   * and the socket closed), so the agent cannot act in the moments before the row goes. With
   * workspaces on it the removal is refused, unless `force`: then their rows are deleted too,
   * and whatever still runs on that machine is left to its agent's reaper or its admin.
   */
  async remove(name: string, force: boolean, beforeRevoke?: (nodeId: string) => Promise<boolean>): Promise<NodeDeleted> {
    const node = await this.byName(name);
    const workspaces = await this.store.db.selectFrom('workspaces').select(['id', 'name']).where('node_id', '=', node.id).orderBy('name').execute();
    if (workspaces.length > 0 && !force) {
      const names = workspaces.map((w) => w.name).join(', ');
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Node ${name} still has ${workspaces.length} workspace(s): ${names}. Remove them (\`berth ws rm\`) first, or pass --force to forget them (their containers or VMs on that machine are then left to its admin).`,
        { field: 'name' },
      );
    }
    // Whatever must happen on the machine (uninstalling an agent added over SSH) comes before
    // the revocation: if it fails, the node is still as it was and the remove can be retried.
    const uninstalled = (await beforeRevoke?.(node.id)) ?? false;
    await this.store.db
      .updateTable('nodes')
      .set({ credential_hash: `revoked:${node.id}` })
      .where('id', '=', node.id)
      .execute();
    await this.store.db.deleteFrom('node_credential_rotations').where('node_id', '=', node.id).execute();
    this.hub.revoke(node.id);
    await this.store.db.transaction().execute(async (tx) => {
      if (workspaces.length) await tx.deleteFrom('workspaces').where('node_id', '=', node.id).execute();
      await tx.deleteFrom('nodes').where('id', '=', node.id).execute();
    });
    return { node: node.name, deletedWorkspaces: workspaces.map((w) => w.name), uninstalled };
  }

  private async promote(nodeId: string, hash: string): Promise<void> {
    await this.store.db.transaction().execute(async (tx) => {
      const pending = await tx.selectFrom('node_credential_rotations').select('credential_hash').where('node_id', '=', nodeId).executeTakeFirst();
      if (pending?.credential_hash !== hash) return;
      await tx.updateTable('nodes').set({ credential_hash: hash }).where('id', '=', nodeId).execute();
      await tx.deleteFrom('node_credential_rotations').where('node_id', '=', nodeId).execute();
    });
  }

  private async byName(name: string): Promise<NodeRow> {
    const node = await this.store.db.selectFrom('nodes').selectAll().where('name', '=', name).executeTakeFirst();
    if (!node) throw new BerthError('NOT_FOUND', `No node named ${name}; see \`berth node ls\`.`, { field: 'name' });
    return node;
  }
}
