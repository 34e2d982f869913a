/**
 * The agent's one connection to the server: dials out, says hello, heartbeats at the interval
 * the server asks for, and redials with capped exponential backoff (with jitter, so a fleet
 * does not reconnect in lockstep) whenever the connection is lost.
 */
import type { Agent } from 'node:https';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { zeroMask } from '../../api/frame-bytes.js';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentEvent,
  type AgentEventPayload,
  type AgentFrame,
  API_PREFIX,
  streams,
  TLS_CERT_ERROR_CODES,
} from '../../api/index.js';
import { type EventHandler, type RequestHandler, RpcPeer } from '../../rpc/peer.js';
import { resumingTlsAgent } from './tls-resume.js';

/** The state report sent in hello and every heartbeat. */
export type AgentReport = Omit<Extract<AgentFrame, { type: 'heartbeat' }>, 'type'>;

/** Backoff bounds; exported for tests that want faster reconnects. */
export const BACKOFF = { initialMs: 500, maxMs: 15_000 };

/** Keeps the agent connected. */
export class Dialer {
  private socket: WebSocket | null = null;
  private peer: RpcPeer | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = false;
  private connectedOnce: (() => void) | null = null;
  /** Scale: keeps the last TLS session across redials (tls-resume.ts). */
  private tlsAgent: Agent | null = null;

  constructor(
    private opts: {
      server: string;
      credential: string;
      /** The pinned CA (PEM) for an https server: the only one its chain may end at. */
      ca?: string;
      /** Told once when the server revoked this node's credential; dialling has stopped for good. */
      onRevoked?: (why: string) => void;
      /** Told on every welcome: metrics count the ones after the first as reconnects, and state the server holds only in memory (ports) is sent again. */
      onWelcome?: () => void;
      /** Told whenever a connection is lost: the sessions the server held through it are gone (kept terminals stay). */
      onDisconnected?: () => void;
      log: Logger;
      report: () => Promise<AgentReport>;
      onRequest: RequestHandler;
      onEvent: EventHandler;
      onBinary: (frame: Buffer) => void;
    },
  ) {}

  /** Starts dialling; resolves after the first welcome (or never, if the server stays away). */
  start(): Promise<void> {
    const welcomed = new Promise<void>((resolve) => (this.connectedOnce = resolve));
    this.dial();
    return welcomed;
  }

  /** Sends an event to the server; dropped while disconnected. */
  emit<E extends AgentEvent>(name: E, payload: AgentEventPayload<E>): void {
    this.peer?.emit(name, payload);
  }

  /** Sends a heartbeat now instead of at the next tick. */
  async reportNow(): Promise<void> {
    if (this.peer) await this.sendReport(this.peer, 'heartbeat');
  }

  /** Sends a binary frame (exec output); dropped while disconnected. */
  sendBinary(frame: Buffer): void {
    this.peer?.sendBinary(frame);
  }

  /** Bytes queued on the current connection. */
  bufferedAmount(): number {
    return this.peer?.bufferedAmount ?? 0;
  }

  /** True while a welcomed connection is up. */
  get connected(): boolean {
    return this.heartbeat !== null;
  }

  /** Uses a new credential from the next dial on (after a rotation). */
  setCredential(credential: string): void {
    this.opts.credential = credential;
  }

  /** Closes the connection for good. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.clearHeartbeat();
    this.socket?.close(1000, 'agent stopping');
  }

  private dial(): void {
    if (this.stopped) return;
    const url = new URL(API_PREFIX + streams.agentConnect, this.opts.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Scale: redials resume the last TLS session (tls-resume.ts).
    if (url.protocol === 'wss:') this.tlsAgent ??= resumingTlsAgent(this.opts.ca);
    const tls = url.protocol === 'wss:' ? { ca: this.opts.ca, rejectUnauthorized: true, agent: this.tlsAgent ?? undefined } : {};
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.credential}` },
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
      // Unmasked frames (api/frame-bytes.ts): TLS between machines, loopback otherwise.
      generateMask: zeroMask,
      ...tls,
    });
    this.socket = socket;
    const log = this.opts.log;

    const peer = new RpcPeer(socket, {
      onRequest: this.opts.onRequest,
      onEvent: this.opts.onEvent,
      onBinary: this.opts.onBinary,
      onFrame: (frame) => {
        if (frame.type !== 'welcome') return;
        this.attempt = 0;
        log.info({ node: frame.nodeName, heartbeatMs: frame.heartbeatMs }, 'connected to the server');
        this.clearHeartbeat();
        this.heartbeat = setInterval(() => void this.sendReport(peer, 'heartbeat'), frame.heartbeatMs);
        this.connectedOnce?.();
        this.connectedOnce = null;
        this.opts.onWelcome?.();
      },
      onProtocolError: (err) => log.warn({ err: err.message }, 'server sent a bad frame'),
      onHandlerError: (err) => log.error({ err }, 'handling a frame from the server failed'),
    });
    this.peer = peer;

    socket.on('open', () => void this.sendReport(peer, 'hello'));
    socket.on('unexpected-response', (_req, res) => {
      // 401 is final: the credential was revoked (the node removed) and no redial can change
      // that, so the agent stops instead of hammering the server.
      if (res.statusCode === 401) this.revoked('the server refused this node credential (the node was removed or its credential revoked)');
      else log.warn({ status: res.statusCode }, 'the server refused the agent connection');
      socket.terminate();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && TLS_CERT_ERROR_CODES.has(err.code)) {
        log.error(
          { code: err.code, server: this.opts.server },
          "the server's certificate is not vouched for by the CA this node pinned; not connecting (rejoin with a new join token if the server's CA was replaced on purpose)",
        );
      } else log.debug({ err: err.message }, 'connection error');
    });
    socket.on('close', (code, reason) => {
      this.clearHeartbeat();
      if (this.peer === peer) this.peer = null;
      this.opts.onDisconnected?.();
      if (this.stopped) return;
      if (code === 4004) return this.revoked(`the server closed the connection: ${reason.toString() || 'node credential revoked'}`);
      if (code === 4001) log.error({ reason: reason.toString() }, 'the server speaks another agent protocol version; upgrade berth on this node');
      const delay = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
      this.attempt++;
      log.info({ code, retryInMs: Math.round(delay) }, 'disconnected from the server; will redial');
      this.retry = setTimeout(() => this.dial(), delay);
    });
  }

  private revoked(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.clearHeartbeat();
    this.opts.log.error(
      `${why}; this agent stops and will not redial. To bring the machine back, join it again with a new token from \`berth node join-token\` (after removing its state dir).`,
    );
    this.opts.onRevoked?.(why);
  }

  private async sendReport(peer: RpcPeer, type: 'hello' | 'heartbeat'): Promise<void> {
    try {
      const report = await this.opts.report();
      if (type === 'hello') peer.send({ type, protocolVersion: AGENT_PROTOCOL_VERSION, ...report });
      else peer.send({ type, ...report });
    } catch (err) {
      this.opts.log.warn({ err }, 'could not build the state report');
    }
  }

  private clearHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
