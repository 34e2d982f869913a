/**
 * The gateway's end of `berth-in relay` (ssh -R and ssh -A): the relay listens inside the
 * workspace and carries every accepted connection over its stdin/stdout, which reach the
 * gateway through the hub's exec. Each connection becomes an SSH channel to the client
 * (opened by `openChannel`), with bytes both ways under the relay's per-connection windows,
 * so one slow connection never stalls the others or the relay as a whole; half close and
 * close map to channel EOF and close. The relay's output is never paused: windows bound what
 * each connection may have in flight.
 */

import type { Logger } from 'pino';
import type { Channel } from 'ssh2';
import { BerthError, type ExecRequest, encodeRelayFrame, RELAY_FRAME, RelayDecoder, type RelayFrame, type Workspace } from '../../api/index.js';
import type { GatewayDeps } from './context.js';
import { type ExecEnd, type ExecPipe, openExec } from './exec-bridge.js';
import { RelayConn, type RelayLink } from './relay-conn.js';

/** Connections one relay may carry at once; further ones are closed at once. */
export const MAX_RELAY_CONNECTIONS = 256;
/** How long a stopped relay may take to exit after its stdin closed before it is cut off. */
const STOP_GRACE_MS = 5_000;

/** Where the relay listens, from its READY frame. */
export interface RelayReady {
  port?: number;
  path?: string;
}

/** How to start a relay and what to do with its connections. */
export interface RelayOptions {
  /** The command, e.g. [berth-in, 'relay', 'tcp', '--port', '0']. */
  cmd: string[];
  log: Logger;
  /** Opens the SSH channel one accepted connection is carried on (`ready`: where the relay listens). */
  openChannel(peer: string, ready: RelayReady): Promise<Channel>;
}

/** A running relay. */
export class Relay implements RelayLink {
  private readonly conns = new Map<number, RelayConn>();
  private pipe!: ExecPipe;
  private stopping = false;
  /** The highest connection id opened so far (ids start at 1). */
  private lastOpenId = 0;
  /** The node cannot take more input for now: every channel stays paused. */
  inputPaused = false;
  /** Resolves when the relay process has ended. */
  done!: Promise<ExecEnd>;

  private constructor(
    private readonly opts: RelayOptions,
    /** Where the relay listens. */
    public ready: RelayReady,
  ) {}

  /**
   * Starts the relay and resolves once it listens. Rejects with the relay's own FAIL message
   * (FAILED_PRECONDITION), or with `notFound` set on the error when the command is missing.
   */
  static async start(deps: Pick<GatewayDeps, 'hub'>, ws: Workspace, opts: RelayOptions, extra: Partial<ExecRequest> = {}): Promise<Relay> {
    const relay = new Relay(opts, {});
    const decoder = new RelayDecoder();
    const stderr: Buffer[] = [];
    let settle!: (r: { ready: RelayReady } | { fail: string }) => void;
    const started = new Promise<{ ready: RelayReady } | { fail: string }>((resolve) => (settle = resolve));
    let broken = false;
    relay.pipe = await openExec(
      deps,
      ws,
      { cmd: opts.cmd, tty: false, env: {}, ...extra },
      {
        stdout: (d) => {
          if (broken) return;
          let frames: RelayFrame[];
          try {
            frames = decoder.push(d);
          } catch (err) {
            // A relay that breaks the frame rules is cut off, never trusted further.
            broken = true;
            opts.log.warn({ err: (err as Error).message }, 'relay output is not relay frames; stopping it');
            settle({ fail: `the relay sent garbage: ${(err as Error).message}` });
            relay.kill();
            return;
          }
          for (const f of frames) relay.onFrame(f, settle);
        },
        stderr: (d) => void (stderr.length < 16 && stderr.push(d)),
        inputPaused: (paused) => relay.setInputPaused(paused),
      },
    );
    relay.done = relay.pipe.done.then((end) => {
      relay.closeAll();
      return end;
    });
    const outcome = await Promise.race([started, relay.done.then((end) => ({ end }))]);
    if ('ready' in outcome) {
      relay.ready = outcome.ready;
      return relay;
    }
    relay.kill();
    if ('fail' in outcome) throw new BerthError('FAILED_PRECONDITION', outcome.fail);
    const end = outcome.end;
    const text = Buffer.concat(stderr).toString('utf8').trim().slice(0, 300);
    const err = new BerthError(
      end.error?.code ?? 'INTERNAL',
      end.error?.message ?? `the relay helper exited with status ${end.code} before listening${text ? `: ${text}` : ''}`,
    );
    (err as BerthError & { notFound?: boolean }).notFound = !end.error && (end.code === 126 || end.code === 127);
    throw err;
  }

