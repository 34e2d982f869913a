/**
 * The SSH gateway: `ssh -p 2222 WORKSPACE@server` reaches a workspace on whichever node and
 * provider it lives, because everything runs through the agent hub's exec. The SSH user name
 * names the workspace (`NAME`: the key owner's own; `OWNER.NAME`: another's, see
 * api/workspace-ref.ts); the key names the person. Sessions (shell, exec, sftp, agent
 * forwarding), direct-tcpip forwards and remote forwards (tcpip-forward) are offered; every
 * other channel type and global request is refused.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import ssh2, { type Connection, type Session } from 'ssh2';
import { BerthError, formatWorkspaceRef, parseSshUser, toApiError, type Workspace } from '../../api/index.js';
// Teams and sharing: a connection is one live session of its user on its workspace.
import { joinWorkspace } from '../access/join.js';
import { authenticator, newAuthState } from './auth.js';
import { coalesceWrites } from './coalesce.js';
import { audit, type ConnContext, type GatewayDeps, printable } from './context.js';
import { handleForward } from './forward.js';
import type { HostKey } from './host-key.js';
import { OPEN_FAILURE, rejectChannel } from './open-failure.js';
import { RemoteForwards } from './remote-forward.js';
import { handleSession } from './session.js';

/** A client has this long to authenticate before it is disconnected. */
export const LOGIN_GRACE_MS = 30_000;
/** Connections beyond this are dropped at once, so a flood cannot exhaust the server. */
export const MAX_CONNECTIONS = 512;

/**
 * Ciphers offered: AES only, which runs in OpenSSL with AES-NI. ssh2's optional native binding
 * is built at install (package.json allowScripts) and takes the per-packet cipher and MAC work
 * out of JavaScript; where its build failed, ssh2 would run chacha20-poly1305 (OpenSSH's first
 * choice) in JavaScript/WASM, several times slower, so it is not offered.
 */
export const CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];

/** Where the gateway listens. */
export interface GatewayAddress {
  host: string;
  port: number;
}

/** A running SSH gateway. */
export class SshGateway {
  private readonly clients = new Set<Connection>();
  /** Authenticated connections by the id of the workspace they reached (names are unique only per owner). */
  private readonly byWorkspace = new Map<Connection, string>();
  private stopListening: (() => void) | null = null;
  /** Sockets not yet authenticated, by `ip:port`, so the login grace period can cut them off. */
  private readonly unauthenticated = new Map<string, Socket>();
  /** Open session channels (shell, exec, sftp), for berth_gateway_sessions_open. */
  private readonly sessions = new Set<Session>();

  private constructor(
    private readonly server: Server,
    readonly hostKey: HostKey,
  ) {}

