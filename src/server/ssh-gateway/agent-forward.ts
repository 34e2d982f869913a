/**
 * Agent forwarding (`ssh -A`): on a session's `auth-agent-req@openssh.com` the gateway starts
 * `berth-in relay unix` inside the workspace, as the session's user (the spec's, through
 * asSession; root without one), on a socket in a fresh directory only that user can enter
 * (/tmp/berth-ssh-XXXXXXXXXXXX, mode 0700, removed at the end),
 * and the session's shell or command gets SSH_AUTH_SOCK pointing there. Each connection to
 * that socket becomes an `auth-agent@openssh.com` channel to the client, whose ssh hands it
 * to the developer's own agent. The relay ends with the session.
 */
import { randomBytes } from 'node:crypto';
import type { Channel, Connection } from 'ssh2';
import { toApiError, type Workspace } from '../../api/index.js';
import { withBerthIn } from './berth-in.js';
import { asSession, audit, type ConnContext } from './context.js';
import { Relay } from './relay-client.js';

/** The directory is made private and removed once the relay has exited, whatever its status. */
const AGENT_SCRIPT = 'umask 077; mkdir "$1" || exit 1; "$2" relay unix --path "$1/agent.sock"; s=$?; rm -rf "$1"; exit $s';
/** ssh2's window and packet size for channels it opens (lib/Channel.js). */
const CHANNEL_WINDOW = 2 * 1024 * 1024;
const CHANNEL_PACKET = 32 * 1024;

/** A fresh socket path for one session's agent. */
export function agentSocketPath(): string {
  return `/tmp/berth-ssh-${randomBytes(6).toString('hex')}/agent.sock`;
}

/** One session's forwarded agent. */
export class AgentForward {
  private relay: Relay | null = null;
  private stopped = false;
  /** Resolves to SSH_AUTH_SOCK, or null when forwarding could not start (the reason is in `failure`). */
  readonly socket: Promise<string | null>;
  failure: string | null = null;

  constructor(
    private readonly ctx: ConnContext,
    private readonly client: Connection,
    ws: Workspace,
  ) {
    this.socket = this.start(ws);
    // A session still open when the connection drops gets no close event of its own.
    client.once('close', () => this.stop());
  }

  /** Ends the relay (the session closed). */
  stop(): void {
    this.stopped = true;
    this.relay?.stop();
  }

  private async start(ws: Workspace): Promise<string | null> {
    const path = agentSocketPath();
    const dir = path.slice(0, path.lastIndexOf('/'));
    try {
      const relay = await withBerthIn(this.ctx.deps, ws, async (berthIn) =>
        Relay.start(this.ctx.deps, ws, {
          // The socket and its directory are made by the user the session runs as, so they are theirs.
          cmd: (await asSession(this.ctx.deps, ws, { cmd: ['/bin/sh', '-c', AGENT_SCRIPT, 'sh', dir, berthIn], tty: false, env: {} })).cmd,
          log: this.ctx.log,
          openChannel: () => openAgentChannel(this.client),
        }),
      );
      this.relay = relay;
      if (this.stopped) relay.stop();
      audit(this.ctx, 'ssh.agent.start', 'ok', `SSH_AUTH_SOCK=${path}`);
      return path;
    } catch (err) {
      this.failure = toApiError(err).message;
      this.ctx.log.info({ why: this.failure }, 'agent forwarding failed');
      audit(this.ctx, 'ssh.agent.start', 'error', this.failure);
      return null;
    }
  }
}

/**
 * Opens an `auth-agent@openssh.com` channel to the client. ssh2's server has the packet
 * (Protocol.openssh_authAgent) but no public method for it, so this does what its own
 * forwardOut does: reserve a channel number with a callback, which ssh2 calls with the
 * Channel on the client's confirmation or with an error on its refusal.
 */
export function openAgentChannel(client: Connection): Promise<Channel> {
  type Internals = { _chanMgr: { add(cb: unknown): number }; _protocol: { openssh_authAgent(chan: number, window: number, packet: number): void } };
  const c = client as unknown as Internals;
  return new Promise((resolve, reject) => {
    const callback = (err: Error | undefined, channel: Channel) => (err ? reject(err) : resolve(channel));
    (callback as unknown as { type: string }).type = 'auth-agent@openssh.com';
    try {
      const id = c._chanMgr.add(callback);
      if (id === -1) return reject(new Error('no free channels'));
      c._protocol.openssh_authAgent(id, CHANNEL_WINDOW, CHANNEL_PACKET);
    } catch (err) {
      reject(err as Error);
    }
  });
}
