/**
 * The SSH transport: commands and files on another machine over SSH (ssh2), with pooled,
 * authenticated connections per host. Each exec is one SSH channel multiplexed over a pooled
 * connection, so a command costs a channel open (one round trip) instead of a TCP connect,
 * a key exchange and an authentication.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { BerthError } from '../api/errors.js';
import { remoteCommand, shellQuote } from './shell-quote.js';
import { checkHostKeyPolicy, dialSsh, privateKeyFingerprint, type SshConnectOptions, sshDestination } from './ssh-connect.js';
import { ConnectionPool, type Lease, type PoolStats } from './ssh-pool.js';
import { channelSession } from './ssh-session.js';
import { type ExecParams, type ExecSession, type RunParams, type RunResult, runViaExec, type Transport, validateExecParams } from './transport.js';

/** Connect options the transport fills in when left out (defaults in the constructor). */
type DefaultedConnectOptions = 'port' | 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'keepaliveCountMax';

/**
 * How to reach one host (as in SshConnectOptions, with port [22], connectTimeoutMs [10000],
 * keepaliveIntervalMs [15000] and keepaliveCountMax [3] optional; one of hostVerifier,
 * hostFingerprint or insecureAcceptAnyHostKey is required), and the pool's limits.
 */
export type SshTransportOptions = Omit<SshConnectOptions, DefaultedConnectOptions> &
  Partial<Pick<SshConnectOptions, DefaultedConnectOptions>> & {
    /** [60000] Close a connection after this long without channels. */
    idleTimeoutMs?: number;
    /** [4] Connections to this host at once. */
    maxConnections?: number;
    /** [10, OpenSSH's MaxSessions default] Channels per connection. */
    maxChannelsPerConnection?: number;
  };

/** How often one exec may meet a server that refuses a channel before giving up. */
const MAX_CHANNEL_REFUSALS = 3;

/** Marks every process an exec starts (children inherit it), so the exec can be killed later. */
const EXEC_MARKER = 'BERTH_EXEC_ID';

/**
 * Kills every process whose environment carries the marker given as $1. SSH "signal"
 * requests cannot be relied on: OpenSSH ignores them for root logins ("session signalling
 * requires privilege separation") and for non-tty sessions closing the channel does not end
 * the command either. The pattern travels in argv, so this script never matches itself.
 * It needs /proc and a grep with -z (GNU or BusyBox), which every Linux host berth manages has.
 */
const KILL_MARKED = `for f in $(grep -lszxF "$1" /proc/[0-9]*/environ); do p=\${f#/proc/}; kill -KILL "\${p%/environ}" 2>/dev/null; done; exit 0`;

/** Runs commands and moves files on one host over pooled SSH connections. */
export class SshTransport implements Transport {
  /** "ssh user@host:port". */
  readonly description: string;
  /** What identifies this pool: user@host:port plus the client key's fingerprint. */
  readonly poolKey: string;
  private readonly pool: ConnectionPool<Client>;
  private readonly destination: string;

  constructor(options: SshTransportOptions) {
    checkHostKeyPolicy(options);
    const connect: SshConnectOptions = {
      ...options,
      port: options.port ?? 22,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
    };
    this.destination = sshDestination(connect);
    this.description = `ssh ${this.destination}`;
    this.poolKey = sshPoolKey(options);
    this.pool = new ConnectionPool<Client>({
      dial: (closed) => dialSsh(connect, closed),
      end: (client) => client.end(),
      maxConnections: options.maxConnections ?? 4,
      maxChannelsPerConnection: options.maxChannelsPerConnection ?? 10,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    });
  }

  /** Starts cmd through the remote login shell (`cd DIR && export K=V && exec argv`), with a pty when asked. */
  async exec(p: ExecParams): Promise<ExecSession> {
    validateExecParams(p);
    const execId = randomUUID();
    const command = remoteCommand({ ...p, env: { ...p.env, [EXEC_MARKER]: execId } });
    const pty = p.tty ? { cols: p.cols ?? 80, rows: p.rows ?? 24, term: p.env?.TERM ?? 'xterm-256color' } : undefined;
    const { value: channel, lease } = await this.openChannel<ClientChannel>((client, done) => client.exec(command, pty ? { pty } : {}, done), p.signal);
    return channelSession(channel, {
      description: this.description,
      signal: p.signal,
      finished: () => lease.release(),
      kill: () => this.killMarked(`${EXEC_MARKER}=${execId}`),
    });
  }