  /** Starts listening; rejects when the address cannot be bound. */
  static async start(opts: GatewayAddress & { hostKey: HostKey; deps: GatewayDeps }): Promise<SshGateway> {
    let gateway: SshGateway | null = null;
    const ssh = new ssh2.Server(
      { hostKeys: [opts.hostKey.privateKey], ident: 'berth', algorithms: { cipher: CIPHERS as ssh2.CipherAlgorithm[] } },
      (client, info) => gateway?.accept(client, info, opts.deps),
    );
    // berth owns the TCP side: a cap on connections, no Nagle delay on small packets (keystrokes,
    // exit statuses), and a deadline for logging in that also covers clients that never even
    // send an SSH version line. Sockets are then handed to ssh2.
    const server = createServer((socket) => gateway?.adopt(socket, ssh));
    server.maxConnections = MAX_CONNECTIONS;
    gateway = new SshGateway(server, opts.hostKey);
    const g = gateway;
    g.stopListening = opts.deps.hub.onWorkspaceEnded?.((ws) => g.disconnectWorkspace(ws.id)) ?? null;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: Error) => opts.deps.log.error({ err }, 'ssh gateway socket error'));
    return gateway;
  }

  /** The bound address (the real port when 0 was asked for). */
  address(): GatewayAddress {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /**
   * Disconnects every client of a workspace that stopped, restarted or was deleted. Their
   * sessions were already ended with a message and exit status 255 (the hub's exec exit); this
   * also ends connections holding only port forwards or SFTP, after a moment for those exit
   * statuses to reach the clients.
   */
  disconnectWorkspace(workspaceId: string): void {
    for (const [client, ws] of this.byWorkspace) {
      if (ws !== workspaceId) continue;
      this.byWorkspace.delete(client);
      setTimeout(() => client.end(), 200).unref();
    }
  }

  /** Open session channels (shell, exec, sftp) on all connections. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Stops accepting and disconnects every client. */
  async close(): Promise<void> {
    this.stopListening?.();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.clients) c.end();
    for (const s of this.unauthenticated.values()) s.destroy();
    await closed;
  }

  private adopt(socket: Socket, ssh: ssh2.Server): void {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    coalesceWrites(socket); // one writev per tick instead of 3-4 writes per SSH packet (coalesce.ts)
    socket.on('error', () => {}); // ssh2 sees the same failure on its side and reports it
    this.unauthenticated.set(key, socket);
    const grace = setTimeout(() => {
      if (this.unauthenticated.get(key) === socket) socket.destroy();
    }, LOGIN_GRACE_MS);
    socket.once('close', () => {
      clearTimeout(grace);
      if (this.unauthenticated.get(key) === socket) this.unauthenticated.delete(key);
    });
    ssh.injectSocket(socket);
  }

  private accept(client: Connection, info: { ip: string; port: number }, deps: GatewayDeps): void {
    const source = `${info.ip}:${info.port}`;
    const log = deps.log.child({ client: source });
    // ssh2 emits protocol failures (garbage, bad packets, resets) as errors: log, never throw.
    client.on('error', (err: Error) => log.debug({ err: err.message }, 'ssh client error'));
    this.clients.add(client);
    const state = newAuthState();
    // This connection's open session channels: ssh2 emits a session's close only when the
    // client closes the channel, so those still open when the connection drops are let go here.
    const mine = new Set<Session>();
    client.on(
      'authentication',
      authenticator(deps, state, () => client.end()),
    );
    client.on('ready', () => {
      this.unauthenticated.delete(source);
      const user = state.user!;
      // Audit entries name the workspace in full (OWNER/NAME) when the user name is one.
      const asked = parseSshUser(state.username);
      const workspaceName = asked ? `${asked.owner ?? user.name}/${asked.name}` : printable(state.username, 80);
      // Teams and sharing: registered on the first channel the rules allow; a revocation tells
      // running commands why, then drops the connection (forwards, SFTP and all).
      let leave: (() => void) | null = null;
      const channels = new Set<ssh2.ServerChannel>();
      const revoke = (message: string) => {
        for (const ch of channels) {
          ch.stderr.write(`\r\nberth: ${message}\r\n`);
          ch.exit(255);
          ch.end();
        }
        setTimeout(() => client.end(), 200).unref();
      };
      const ctx: ConnContext = {
        deps,
        log: log.child({ user: user.name, workspace: workspaceName }),
        user,
        workspaceName,
        source,
        channels,
        resolveWorkspace: async () => {
          const ws = await resolveWorkspace(deps, user, state.username, source);
          if (this.clients.has(client)) this.byWorkspace.set(client, ws.id);
          leave ??= joinWorkspace({ live: deps.live }, { workspace: ws, user, kind: 'ssh', source }, revoke);
          return ws;
        },
      };
      client.once('close', () => leave?.());
      ctx.log.debug('ssh client authenticated');
      client.on('session', (accept, reject) => {
        ctx.resolveWorkspace().then(
          (ws: Workspace) => {
            const session = accept();
            mine.add(session);
            this.sessions.add(session);
            session.once('close', () => {
              mine.delete(session);
              this.sessions.delete(session);
            });
            handleSession(ctx, session, ws, client);
          },
          (err: unknown) => {
            const e = toApiError(err);
            audit(ctx, 'ssh.session.start', 'denied', `${e.code}: ${e.message}`);
            rejectChannel(client, reject, OPEN_FAILURE.administrativelyProhibited, `berth: ${e.message}`);
          },
        );
      });
      client.on('tcpip', (accept, reject, info) => {
        handleForward(ctx, client, accept, reject, info).catch((err: unknown) => ctx.log.warn({ err }, 'ssh forward failed'));
      });
      // ssh -R: tcpip-forward and cancel-tcpip-forward; the relays end with the connection.
      const remote = new RemoteForwards(ctx, client);
      ctx.forwardsSettled = () => remote.settled();
      client.on('request', (accept, reject, name, info) => remote.onRequest(accept, reject, name, info));
      client.once('close', () => remote.closeAll());
    });
    client.on('close', () => {
      for (const session of mine) this.sessions.delete(session);
      mine.clear();
      this.clients.delete(client);
      this.byWorkspace.delete(client);
      if (!state.user && state.refused.length > 0) {
        void deps.audit.record({
          actorId: null,
          actorName: printable(state.username || '(unknown)', 80),
          action: 'ssh.auth',
          outcome: 'denied',
          sourceIp: source,
          detail: state.refused.join('; '),
        });
      }
    });
  }
}

/**
 * The workspace a connection's SSH user name asks for (`NAME`, `OWNER.NAME` or `OWNER/NAME`),
 * checked like any exec: resolved for this user (services/workspace-resolve.ts), running, node online.
 */
async function resolveWorkspace(deps: GatewayDeps, user: ConnContext['user'], username: string, source: string): Promise<Workspace> {
  const ref = parseSshUser(username);
  if (!ref) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"${printable(username, 80)}" is not a workspace name; connect as WORKSPACE@host for your own or OWNER.WORKSPACE@host for another's, e.g. \`ssh -p 2222 myws@host\`.`,
      { field: 'username' },
    );
  }
  return deps.workspaces.forExec(user, formatWorkspaceRef(ref), { sourceIp: source });
}
