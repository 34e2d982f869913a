/**
 * One workspace connection carried over a relay (relay-client.ts) and the SSH channel it
 * rides: bytes both ways under the relay's per-connection windows, the workspace side's EOF
 * and CLOSE passed on once every byte before them has gone out, and the client's close
 * delivered like sshd does (what it sent before still reaches the workspace).
 */
import type { Logger } from 'pino';
import type { Channel } from 'ssh2';
import { encodeRelayFrame, encodeRelayWindow, RELAY_FRAME, RELAY_INITIAL_WINDOW, RELAY_MAX_PAYLOAD, type RelayFrame } from '../../api/index.js';

/** Consumed bytes are granted back to the relay once this many have piled up. */
const GRANT_AT = 64 * 1024;
/** How long a connection whose channel closed may take to deliver what the client sent before it. */
const DRAIN_MS = 30_000;

/** What a connection needs of its relay. */
export interface RelayLink {
  /** Sends one frame to the relay. */
  send(frame: Buffer): void;
  /** Forgets a finished connection. */
  drop(id: number): void;
  /** The node cannot take more input for now: every channel stays paused. */
  readonly inputPaused: boolean;
}

/** One workspace connection carried over the relay, and its SSH channel. */
export class RelayConn {
  private channel: Channel | null = null;
  /** Bytes we may still send the relay for this connection. */
  private sendWindow = RELAY_INITIAL_WINDOW;
  /** Bytes the relay may still send us before we grant more. */
  private recvWindow = RELAY_INITIAL_WINDOW;
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
    private readonly relay: RelayLink,
    readonly id: number,
    private readonly log: Logger,
  ) {}

  /** Opens the connection's SSH channel and starts carrying bytes. */
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

  /** Applies one frame the relay sent for this connection. */
  onFrame(f: RelayFrame): void {
    if (this.done) return;
    switch (f.type) {
      case RELAY_FRAME.DATA:
        this.recvWindow -= f.payload.length;
        // Past the window, or after EOF (data after CHANNEL_EOF would break the SSH protocol).
        if (this.recvWindow < 0 || this.wsEof) {
          this.log.warn({ id: this.id }, 'the relay broke the frame rules; closing the connection');
          return this.finish(true);
        }
        // Bytes for a channel the client has closed have nowhere to go.
        if (this.closeWhenDrained) return;
        if (this.channel) this.toClient(f.payload);
        else this.early.push(f.payload);
        return;
      case RELAY_FRAME.WINDOW:
        if (f.payload.length !== 4) return this.finish(true);
        this.sendWindow = Math.min(this.sendWindow + f.payload.readUInt32BE(0), 2 ** 30);
        return this.flushOut();
      case RELAY_FRAME.EOF:
        this.wsEof = true;
        return this.endClient();
      case RELAY_FRAME.CLOSE:
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

  /** The relay ended: the channel ends once what arrived has gone out. */
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
      const n = Math.min(head.length, this.sendWindow, RELAY_MAX_PAYLOAD);
      this.relay.send(encodeRelayFrame(RELAY_FRAME.DATA, this.id, head.subarray(0, n)));
      this.sendWindow -= n;
      if (n === head.length) this.outQueue.shift();
      else this.outQueue[0] = head.subarray(n);
    }
    if (this.clientEof && !this.clientEofSent && this.outQueue.length === 0) {
      this.clientEofSent = true;
      this.relay.send(encodeRelayFrame(RELAY_FRAME.EOF, this.id));
    }
    // The relay grants back exactly what it has written to the socket, so a full window means
    // everything the client sent has been delivered; CLOSE (which drops what is queued) is safe.
    if (this.closeWhenDrained && this.clientEofSent && this.sendWindow >= RELAY_INITIAL_WINDOW) return this.finish(true);
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
        this.relay.send(encodeRelayWindow(this.id, this.credit));
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
    if (tellRelay && !this.wsClosed) this.relay.send(encodeRelayFrame(RELAY_FRAME.CLOSE, this.id));
    this.outQueue.length = 0;
    this.early.length = 0;
    this.channel?.close();
  }
}
