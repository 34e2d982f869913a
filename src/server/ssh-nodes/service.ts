/**
 * `berth node add ssh://USER@HOST`: the server logs in to the machine with the key the CLI
 * sent (for this operation only; it is never stored), checks the host, installs or upgrades
 * the agent bundle and its launcher, mints a join token for it, starts it, and succeeds once
 * the node is online. The server does this rather than the CLI because it has the pooled SSH
 * transport, mints the token itself, and is the machine the node must reach — a laptop that
 * can reach the node but not the server (or the reverse) finds out here, not later.
 *
 * A failed add leaves nothing: on a fresh host the agent and its files are removed, the join
 * token is deleted and a node row the agent made by joining is dropped.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  BerthError,
  formatConnectString,
  formatSshTarget,
  nodeLabelsSchema,
  nodeNameFromHost,
  type nodesSshPostSchema,
  type Operation,
  type SshHostFacts,
  type User,
} from '../../api/index.js';
import { SshTransport } from '../../transport/index.js';
import type { AgentHub } from '../agents/hub.js';
import { hashSecret } from '../auth/secrets.js';
import type { Operations, OpReporter } from '../operations/operations.js';
import type { NodesService } from '../services/nodes.js';
import type { Store } from '../store/open.js';
import type { NodeRow } from '../store/schema.js';
import { assertHostUsable, describeHost, providerOutlook } from './host-probe.js';
import { agentConfig, LAUNCHER_PATH, LOG_PATH, UNIT_NAME } from './layout.js';
import {
  type AgentFiles,
  agentLogTail,
  backupInstall,
  dropBackup,
  installFiles,
  probeHost,
  restoreInstall,
  startAgent,
  uninstallAgent,
  writeJoinToken,
} from './remote.js';

type NodesSshPost = z.output<typeof nodesSshPostSchema>;

/** What one add works with once the host is checked. */
interface AddContext {
  op: OpReporter;
  body: NodesSshPost;
  t: SshTransport;
  files: Omit<AgentFiles, 'config'>;
  facts: SshHostFacts;
  started: number;
  /** The host key fingerprint the connection saw (and accepted). */
  fingerprint: string;
}

/** How long the agent has to join and connect once started (BERTH_NODE_ADD_TIMEOUT_MS overrides). */
const ONLINE_TIMEOUT_MS = Number(process.env.BERTH_NODE_ADD_TIMEOUT_MS ?? 60_000);
/** The join token minted for one add lives this long: enough for the agent to start. */
const JOIN_TOKEN_TTL_SECONDS = 600;

/** Where the agent bundle is: BERTH_AGENT_BUNDLE, else dist/agent-bundle next to the server's compiled code. */
export function defaultAgentBundlePath(): string {
  return process.env.BERTH_AGENT_BUNDLE || fileURLToPath(new URL('../../agent-bundle/berth-agent.mjs', import.meta.url));
}

