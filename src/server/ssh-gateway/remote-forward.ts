/**
 * Remote forwards (`ssh -R [bind:]PORT:host:hostport`): on `tcpip-forward` the gateway starts
 * `berth-in relay tcp` inside the workspace the connection names; each connection it accepts
 * there becomes a `forwarded-tcpip` channel to the client, which connects it to host:hostport
 * on its side. `cancel-tcpip-forward` and the end of the SSH connection stop the relay, whose
 * stdin then closes, so it leaves no process behind. A refused request is answered with
 * failure (ssh prints "remote port forwarding failed for listen port P"); the reason goes to
 * the server's log and the audit log. Bind rules: remote-forward-rules.ts.
 */
import type { Connection } from 'ssh2';
import { toApiError, type Workspace } from '../../api/index.js';
import { withBerthIn } from './berth-in.js';
import { asSession, audit, type ConnContext, printable } from './context.js';
import { Relay, splitPeer } from './relay-client.js';
import { admitForward, type ForwardSpec, findForCancel, type HeldForward, parseForwardRequest } from './remote-forward-rules.js';

type Reply = ((port?: number) => void) | undefined;

interface Forward extends HeldForward {
  relay: Relay;
}

/** The remote forwards of one SSH connection. */
export class RemoteForwards {
  private readonly held: Forward[] = [];
  private pending = 0;
  private closed = false;
  /** tcpip-forward requests not answered yet. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly ctx: ConnContext,
    private readonly client: Connection,
  ) {}

  /** Handles one global request of the connection (ssh2's `request` event). */
  onRequest(accept: Reply, reject: (() => void) | undefined, name: string, info: unknown): void {
    if (name === 'tcpip-forward') {
      const adding = this.add(info);
      this.inflight.add(adding);
      void adding.finally(() => this.inflight.delete(adding)).catch(() => {});
      void adding.then(
        (port) => (port === null ? reject?.() : accept?.(port)),
        (err: unknown) => {
          this.ctx.log.warn({ err }, 'remote forward failed unexpectedly');
          reject?.();
        },
      );
    } else if (name === 'cancel-tcpip-forward') {
      if (this.cancel(info)) accept?.();
      else reject?.();
    } else {
      // streamlocal forwards (-R with a socket path) are not offered.
      this.ctx.log.info({ request: printable(name, 60) }, 'global request refused: not supported');
      reject?.();
    }
  }

  /** Resolves once every tcpip-forward request received so far has been answered. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Stops every forward (the connection ended). */
  closeAll(): void {
    this.closed = true;
    for (const f of this.held.splice(0)) f.relay.stop();
  }

  /** The bound port, or null when refused. */
  private async add(info: unknown): Promise<number | null> {
    const spec = parseForwardRequest(info);
    if ('refused' in spec) return this.refuse(describe(info), spec.refused);
    const what = `${spec.bindAddr || 'localhost'}:${spec.port}`;
    const busy = admitForward(this.held, spec, this.pending);
    if (busy) return this.refuse(what, busy);
    this.pending++;
    let relay: Relay;
    try {
      const ws = await this.ctx.resolveWorkspace();
      relay = await this.startRelay(ws, spec);
    } catch (err) {
      return this.refuse(what, toApiError(err).message, 'error');
    } finally {
      this.pending--;
    }
    const boundPort = relay.ready.port ?? spec.port;
    if (this.closed || (spec.port !== 0 && boundPort !== spec.port) || boundPort === 0) {
      relay.stop();
      return this.closed ? null : this.refuse(what, `the relay reported port ${boundPort}`, 'error');
    }
    const fwd: Forward = { bindAddr: spec.bindAddr, requestedPort: spec.port, boundPort, relay };
    this.held.push(fwd);
    void relay.done.then((end) => {
      const i = this.held.indexOf(fwd);
      if (i < 0) return;
      // The relay ended on its own (the workspace stopped, the process was killed).
      this.held.splice(i, 1);
      this.ctx.log.info({ port: boundPort, code: end.code, err: end.error?.message }, 'remote forward relay ended');
    });
    audit(this.ctx, 'ssh.forward.remote', 'ok', `listen ${spec.listenAddr}:${boundPort} in the workspace`);
    this.ctx.log.info({ bind: spec.listenAddr, port: boundPort }, 'remote forward listening');
    return boundPort;
  }

  private startRelay(ws: Workspace, spec: ForwardSpec): Promise<Relay> {
    return withBerthIn(this.ctx.deps, ws, async (path) =>
      Relay.start(this.ctx.deps, ws, {
        // As sshd binds as the session's user: the workspace spec's, or root.
        cmd: (await asSession(this.ctx.deps, ws, { cmd: [path, 'relay', 'tcp', '--bind', spec.listenAddr, '--port', String(spec.port)], tty: false, env: {} }))
          .cmd,
        log: this.ctx.log,
        openChannel: (peer, ready) => {
          const from = splitPeer(peer);
          return new Promise((resolve, reject) => {
            try {
              this.client.forwardOut(spec.bindAddr, ready.port ?? spec.port, from.addr, from.port, (err, ch) => (err ? reject(err) : resolve(ch)));
            } catch (err) {
              reject(err as Error);
            }
          });
        },
      }),
    );
  }

  private cancel(info: unknown): boolean {
    const spec = parseForwardRequest(info);
    if ('refused' in spec) return this.refuse(describe(info), spec.refused, 'denied', 'cancel') !== null;
    const f = findForCancel(this.held, spec.bindAddr, spec.port);
    if (!f) return this.refuse(`${spec.bindAddr || 'localhost'}:${spec.port}`, 'no such forward on this connection', 'denied', 'cancel') !== null;
    this.held.splice(this.held.indexOf(f), 1);
    f.relay.stop();
    audit(this.ctx, 'ssh.forward.remote.cancel', 'ok', `port ${f.boundPort}`);
    return true;
  }

  private refuse(what: string, why: string, outcome: 'denied' | 'error' = 'denied', verb = 'forward'): null {
    this.ctx.log.info({ forward: what, why }, `remote ${verb} refused`);
    audit(this.ctx, verb === 'cancel' ? 'ssh.forward.remote.cancel' : 'ssh.forward.remote', outcome, `${what}: ${why}`);
    return null;
  }
}

/** A request's address and port for a log line, whatever the client sent. */
function describe(info: unknown): string {
  const i = (typeof info === 'object' && info) || {};
  return `${printable(String((i as { bindAddr?: unknown }).bindAddr ?? ''), 60)}:${printable(String((i as { bindPort?: unknown }).bindPort ?? ''), 12)}`;
}
