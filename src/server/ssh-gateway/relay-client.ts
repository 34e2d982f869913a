/**
 * The gateway's end of `berth-in relay` (ssh -R and ssh -A): the relay listens inside the
 * workspace and carries every accepted connection over its stdin/stdout, which reach the
 * gateway through the hub's exec. Each connection becomes an SSH channel to the client
 * (opened by `openChannel`), with bytes both ways under the relay's per-connection windows,
 * so one slow connection never stalls the others or the relay as a whole; half close and
 * close map to channel EOF and close. The relay's output is never paused: windows bound what
 * each connection may have in flight.
 */
import type { Channel } from 'ssh2';
import type { Logger } from 'pino';
import { BerthError, type ExecRequest, type Workspace } from '../../api/index.js';
import type { GatewayDeps } from './context.js';
import { openExec, type ExecEnd, type ExecPipe } from './exec-bridge.js';
import { encodeFrame, FRAME, FrameDecoder, INITIAL_WINDOW, MAX_FRAME_PAYLOAD, windowFrame, type Frame } from './relay-frames.js';

/** Consumed bytes are granted back to the relay once this many have piled up. */
const GRANT_AT = 64 * 1024;
/** Connections one relay may carry at once; further ones are closed at once. */
export const MAX_RELAY_CONNECTIONS = 256;
/** How long a stopped relay may take to exit after its stdin closed before it is cut off. */
const STOP_GRACE_MS = 5_000;
/** How long a connection whose channel closed may take to deliver what the client sent before it. */
const DRAIN_MS = 30_000;

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
export class Relay {
  private readonly conns = new Map<number, RelayConn>();
  private pipe!: ExecPipe;
  private stopping = false;
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
    const decoder = new FrameDecoder();
    const stderr: Buffer[] = [];
    let settle!: (r: { ready: RelayReady } | { fail: string }) => void;
    const started = new Promise<{ ready: RelayReady } | { fail: string }>((resolve) => (settle = resolve));
    let broken = false;
    relay.pipe = await openExec(deps, ws, { cmd: opts.cmd, tty: false, env: {}, ...extra }, {
      stdout: (d) => {
        if (broken) return;
        let frames: Frame[];
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
    });
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
    const err = new BerthError(end.error?.code ?? 'INTERNAL', end.error?.message ?? `the relay helper exited with status ${end.code} before listening${text ? `: ${text}` : ''}`);
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

  private onFrame(f: Frame, settle: (r: { ready: RelayReady } | { fail: string }) => void): void {
    switch (f.type) {
      case FRAME.ready:
        this.ready = parseReady(f.payload);
        return settle({ ready: this.ready });
      case FRAME.fail:
        return settle({ fail: f.payload.toString('utf8').slice(0, 300).trim() || 'the relay could not listen' });
      case FRAME.open: {
        if (this.conns.has(f.id) || this.stopping || this.conns.size >= MAX_RELAY_CONNECTIONS) {
          if (!this.conns.has(f.id)) this.send(encodeFrame(FRAME.close, f.id));
          return;
        }
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

/** One workspace connection carried over the relay, and its SSH channel. */
class RelayConn {
  private channel: Channel | null = null;
  /** Bytes we may still send the relay for this connection. */
  private sendWindow = INITIAL_WINDOW;
  /** Bytes the relay may still send us before we grant more. */
  private recvWindow = INITIAL_WINDOW;
  /** Client bytes waiting for window. */
  private readonly outQueue: Buffer[] = [];
  /** Relay bytes that arrived before the channel was open. */
  private readonly early: Buffer[] = [];
  private credit = 0;
  /** Channel writes not yet taken by ssh2 (its window): EOF must wait for them. */
  private inflight = 0;
  private wsEof = false;
  private wsClosed = false;
  private clientEof = false;
  private clientEofSent = false;
  /** The client closed the channel: CLOSE follows once the relay has written all it was sent. */
  private closeWhenDrained = false;
  private done = false;

  constructor(
    private readonly relay: Relay,
    readonly id: number,
    private readonly log: Logger,
  ) {}

  open(openChannel: (peer: string) => Promise<Channel>, peer: string): void {
    openChannel(peer).then(
      (ch) => {
        if (this.done) return void ch.close();
        this.channel = ch;
        ch.on('data', (d: Buffer) => this.fromClient(d));
        ch.on('end', () => {
          this.clientEof = true;
          this.flushOut();
        });
        ch.on('close', () => this.clientClosed());
        ch.on('error', () => {});
        for (const d of this.early.splice(0)) this.toClient(d);
        if (this.wsEof || this.wsClosed) this.endClient();
      },
      (err: unknown) => {
        this.log.debug({ err: (err as Error).message, peer }, 'the client refused a relayed connection');
        this.finish(true);
      },
    );
  }

  onFrame(f: Frame): void {
    if (this.done) return;
    switch (f.type) {
      case FRAME.data:
        this.recvWindow -= f.payload.length;
        if (this.recvWindow < 0) {
          this.log.warn({ id: this.id }, 'the relay overran its window; closing the connection');
          return this.finish(true);
        }
        // Bytes for a channel the client has closed have nowhere to go.
        if (this.closeWhenDrained) return;
        if (this.channel) this.toClient(f.payload);
        else this.early.push(f.payload);
        return;
      case FRAME.window:
        if (f.payload.length !== 4) return this.finish(true);
        this.sendWindow = Math.min(this.sendWindow + f.payload.readUInt32BE(0), 2 ** 30);
        return this.flushOut();
      case FRAME.eof:
        this.wsEof = true;
        return this.endClient();
      case FRAME.close:
        this.wsClosed = true;
        return this.endClient();
      default:
        // READY, FAIL or OPEN for a live connection: the relay is confused; drop the connection.
        return this.finish(true);
    }
  }

  /** Pauses or resumes the channel's input by the window and the node's own backpressure. */
  updateFlow(): void {
    const ch = this.channel;
    if (!ch || this.done || this.closeWhenDrained) return;
    if (this.outQueue.length > 0 || this.relay.inputPaused) ch.pause();
    else ch.resume();
  }

  onRelayGone(): void {
    this.wsClosed = true;
    if (this.channel) this.endClient();
    else this.finish(false);
  }

  private fromClient(d: Buffer): void {
    if (this.done || this.clientEofSent) return;
    this.outQueue.push(d);
    this.flushOut();
  }

  private flushOut(): void {
    if (this.done) return;
    while (this.outQueue.length > 0 && this.sendWindow > 0) {
      const head = this.outQueue[0];
      const n = Math.min(head.length, this.sendWindow, MAX_FRAME_PAYLOAD);
      this.relay.send(encodeFrame(FRAME.data, this.id, head.subarray(0, n)));
      this.sendWindow -= n;
      if (n === head.length) this.outQueue.shift();
      else this.outQueue[0] = head.subarray(n);
    }
    if (this.clientEof && !this.clientEofSent && this.outQueue.length === 0) {
      this.clientEofSent = true;
      this.relay.send(encodeFrame(FRAME.eof, this.id));
    }
    // The relay grants back exactly what it has written to the socket, so a full window means
    // everything the client sent has been delivered; CLOSE (which drops what is queued) is safe.
    if (this.closeWhenDrained && this.clientEofSent && this.sendWindow >= INITIAL_WINDOW) return this.finish(true);
    this.updateFlow();
  }

  /**
   * The client closed the channel. Like sshd, what it sent before is still delivered: EOF
   * follows it, and CLOSE once the relay has written it all (or after DRAIN_MS).
   */
  private clientClosed(): void {
    if (this.done) return;
    if (this.wsClosed) return this.finish(false);
    this.closeWhenDrained = true;
    this.clientEof = true;
    this.early.length = 0;
    setTimeout(() => this.finish(true), DRAIN_MS).unref();
    this.flushOut();
  }

  private toClient(d: Buffer): void {
    const ch = this.channel!;
    this.inflight++;
    ch.write(d, () => {
      this.inflight--;
      this.credit += d.length;
      if (this.credit >= GRANT_AT && !this.done) {
        this.recvWindow += this.credit;
        this.relay.send(windowFrame(this.id, this.credit));
        this.credit = 0;
      }
      if (this.inflight === 0 && (this.wsEof || this.wsClosed)) this.endClient();
    });
  }

  /** Passes the workspace side's EOF or close on once every byte before it has gone out. */
  private endClient(): void {
    const ch = this.channel;
    if (!ch || this.done || this.inflight > 0) return;
    if (this.closeWhenDrained) {
      if (this.wsClosed) this.finish(false);
      return;
    }
    if (this.wsClosed) {
      ch.eof();
      ch.close();
      this.finish(false);
    } else if (this.wsEof) {
      ch.eof();
    }
  }

  /** Ends the connection; `tellRelay` sends CLOSE when the relay does not know yet. */
  private finish(tellRelay: boolean): void {
    if (this.done) return;
    this.done = true;
    this.relay.drop(this.id);
    if (tellRelay && !this.wsClosed) this.relay.send(encodeFrame(FRAME.close, this.id));
    this.outQueue.length = 0;
    this.early.length = 0;
    this.channel?.close();
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