  /**
   * A TCP connection from the remote host to `host:port` there (a `direct-tcpip` channel, what
   * `ssh -L` opens): no process on the remote side, and the bytes ride the pooled connection.
   * Nothing listening is FAILED_PRECONDITION; the channel releases its lease when it closes.
   */
  async connectTcp(host: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    let channel: ClientChannel;
    let lease: Lease<Client>;
    try {
      ({ value: channel, lease } = await this.openChannel<ClientChannel>(
        (client, done) => client.forwardOut('127.0.0.1', 0, host, port, done),
        signal,
        undefined,
        false,
      ));
    } catch (err) {
      const detail = (err as { detail?: string }).detail ?? (err as Error).message;
      if (/connect failed|refused/i.test(detail)) {
        throw new BerthError('FAILED_PRECONDITION', `Nothing listens on ${host}:${port} on ${this.destination}; start the service and retry.`, {
          field: 'port',
          cause: err,
        });
      }
      throw err;
    }
    channel.once('close', () => lease.release());
    return channel;
  }

  /** Runs a command to completion, collecting its output. */
  run(p: RunParams): Promise<RunResult> {
    return runViaExec(this, p);
  }

  /** Reads a file over SFTP on a pooled connection. */
  readFile(path: string): Promise<Buffer> {
    return this.withSftp(path, 'read', (sftp, done) => sftp.readFile(path, done));
  }

  /** Writes a file over SFTP, then sets its mode (SFTP applies a mode only to files it creates). */
  async writeFile(path: string, data: string | Buffer, mode?: number): Promise<void> {
    await this.withSftp<void>(path, 'write', (sftp, done) => {
      const options = mode === undefined ? {} : { mode };
      sftp.writeFile(path, data, options, (err) => {
        if (err || mode === undefined) return done(err);
        sftp.chmod(path, mode, (chmodErr) => done(chmodErr));
      });
    });
  }

  /**
   * Kills the processes of one exec through a second channel; best effort, as the host may
   * be gone. The channel may go beyond the connection cap: when every channel is held by a
   * session being closed, waiting in line for one would wait forever.
   */
  private async killMarked(marker: string): Promise<void> {
    try {
      const { value: channel, lease } = await this.openChannel<ClientChannel>(
        (client, done) => client.exec(shellQuote(['sh', '-c', KILL_MARKED, 'sh', marker]), done),
        AbortSignal.timeout(10_000),
        { beyondCap: true },
      );
      channel.once('close', () => lease.release());
      channel.resume();
      channel.stderr.resume();
      channel.end();
    } catch {
      // Nothing more can be done from here; the session's own close still goes ahead.
    }
  }

  /** Pool counters: established connections, dials so far, channels in use. */
  stats(): PoolStats {
    return this.pool.stats();
  }

  /** The pool's established ssh2 clients; tests break one on purpose to exercise reconnects. */
  connectionsForTesting(): Client[] {
    return this.pool.connections();
  }

  /** Closes every pooled connection; sessions still running on them end. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /**
   * Opens one channel on a pooled connection. A refused channel (sshd's MaxSessions) marks
   * that connection full and tries elsewhere; a connection that turns out dead before
   * anything was sent is dropped and the open is retried once on a fresh connection.
   */
  private async openChannel<T>(
    open: (client: Client, done: (err: Error | undefined, value: T) => void) => void,
    signal?: AbortSignal,
    leaseOptions?: { beyondCap?: boolean },
    /** False for channels a full connection cannot refuse (forwards: MaxSessions counts sessions only), whose failure is final. */
    retryRefusals = true,
  ): Promise<{ value: T; lease: Lease<Client> }> {
    let refusals = 0;
    let retriedLostConnection = false;
    for (;;) {
      const lease = await this.pool.acquire(signal, leaseOptions);
      try {
        const value = await new Promise<T>((resolve, reject) => {
          // ssh2 throws synchronously ("Not connected") when the socket is already gone.
          open(lease.conn, (err, v) => (err ? reject(err) : resolve(v)));
        });
        return { value, lease };
      } catch (err) {
        if (retryRefusals && isChannelRefusal(err)) {
          lease.refused();
          if (++refusals <= MAX_CHANNEL_REFUSALS) continue;
          throw new BerthError(
            'FAILED_PRECONDITION',
            `sshd on ${this.destination} refused to open another session; raise MaxSessions in its sshd_config or lower maxChannelsPerConnection.`,
            { cause: err, detail: (err as Error).message },
          );
        }
        if (lease.dead || isConnectionGone(err)) {
          lease.discard();
          if (!retriedLostConnection) {
            retriedLostConnection = true;
            continue;
          }
          throw new BerthError('INTERNAL', `The SSH connection to ${this.destination} dropped twice in a row; check the host and its network.`, {
            cause: err,
            detail: (err as Error).message,
          });
        }
        lease.release();
        throw new BerthError('INTERNAL', `Could not open an SSH channel to ${this.destination}: ${(err as Error).message}.`, { cause: err });
      }
    }
  }

