/**
 * One end of the agent protocol over a WebSocket: typed requests matched to responses by id,
 * one-way events, and validation of every frame that arrives. The server and the agent each
 * hold one RpcPeer per connection; which methods a side answers is up to its handlers.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { frameBytes } from '../api/frame-bytes.js';
import {
  type AgentEvent,
  type AgentEventPayload,
  type AgentFrame,
  type AgentMethod,
  type AgentParams,
  type AgentResult,
  agentEvents,
  agentFrameSchema,
  agentMethods,
  BerthError,
  toApiError,
} from '../api/index.js';

/** Answers one request; throw a BerthError to answer with an error. */
export type RequestHandler = (method: AgentMethod, params: unknown) => Promise<unknown>;
/** Receives one event with its already-validated payload. */
export type EventHandler = (name: AgentEvent, payload: unknown) => void;
/** Receives frames that are neither requests, responses nor events (hello, welcome, heartbeat). */
export type FrameHandler = (frame: AgentFrame) => void;

interface Pending {
  method: AgentMethod;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
}

/** Typed RPC over one WebSocket. */
export class RpcPeer {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly handlers: {
      onRequest?: RequestHandler;
      onEvent?: EventHandler;
      onFrame?: FrameHandler;
      /**
       * Receives hello and heartbeat frames decoded but NOT validated, instead of onFrame: the
       * handler must check them (the server's report gate checks only the parts that changed).
       */
      onReport?: (frame: Record<string, unknown>) => void;
      onProtocolError?: (err: Error) => void;
      /** Receives binary frames (exec data); without it they are protocol errors. */
      onBinary?: (frame: Buffer) => void;
      /**
       * Receives what a handler threw while handling a frame. A throw inside a socket listener
       * would otherwise escape to the process and end it, whatever the frame was.
       */
      onHandlerError?: (err: unknown) => void;
    },
  ) {
    socket.on('message', (data, isBinary) => {
      try {
        if (isBinary) {
          if (!this.handlers.onBinary) return this.protocolError(new Error('this side takes no binary frames'));
          return this.handlers.onBinary(frameBytes(data));
        }
        this.receive(data.toString());
      } catch (err) {
        if (this.handlers.onHandlerError) this.handlers.onHandlerError(err);
        else this.protocolError(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('close', () =>
      this.failAll(new BerthError('NODE_OFFLINE', 'The connection to the node closed before it answered; check that its agent is running.')),
    );
  }

  /** Sends a raw frame (hello, welcome, heartbeat). */
  send(frame: AgentFrame): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a binary frame; dropped when the socket is not open. */
  sendBinary(frame: Buffer): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(frame, { binary: true });
  }

  /** Bytes queued on the socket but not yet handed to the kernel, for backpressure. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Calls a method on the other side and waits for its validated result. */
  request<M extends AgentMethod>(method: M, params: AgentParams<M>, timeoutMs = 0): Promise<AgentResult<M>> {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) {
      return Promise.reject(new BerthError('NODE_OFFLINE', 'The node is not connected; check that its agent is running.'));
    }
    const id = randomUUID();
    return new Promise<AgentResult<M>>((resolve, reject) => {
      const p: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new BerthError('TIMEOUT', `The node did not answer ${method} within ${Math.round(timeoutMs / 1000)} s; check the agent's log.`));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.send({ type: 'request', id, method, params });
    });
  }

  /** Sends a one-way event. */
  emit<E extends AgentEvent>(name: E, payload: AgentEventPayload<E>): void {
    this.send({ type: 'event', name, payload });
  }

  /** Rejects everything in flight and stops answering. */
  close(reason?: BerthError): void {
    if (this.closed) return;
    this.failAll(reason ?? new BerthError('NODE_OFFLINE', 'The connection to the node closed.'));
    this.closed = true;
  }

  private failAll(err: BerthError): void {
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  private receive(text: string): void {
    let frame: AgentFrame;
    try {
      const raw: unknown = JSON.parse(text);
      if (this.handlers.onReport && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
        const type = (raw as { type?: unknown }).type;
        if (type === 'hello' || type === 'heartbeat') return this.handlers.onReport(raw as Record<string, unknown>);
      }
      const parsed = agentFrameSchema.safeParse(raw);
      if (!parsed.success) return this.protocolError(new Error(`invalid frame: ${parsed.error.issues[0]?.message}`));
      frame = parsed.data;
    } catch (err) {
      return this.protocolError(err as Error);
    }
    switch (frame.type) {
      case 'request':
        return void this.answer(frame.id, frame.method, frame.params);
      case 'response':
        return this.settle(frame);
      case 'event': {
        // Own keys only: a name such as `constructor` must not find Object's prototype.
        const schema = Object.hasOwn(agentEvents, frame.name) ? agentEvents[frame.name as AgentEvent] : undefined;
        if (!schema) return this.protocolError(new Error(`unknown event ${frame.name}`));
        const payload = schema.safeParse(frame.payload);
        if (!payload.success) return this.protocolError(new Error(`invalid ${frame.name} payload`));
        return this.handlers.onEvent?.(frame.name as AgentEvent, payload.data);
      }
      default:
        return this.handlers.onFrame?.(frame);
    }
  }

  private async answer(id: string, method: string, rawParams: unknown): Promise<void> {
    try {
      const spec = Object.hasOwn(agentMethods, method) ? agentMethods[method as AgentMethod] : undefined;
      if (!spec) throw new BerthError('UNSUPPORTED', `This agent does not know the method ${method}; upgrade it to match the server.`);
      const params = spec.params.safeParse(rawParams);
      if (!params.success) throw new BerthError('INVALID_ARGUMENT', `Invalid parameters for ${method}: ${params.error.issues[0]?.message}.`);
      if (!this.handlers.onRequest) throw new BerthError('UNSUPPORTED', `This side answers no requests (${method}).`);
      const result = await this.handlers.onRequest(method as AgentMethod, params.data);
      this.send({ type: 'response', id, result: result ?? {} });
    } catch (err) {
      this.send({ type: 'response', id, error: toApiError(err) });
    }
  }

  private settle(frame: Extract<AgentFrame, { type: 'response' }>): void {
    const p = this.pending.get(frame.id);
    if (!p) return;
    this.pending.delete(frame.id);
    if (p.timer) clearTimeout(p.timer);
    if (frame.error) return p.reject(BerthError.fromApi(frame.error));
    const result = agentMethods[p.method].result.safeParse(frame.result);
    if (!result.success) {
      return p.reject(new BerthError('INTERNAL', `The node answered ${p.method} with an invalid result; agent and server versions may differ.`));
    }
    p.resolve(result.data);
  }

  private protocolError(err: Error): void {
    this.handlers.onProtocolError?.(err);
  }
}
