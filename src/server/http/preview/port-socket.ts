/**
 * A TCP connection to a workspace port (the hub's `openPort`) as a Node Duplex, shaped enough
 * like a net.Socket that Node's HTTP client and its keep-alive Agent can use it: keep-alive,
 * chunking and bodies stay Node's job. Backpressure holds both ways: a full read buffer pauses
 * the node's output, and writes wait while the node says it cannot take more input.
 */
import { Duplex } from 'node:stream';
import { type ApiError, BerthError } from '../../../api/index.js';
import type { AgentHub, ExecChannel } from '../../agents/hub.js';

/** Opens port connections: the hub, or a test's stand-in. */
export type PortOpener = Pick<AgentHub, 'openPort'>;

/** A connection to `port` in a workspace, riding the node's port channel. */
export class PortSocket extends Duplex {
  private channel: ExecChannel | null = null;
  private outputHeld = false;
  private inputHeld = false;
  private pendingWrite: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleMs = 0;
  /** Present so Node's HTTP client, which reads them off net.Socket, finds something. */
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort: number;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  connecting = true;

  private constructor(port: number) {
    super({ allowHalfOpen: false });
    this.remotePort = port;
  }

  /** Opens the connection; rejects with the node's error (FAILED_PRECONDITION with field `port` when nothing listens). */
  static async open(hub: PortOpener, nodeId: string, workspaceId: string, port: number): Promise<PortSocket> {
    const s = new PortSocket(port);
    const channel = await hub.openPort(nodeId, workspaceId, port, {
      output: (_stream, data) => s.onOutput(data),
      exit: (_code, error) => s.onExit(error),
      inputPaused: (paused) => s.onInputPaused(paused),
    });
    s.channel = channel;
    s.connecting = false;
    if (s.destroyed) channel.close();
    else if (s.outputHeld) channel.pauseOutput();
    return s;
  }

  private onOutput(data: Buffer): void {
    this.touch();
    if (this.destroyed) return;
    if (!this.push(data) && !this.outputHeld) {
      this.outputHeld = true;
      this.channel?.pauseOutput();
    }
  }

  private onExit(error?: ApiError): void {
    if (this.destroyed) return;
    if (error) this.destroy(BerthError.fromApi(error));
    else this.push(null);
  }

  private onInputPaused(paused: boolean): void {
    this.inputHeld = paused;
    if (!paused && this.pendingWrite) {
      const cb = this.pendingWrite;
      this.pendingWrite = null;
      cb();
    }
  }

  override _read(): void {
    if (!this.outputHeld) return;
    this.outputHeld = false;
    this.channel?.resumeOutput();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    if (!this.channel) return cb(new BerthError('UNAVAILABLE', 'The connection to the workspace port is not open.'));
    this.channel.stdin(chunk);
    if (this.inputHeld) this.pendingWrite = () => cb();
    else cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.channel?.eof();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.channel?.close();
    const pending = this.pendingWrite;
    this.pendingWrite = null;
    pending?.();
    cb(err);
  }

  // What Node's HTTP client and Agent call on a net.Socket. Timeouts are real (an idle pooled
  // connection must close, or the node keeps its connection open forever); the rest do nothing.

  /** The idle timeout in ms (0: none), as net.Socket has it. */
  get timeout(): number {
    return this.idleMs;
  }

  /** Emits 'timeout' after `ms` without bytes either way (0 turns it off), like net.Socket. */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb) this.once('timeout', cb);
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref();
    }
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