  /** Runs one SFTP operation on its own channel and closes the channel afterwards. */
  private async withSftp<T>(
    path: string,
    verb: 'read' | 'write',
    op: (sftp: SFTPWrapper, done: (err: Error | undefined | null, v?: T) => void) => void,
  ): Promise<T> {
    const { value: sftp, lease } = await this.openChannel<SFTPWrapper>((client, done) => client.sftp(done));
    // The pool slot is freed when the channel is really closed, so sshd's session count agrees with ours.
    sftp.once('close', () => lease.release());
    try {
      return await new Promise<T>((resolve, reject) => op(sftp, (err, v) => (err ? reject(err) : resolve(v as T))));
    } catch (err) {
      throw sftpError(err, verb, path, this.description);
    } finally {
      sftp.end();
    }
  }
}

/** The key one host's pool is known by: user@host:port and the fingerprint of the client key. */
export function sshPoolKey(o: Pick<SshTransportOptions, 'host' | 'port' | 'username' | 'privateKey' | 'passphrase'>): string {
  return `${sshDestination({ ...o, port: o.port ?? 22 })}#${privateKeyFingerprint(o.privateKey, o.passphrase)}`;
}

/**
 * Hands out one SshTransport (and so one connection pool) per host key, so every caller
 * talking to the same host as the same user with the same key shares connections. The first
 * caller's options (limits, host key check) are the ones the shared transport keeps.
 */
export class SshTransports {
  private readonly byKey = new Map<string, SshTransport>();

  /** The shared transport for these options' pool key, made on first use. */
  get(options: SshTransportOptions): SshTransport {
    const key = sshPoolKey(options);
    let transport = this.byKey.get(key);
    if (!transport) {
      transport = new SshTransport(options);
      this.byKey.set(key, transport);
    }
    return transport;
  }

  /** Closes every transport handed out. */
  async closeAll(): Promise<void> {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    await Promise.all(all.map((t) => t.close()));
  }
}

/** The server answered a channel open with a failure (OpenSSH does so past MaxSessions). */
function isChannelRefusal(err: unknown): boolean {
  return typeof (err as { reason?: unknown }).reason === 'number';
}

/** ssh2's ways of saying the connection is gone: thrown when the socket is closed, or given to pending opens when it closes. */
function isConnectionGone(err: unknown): boolean {
  const message = (err as Error).message;
  return message === 'Not connected' || message === 'No response from server';
}

/** Maps an SFTP status to a BerthError that names the path. */
function sftpError(err: unknown, verb: 'read' | 'write', path: string, where: string): BerthError {
  // SFTP status codes (draft-ietf-secsh-filexfer-02): 2 = no such file, 3 = permission denied.
  const code = (err as { code?: unknown }).code;
  const message = (err as Error).message;
  if (code === 2) return new BerthError('NOT_FOUND', `Cannot ${verb} ${path} on ${where}: no such file or directory.`, { cause: err });
  if (code === 3) return new BerthError('PERMISSION_DENIED', `Cannot ${verb} ${path} on ${where}: permission denied.`, { cause: err });
  if (err instanceof BerthError) return err;
  return new BerthError('INTERNAL', `Cannot ${verb} ${path} on ${where}: ${message}.`, { cause: err });
}