/** Adds and upgrades nodes over SSH. */
export class SshNodesService {
  /** host:port of the adds running now: two at once on one machine would trip over each other's files. */
  private readonly busy = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
    private readonly log: Logger,
    /** The fingerprint clients pin when this server serves TLS; the agent bundle to install. */
    private readonly settings: { caFingerprint?: string; bundlePath?: string } = {},
  ) {}

  private get bundlePath(): string {
    return this.settings.bundlePath ?? defaultAgentBundlePath();
  }

  /** Starts the add (or in-place upgrade) as an operation; input errors and a missing bundle fail before it starts. */
  async add(user: User, body: NodesSshPost): Promise<Operation> {
    if (body.serverUrl.startsWith('https:') && !this.settings.caFingerprint) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${body.serverUrl} is https, but this server does not serve TLS itself, so it has no CA for the node to pin; give --server-url the URL this server listens on.`,
        { field: 'serverUrl' },
      );
    }
    const pinned = await this.store.db.selectFrom('ssh_nodes').selectAll().where('host', '=', body.host).where('port', '=', body.port).executeTakeFirst();
    const expected = body.hostKeyFingerprint ?? pinned?.host_key_fingerprint;
    let seen: string | undefined;
    // Constructing the transport parses the key: an unreadable key is INVALID_ARGUMENT here.
    const transport = new SshTransport({
      host: body.host,
      port: body.port,
      username: body.user,
      privateKey: body.privateKey,
      passphrase: body.passphrase,
      hostVerifier: (_key, fingerprint) => {
        seen = fingerprint;
        return expected === undefined || fingerprint === expected;
      },
      connectTimeoutMs: 15_000,
      maxConnections: 1,
    });
    let files: Omit<AgentFiles, 'config'>;
    try {
      files = await this.readBundle();
    } catch (err) {
      await transport.close();
      throw err;
    }
    if (body.name) {
      const taken = await this.store.db.selectFrom('nodes').select('id').where('name', '=', body.name).executeTakeFirst();
      if (taken && taken.id !== pinned?.node_id) {
        await transport.close();
        throw new BerthError('ALREADY_EXISTS', `A node named ${body.name} already exists; choose another --name.`, { field: 'name' });
      }
    }
    const where = formatSshTarget({ user: body.user, host: body.host, port: body.port });
    const address = `${body.host}:${body.port}`;
    const running = this.busy.get(address);
    if (running) {
      await transport.close();
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${where} is being added already (operation ${running}); wait for it to finish or cancel it with \`berth op cancel ${running}\`.`,
        { field: 'host' },
      );
    }
    this.busy.set(address, 'starting');
    try {
      const op = await this.ops.start({ kind: 'node.add', target: `node/${body.name ?? body.host}`, createdBy: user.id }, async (op) => {
        this.busy.set(address, op.id);
        try {
          await this.run(op, body, where, transport, files, () => ({ seen, pinned: expected !== undefined }), user);
        } finally {
          this.busy.delete(address);
          await transport.close();
        }
      });
      return op;
    } catch (err) {
      this.busy.delete(address);
      await transport.close();
      throw err;
    }
  }

  private async readBundle(): Promise<Omit<AgentFiles, 'config'>> {
    try {
      const bundle = await readFile(this.bundlePath);
      const sourceMap = await readFile(`${this.bundlePath}.map`).catch(() => null);
      return { bundle, sourceMap, berthIn: await this.readBerthIn() };
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The agent bundle ${this.bundlePath} is missing (${(err as NodeJS.ErrnoException).code}); build it with \`npm run build\` in the berth checkout, or point BERTH_AGENT_BUNDLE at it.`,
        {
          cause: err,
        },
      );
    }
  }

  /** berth-in, which the agent copies into workspaces: dist/native beside the agent bundle's folder (BERTH_IN_BINARY overrides). */
  private async readBerthIn(): Promise<AgentFiles['berthIn']> {
    const path = process.env.BERTH_IN_BINARY || join(dirname(this.bundlePath), '../native/berth-in');
    try {
      const [binary, version] = await Promise.all([readFile(path), readFile(`${path}.version`, 'utf8')]);
      return { binary, version: version.trim() };
    } catch (err) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The berth-in build ${path} is missing (${(err as NodeJS.ErrnoException).code}); build it with \`npm run build\` in the berth checkout (it needs Go: apt-get install golang-go).`,
        { cause: err },
      );
    }
  }

  private async run(
    op: OpReporter,
    body: NodesSshPost,
    where: string,
    t: SshTransport,
    files: Omit<AgentFiles, 'config'>,
    hostKey: () => { seen?: string; pinned: boolean },
    user: User,
  ): Promise<void> {
    const started = Date.now();
    op.progress('checking the host', 0.05);
    const facts = await probeHost(t);
    const key = hostKey();
    op.log(
      key.pinned
        ? `Host key of ${where}: ${key.seen} (matches the pinned key).`
        : `Host key of ${where}: ${key.seen} (accepted on first use and pinned from now on; to check it yourself, pass --host-key-fingerprint ${key.seen}).`,
    );
    op.log(describeHost(facts));
    for (const line of providerOutlook(facts)) op.log(line);
    assertHostUsable(facts, where);
    op.signal.throwIfAborted();

    const existing = facts.joinedNodeId
      ? await this.store.db.selectFrom('nodes').selectAll().where('id', '=', facts.joinedNodeId).executeTakeFirst()
      : undefined;
    if (facts.joinedNodeId && !existing) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${where} already holds the state of node ${facts.joinedNodeId}, which this server does not know (it joined another server, or was removed). Remove it there with \`${LAUNCHER_PATH} uninstall\` and run \`berth node add\` again.`,
        { field: 'host' },
      );
    }
    if (existing && body.name && body.name !== existing.name) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `${where} is already node ${existing.name}; run \`berth node add\` without --name (or with --name ${existing.name}) to upgrade it.`,
        { field: 'name' },
      );
    }
    const name = existing?.name ?? body.name ?? nodeNameFromHost(facts.hostname);
    if (!existing && (await this.store.db.selectFrom('nodes').select('id').where('name', '=', name).executeTakeFirst())) {
      throw new BerthError('ALREADY_EXISTS', `A node named ${name} already exists; give this machine another name with --name.`, { field: 'name' });
    }
    await this.ops.retarget(op.id, `node/${name}`);
    op.log(existing ? `Upgrading node ${name} in place (same identity, new agent).` : `Installing the agent as node ${name}.`);
    const ctx: AddContext = { op, body, t, files, facts, started, fingerprint: key.seen ?? '' };
    return existing ? this.upgrade(ctx, existing) : this.install(ctx, name, user);
  }

  /** A fresh host: install, join with a new token, wait for online; undo everything on failure. */
  private async install({ op, body, t, files, facts, started, fingerprint }: AddContext, name: string, user: User): Promise<void> {
    let tokenHash: string | undefined;
    try {
      op.progress('uploading the agent', 0.2);
      await installFiles(t, { ...files, config: agentConfig({ serverUrl: body.serverUrl, name }) }, facts);
      const token = await this.nodes.mintJoinToken(user, JOIN_TOKEN_TTL_SECONDS);
      tokenHash = hashSecret(token.token);
      // The one-string form names the server and, for https, the CA fingerprint the agent pins
      // before it sends the token anywhere.
      await writeJoinToken(
        t,
        formatConnectString({
          kind: 'join',
          server: body.serverUrl,
          secret: token.token,
          fingerprint: body.serverUrl.startsWith('https:') ? this.settings.caFingerprint : undefined,
        }),
      );
      op.progress('starting the agent', 0.6);
      await startAgent(t);
      op.log(serviceNote(facts));
      op.progress('waiting for the node to come online', 0.7);
      const nodeId = await this.waitFor(
        op,
        'join',
        async () =>
          (await this.store.db.selectFrom('join_tokens').select('used_by_node').where('token_hash', '=', tokenHash!).executeTakeFirst())?.used_by_node,
        t,
        facts,
      );
      await this.waitFor(op, 'come online', async () => this.hub.isOnline(nodeId), t, facts);
      await this.remember(nodeId, body, facts, fingerprint);
      op.log(`Node ${name} is online after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    } catch (err) {
      op.log(`Removing what this add made on ${t.description}.`);
      await uninstallAgent(t).catch((e: unknown) => op.log(`Could not remove the agent: ${(e as Error).message}`));
      if (tokenHash) await this.revoke(tokenHash);
      throw err;
    }
  }

  /**
   * A host that already is this node: new bundle and launcher, agent restarted, same identity.
   * The previous files are kept until the new agent is online; a failed upgrade puts them back
   * and restarts the agent that was there.
   */
  private async upgrade({ op, body, t, files, facts, started, fingerprint }: AddContext, node: NodeRow): Promise<void> {
    op.progress('uploading the agent', 0.2);
    await backupInstall(t);
    let reconnected = false;
    const stop = this.hub.onNodeConnected((id) => {
      if (id === node.id) reconnected = true;
    });
    try {
      await installFiles(t, { ...files, config: agentConfig({ serverUrl: body.serverUrl, name: node.name }) }, facts);
      op.progress('restarting the agent', 0.6);
      await startAgent(t);
      op.log(serviceNote(facts));
      op.progress('waiting for the node to come online', 0.7);
      await this.waitFor(op, 'reconnect', async () => reconnected && this.hub.isOnline(node.id), t, facts);
    } catch (err) {
      op.log(`The upgrade failed; putting the previous agent back on ${t.description}.`);
      await restoreInstall(t)
        .then(() => startAgent(t))
        .catch((e: unknown) => op.log(`Could not put the previous agent back: ${(e as Error).message}`));
      throw err;
    } finally {
      stop();
    }
    await dropBackup(t);
    await this.remember(node.id, body, facts, fingerprint);
    op.log(`Node ${node.name} is online with the new agent after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  }

  /** Polls `check` until it yields, the operation is cancelled, or the time is up (then TIMEOUT with the agent's log). */
  private async waitFor<T>(op: OpReporter, what: string, check: () => Promise<T | null | undefined | false>, t: SshTransport, facts: SshHostFacts): Promise<T> {
    const deadline = Date.now() + ONLINE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      op.signal.throwIfAborted();
      const v = await check();
      if (v) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
    const tail = await agentLogTail(t, facts.systemd);
    throw new BerthError(
      'TIMEOUT',
      `The agent on ${t.description} did not ${what} within ${ONLINE_TIMEOUT_MS / 1000} s; check that the node reaches the server at the URL it was given and see its log (${facts.systemd ? `journalctl -u ${UNIT_NAME}` : LOG_PATH}).`,
      { detail: tail.slice(-2000) },
    );
  }

  /** Deletes a join token this add minted and, when an agent already joined with it, the node it made. */
  private async revoke(tokenHash: string): Promise<void> {
    const row = await this.store.db.selectFrom('join_tokens').select(['id', 'used_by_node']).where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!row) return;
    if (row.used_by_node) await this.store.db.deleteFrom('nodes').where('id', '=', row.used_by_node).execute();
    await this.store.db.deleteFrom('join_tokens').where('id', '=', row.id).execute();
  }

  /**
   * For `node rm` of a node added over SSH: logs in as it was added (host key pinned, with the
   * key the caller sends, used for this call only), stops the agent and removes its service and
   * files. False when the node was not added over SSH. The caller revokes the credential and
   * drops the node's row (which drops its ssh_nodes row) after this.
   */
  async uninstall(nodeId: string, key: { privateKey: string; passphrase?: string }): Promise<boolean> {
    const row = await this.store.db.selectFrom('ssh_nodes').selectAll().where('node_id', '=', nodeId).executeTakeFirst();
    if (!row) return false;
    const t = new SshTransport({
      host: row.host,
      port: row.port,
      username: row.user,
      ...key,
      hostFingerprint: row.host_key_fingerprint,
      connectTimeoutMs: 15_000,
      maxConnections: 1,
    });
    try {
      await uninstallAgent(t);
    } catch (err) {
      throw new BerthError(
        'UNAVAILABLE',
        `Could not uninstall the agent on ${formatSshTarget({ user: row.user, host: row.host, port: row.port })} (${(err as Error).message}); nothing was removed. Retry when the machine is reachable, or leave out --identity to only revoke the node.`,
        { field: 'identity', cause: err },
      );
    } finally {
      await t.close();
    }
    return true;
  }

  /** Records how the node was reached, pinning its host key for the next add. */
  private async remember(nodeId: string, body: NodesSshPost, facts: SshHostFacts, fingerprint: string): Promise<void> {
    const now = new Date().toISOString();
    const service = facts.systemd ? ('systemd' as const) : ('supervised' as const);
    await this.store.db.transaction().execute(async (tx) => {
      // The address may have belonged to a node removed since: the newest add owns it.
      await tx.deleteFrom('ssh_nodes').where('host', '=', body.host).where('port', '=', body.port).where('node_id', '!=', nodeId).execute();
      const had = await tx.selectFrom('ssh_nodes').select('node_id').where('node_id', '=', nodeId).executeTakeFirst();
      if (had) {
        await tx
          .updateTable('ssh_nodes')
          .set({ user: body.user, host: body.host, port: body.port, host_key_fingerprint: fingerprint, service, updated_at: now })
          .where('node_id', '=', nodeId)
          .execute();
      } else {
        await tx
          .insertInto('ssh_nodes')
          .values({
            node_id: nodeId,
            user: body.user,
            host: body.host,
            port: body.port,
            host_key_fingerprint: fingerprint,
            service,
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
      // --label sets the node's placement labels (as `berth node label` does), on top of those it has.
      if (Object.keys(body.labels).length) {
        const row = await tx.selectFrom('nodes').select('labels_json').where('id', '=', nodeId).executeTakeFirstOrThrow();
        const labels = { ...(JSON.parse(row.labels_json) as Record<string, string>), ...body.labels };
        const checked = nodeLabelsSchema.safeParse(labels);
        if (!checked.success)
          throw new BerthError(
            'INVALID_ARGUMENT',
            `The node's labels with those of --label are too many: ${checked.error.issues[0]?.message}; remove some with \`berth node label NAME KEY-\`.`,
            { field: 'labels' },
          );
        await tx
          .updateTable('nodes')
          .set({ labels_json: JSON.stringify(checked.data) })
          .where('id', '=', nodeId)
          .execute();
      }
    });
    this.log.info({ node: nodeId, host: body.host }, 'node added over SSH');
  }
}

/** What keeps the agent running on this node, and what survives what. */
function serviceNote(f: SshHostFacts): string {
  if (f.systemd) return `Started ${UNIT_NAME} under systemd: it restarts when it dies and starts at boot.`;
  return f.cron
    ? "Started the agent under its supervisor (no systemd here): it restarts when it dies, and root's crontab starts it again at boot."
    : 'Started the agent under its supervisor (no systemd or cron here): it restarts when it dies but not after a reboot; run `berth node add` again after one.';
}