  /** Ends the relay: its stdin closes, so it closes its listener and connections and exits. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.pipe.end();
    const cut = setTimeout(() => this.kill(), STOP_GRACE_MS);
    cut.unref();
    void this.done.then(() => clearTimeout(cut));
  }

  /** Connections being carried now. */
  get connectionCount(): number {
    return this.conns.size;
  }

  private kill(): void {
    this.stopping = true;
    this.pipe?.close();
  }

  /** Sends one frame to the relay. */
  send(frame: Buffer): void {
    this.pipe.write(frame);
  }

  private setInputPaused(paused: boolean): void {
    this.inputPaused = paused;
    for (const c of this.conns.values()) c.updateFlow();
  }

  private closeAll(): void {
    for (const c of [...this.conns.values()]) c.onRelayGone();
    this.conns.clear();
  }

  /** Forgets a finished connection. */
  drop(id: number): void {
    this.conns.delete(id);
  }

  private onFrame(f: RelayFrame, settle: (r: { ready: RelayReady } | { fail: string }) => void): void {
    switch (f.type) {
      case RELAY_FRAME.READY:
        this.ready = parseReady(f.payload);
        return settle({ ready: this.ready });
      case RELAY_FRAME.FAIL:
        return settle({ fail: f.payload.toString('utf8').slice(0, 300).trim() || 'the relay could not listen' });
      case RELAY_FRAME.OPEN: {
        // berth-in numbers connections upwards; an id seen before is a confused relay's, and
        // answering it could cross frames with a connection of that id: it is ignored.
        if (f.id <= this.lastOpenId) return;
        this.lastOpenId = f.id;
        if (this.stopping || this.conns.size >= MAX_RELAY_CONNECTIONS) return this.send(encodeRelayFrame(RELAY_FRAME.CLOSE, f.id));
        const conn = new RelayConn(this, f.id, this.opts.log);
        this.conns.set(f.id, conn);
        conn.open((peer) => this.opts.openChannel(peer, this.ready), parsePeer(f.payload));
        return;
      }
      default:
        // Frames for a connection that is gone (or never was) are dropped.
        this.conns.get(f.id)?.onFrame(f);
    }
  }
}

/** The READY payload: `{"port":N}` or `{"path":"..."}`; anything else counts as nothing. */
export function parseReady(payload: Buffer): RelayReady {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { port?: unknown; path?: unknown };
    const out: RelayReady = {};
    if (Number.isInteger(v.port) && (v.port as number) > 0 && (v.port as number) <= 65535) out.port = v.port as number;
    if (typeof v.path === 'string' && v.path.length <= 4096) out.path = v.path;
    return out;
  } catch {
    return {};
  }
}

/** The OPEN payload's peer as host and port; unparsable peers become 127.0.0.1:0. */
export function parsePeer(payload: Buffer): string {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { peer?: unknown };
    return typeof v.peer === 'string' ? v.peer.slice(0, 300) : '';
  } catch {
    return '';
  }
}

/** Splits "addr:port" / "[v6]:port" into an address and port a forwarded-tcpip open can carry. */
export function splitPeer(peer: string): { addr: string; port: number } {
  const m = /^\[?([0-9A-Fa-f.:]{1,64})\]?:(\d{1,5})$/.exec(peer);
  const port = m ? Number(m[2]) : 0;
  return m && port <= 65535 ? { addr: m[1], port } : { addr: '127.0.0.1', port: 0 };
}
