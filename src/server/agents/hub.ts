/**
 * The server's side of every agent connection: who is connected, their heartbeats, requests
 * to them, and routing of their events (operation progress, exec output) to whoever waits.
 * A node counts as online while its socket is open and its heartbeats keep arriving.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentEvent,
  type AgentEventPayload,
  type AgentMethod,
  type AgentParams,
  type AgentResult,
  type ApiError,
  BERTH_VERSION,
  BerthError,
  decodeExecData,
  type ExecRequest,
  encodeExecData,
  type ListeningPort,
  type OrphanReport,
  type SupervisorState,
  type WorkspaceReport,
} from '../../api/index.js';
import { RpcPeer } from '../../rpc/peer.js';
import type { HubMetrics } from '../metrics/server-metrics.js';
import type { Operations } from '../operations/operations.js';
import type { Store } from '../store/open.js';
import { type LocalConnector, openLocalPort } from './local-link.js';
import { NodeReports } from './node-reports.js';
import { type ReportDelta, ReportGate } from './report-gate.js';
import { ReportRecorder } from './report-recorder.js';

/** Receives one exec session's output. */
export interface ExecSink {
  output(stream: 'stdout' | 'stderr', data: Buffer): void;
  exit(code: number, error?: ApiError): void;
  /** The node cannot take more input for now (true), or can again (false). */
  inputPaused?(paused: boolean): void;
}

/** Sends input to one exec session on its node, and paces its output. */
export interface ExecChannel {
  stdin(data: Buffer): void;
  eof(): void;
  resize(cols: number, rows: number): void;
  /** Asks the node to hold this session's output (the consumer is full)... */
  pauseOutput(): void;
  /** ...and to go on. */
  resumeOutput(): void;
  close(): void;
}

interface Connection {
  nodeId: string;
  nodeName: string;
  peer: RpcPeer;
  socket: WebSocket;
  lastHeartbeat: number;
}

/** Told when a workspace stops, restarts or is deleted, with the error its sessions ended with. */
export type WorkspaceEndedListener = (workspace: { id: string; name: string }, error: ApiError) => void;

/** Told of each report of a node (its workspaces and orphans) as it arrives; must not throw. */
export type ReportListener = (nodeId: string, report: { workspaces: WorkspaceReport[]; orphans?: OrphanReport[] }) => void;

/** WebSocket close codes the agent understands. */
export const CLOSE_CODES = { protocolMismatch: 4001, replaced: 4002, noHello: 4003, revoked: 4004 } as const;

/** Tracks connected agents and talks to them. */
export class AgentHub {
  private readonly connections = new Map<string, Connection>();
  /** What each workspace listens on, as its node last said (ports.ts). */
  readonly ports = new NodeReports<ListeningPort[]>();
  /** Workspace services: each supervisor's state, as its node last said (services.ts). */
  readonly services = new NodeReports<SupervisorState>();
  private readonly execSessions = new Map<string, { nodeId: string; workspaceId: string; sink: ExecSink; destroy?: () => void }>();
  /** The in-process agent's connector, by its node (local-link.ts): its port sessions skip the agent socket. */
  private readonly localConnectors = new Map<string, LocalConnector>();
  private readonly endedListeners = new Set<WorkspaceEndedListener>();
  private readonly connectedListeners = new Set<(nodeId: string) => void>();
  /** Told of every stored report (crash safety: the server-side reaper, services/reaper.ts). */
  private readonly reportListeners = new Set<ReportListener>();
  /** Which node runs each operation the hub asked for, so only that node may report on it. */
  private readonly opNodes = new Map<string, string>();
  /** Scale: stores reports, skipping what repeats the last one (report-recorder.ts). */
  private readonly reports: ReportRecorder;

  constructor(
    store: Store,
    private readonly ops: Operations,
    private readonly log: Logger,
    readonly heartbeatMs: number,
    /** Failure detection (liveness.ts): told of every hello and heartbeat; its TTL + grace bounds isOnline. */
    private readonly liveness?: {
      heard(nodeId: string): void;
      timing: { ttlMs: number; graceMs: number };
      onFenced?(listener: (nodeId: string) => void): void;
    },
  ) {
    // Scale: a node whose rows an operation or fencing changed reconciles its next reports
    // even when they repeat the last one, for as long as the reconcile grace holds such rows back.
    this.reports = new ReportRecorder(store, heartbeatMs * 4);
    liveness?.onFenced?.((nodeId) => this.reports.markStale(nodeId));
  }

  // Metrics: what the hub reports, and the live counts read at scrape time.
  private metrics: HubMetrics | null = null;

  /** Reports hellos and stored reports to `metrics` from now on. */
  instrument(metrics: HubMetrics): void {
    this.metrics = metrics;
  }

  /** Open (welcomed) agent sockets. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Open exec sessions on all nodes. */
  get execSessionCount(): number {
    return this.execSessions.size;
  }

  /** True while the node's socket is open and a heartbeat came within the TTL + grace (three intervals without liveness settings). */
  isOnline(nodeId: string): boolean {
    const c = this.connections.get(nodeId);
    const limit = this.liveness ? this.liveness.timing.ttlMs + this.liveness.timing.graceMs : this.heartbeatMs * 3;
    return !!c && Date.now() - c.lastHeartbeat < limit;
  }

  /** True while the node's agent socket is open and welcomed (heartbeats aside). */
  isConnected(nodeId: string): boolean {
    return this.connections.has(nodeId);
  }

  /** Closes a node's socket because its credential was revoked; the agent stops redialling on this code. */
  revoke(nodeId: string): void {
    const c = this.connections.get(nodeId);
    if (!c) return;
    this.connections.delete(nodeId);
    c.socket.close(CLOSE_CODES.revoked, 'node credential revoked');
  }

  /** Takes over a freshly authenticated agent socket. */
  attach(socket: WebSocket, node: { id: string; name: string }): void {
    const log = this.log.child({ node: node.name });
    let conn: Connection | null = null;
    const helloTimer = setTimeout(() => socket.close(CLOSE_CODES.noHello, 'no hello'), 10_000);
    // Scale: hellos and heartbeats are checked part by part, only what changed (report-gate.ts).
    const gate = new ReportGate();
    const peer = new RpcPeer(socket, {
      onReport: (raw) => {
        const arrived = performance.now(); // metrics: berth_heartbeat_handling_seconds
        const checked = gate.accept(raw);
        if (!checked.ok) return log.warn({ err: checked.error }, 'agent sent a bad frame');
        const frame = checked.delta;
        if (frame.type === 'hello') {
          clearTimeout(helloTimer);
          if (frame.protocolVersion !== AGENT_PROTOCOL_VERSION) {
            log.warn({ theirs: frame.protocolVersion, ours: AGENT_PROTOCOL_VERSION }, 'agent speaks another protocol version');
            socket.close(CLOSE_CODES.protocolMismatch, `server speaks agent protocol ${AGENT_PROTOCOL_VERSION}`);
            return;
          }
          const previous = this.connections.get(node.id);
          if (previous) previous.socket.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
          conn = { nodeId: node.id, nodeName: node.name, peer, socket, lastHeartbeat: Date.now() };
          this.connections.set(node.id, conn);
          peer.send({ type: 'welcome', protocolVersion: AGENT_PROTOCOL_VERSION, nodeId: node.id, nodeName: node.name, heartbeatMs: this.heartbeatMs });
          log.info({ agentVersion: frame.agentVersion, serverVersion: BERTH_VERSION }, 'agent connected');
          this.metrics?.agentHello(node.id);
          // The hello's report is applied before the node counts as heard: whoever sees the node
          // online also sees its workspaces as the agent reported them, not still fenced `unknown`.
          // Nothing can have changed a row after the agent built this report (no operation runs
          // on a node before its hello), so it is applied without the heartbeat's grace window.
          void this.record(node.id, frame, log, 0).then((stored) => {
            if (stored) this.metrics?.reportStored(arrived);
            if (this.connections.get(node.id) === conn) this.liveness?.heard(node.id);
            for (const listener of this.connectedListeners) listener(node.id);
          });
          // The reaper sees every report whole (the gate keeps the parts an unchanged heartbeat left out).
          this.tellReport(node.id, gate.current());
        } else if (frame.type === 'heartbeat' && conn && this.connections.get(node.id) === conn) {
          conn.lastHeartbeat = Date.now();
          this.liveness?.heard(node.id);
          void this.record(node.id, frame, log).then((stored) => stored && this.metrics?.reportStored(arrived));
          this.tellReport(node.id, gate.current());
        }
      },
      // Nothing but hello counts before the connection is welcomed.
      onEvent: (name, payload) => (conn ? this.onEvent(node.id, name, payload) : log.warn({ event: name }, 'agent sent an event before hello')),
      onBinary: (frame) => (conn ? this.onBinary(node.id, frame) : log.warn('agent sent exec data before hello')),
      onProtocolError: (err) => log.warn({ err: err.message }, 'agent sent a bad frame'),
      onHandlerError: (err) => log.error({ err }, 'handling a frame from the agent failed'),
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      peer.close();
      if (conn && this.connections.get(node.id) === conn) {
        this.connections.delete(node.id);
        this.ports.forgetNode(node.id);
        this.services.forgetNode(node.id);
        this.reports.forget(node.id);
        log.info('agent disconnected');
      }
      for (const [id, s] of this.execSessions) {
        if (s.nodeId === node.id) {
          s.destroy?.();
          s.sink.exit(-1, { code: 'NODE_OFFLINE', message: 'The node went offline during the session; try again when it is back.' });
          this.execSessions.delete(id);
        }
      }
    });
  }

  /** Calls a method on a node's agent. */
  request<M extends AgentMethod>(nodeId: string, method: M, params: AgentParams<M>, timeoutMs = 0): Promise<AgentResult<M>> {
    const c = this.connections.get(nodeId);
    if (!c) return Promise.reject(new BerthError('NODE_OFFLINE', 'The node is offline: its agent is not connected. Start `berth agent` there and retry.'));
    const opId = (params as { opId?: unknown }).opId;
    // `op.cancel` names an operation without doing its work: its answer must not end the
    // node's right to report on the create or build it cancels, which is still undoing things.
    if (typeof opId !== 'string' || method === 'op.cancel') return c.peer.request(method, params, timeoutMs);
    this.opNodes.set(opId, nodeId);
    // Scale: the operation will change rows of this node; its reports reconcile until that settles.
    this.reports.markStale(nodeId);
    return c.peer.request(method, params, timeoutMs).finally(() => {
      if (this.opNodes.get(opId) === nodeId) this.opNodes.delete(opId);
      this.reports.markStale(nodeId);
    });
  }

  /**
   * Calls a method that runs under an operation, passing a cancel of that operation (its
   * signal firing) on to the node as `op.cancel`. The call still ends only when the node
   * answers, so whatever the node undoes is undone by the time this settles.
   */
  async requestForOp<M extends AgentMethod>(
    nodeId: string,
    method: M,
    params: AgentParams<M> & { opId: string },
    signal: AbortSignal,
    timeoutMs = 0,
  ): Promise<AgentResult<M>> {
    const onAbort = () => {
      const message = signal.reason instanceof Error ? signal.reason.message : 'The operation was cancelled.';
      this.request(nodeId, 'op.cancel', { opId: params.opId, message }, 15_000).catch((err: unknown) =>
        this.log.warn({ err, op: params.opId }, 'could not pass a cancel on to the node'),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const pending = this.request(nodeId, method, params, timeoutMs);
      if (signal.aborted) onAbort();
      return await pending;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Starts a command in a workspace on a node and wires its streams to `sink`. */
  async openExec(nodeId: string, workspaceId: string, request: ExecRequest, sink: ExecSink): Promise<ExecChannel> {
    return this.openSession(nodeId, workspaceId, sink, (peer, sessionId) => peer.request('exec.open', { sessionId, workspaceId, request }, 60_000));
  }

  /**
   * A TCP connection to `port` on the workspace's loopback, opened by its node, as an exec
   * session: output is the connection's bytes, eof half-closes, exit 0 when it closed.
   */
  async openPort(nodeId: string, workspaceId: string, port: number, sink: ExecSink): Promise<ExecChannel> {
    const local = this.localConnectors.get(nodeId);
    if (local && this.connections.has(nodeId)) return this.openLocal(local, nodeId, workspaceId, port, sink);
    return this.openSession(nodeId, workspaceId, sink, (peer, sessionId) => peer.request('port.open', { sessionId, workspaceId, port }, 30_000));
  }

  // Web UI: kept terminals live in the agent (src/agent/runtime/kept-terminals.ts); the hub only relays.
  /**
   * Attaches a new exec session to the terminal the node keeps under `params.terminalId`
   * (starting it when there is none and the attach may). `close` detaches and leaves the
   * shell; `end` ends it.
   */
  async attachTerminal(
    nodeId: string,
    params: Omit<AgentParams<'terminal.attach'>, 'sessionId'>,
    sink: ExecSink,
  ): Promise<ExecChannel & { end(): void; created: boolean }> {
    let created = false;
    let id = '';
    const channel = await this.openSession(nodeId, params.workspaceId, sink, async (peer, sessionId) => {
      id = sessionId;
      created = (await peer.request('terminal.attach', { ...params, sessionId }, 60_000)).created;
    });
    return {
      ...channel,
      created,
      end: () => {
        // Ended first, while the node still knows which terminal this session is attached to.
        if (this.execSessions.has(id)) this.connections.get(nodeId)?.peer.emit('terminal.end', { sessionId: id });
        channel.close();
      },
    };
  }

  /** Uses `connect` for the port sessions of `nodeId`, the server's in-process agent (local-link.ts). */
  useLocalConnector(nodeId: string, connect: LocalConnector): void {
    this.localConnectors.set(nodeId, connect);
  }

  private async openLocal(connect: LocalConnector, nodeId: string, workspaceId: string, port: number, sink: ExecSink): Promise<ExecChannel> {
    const sessionId = randomUUID();
    const session = await openLocalPort(connect, workspaceId, port, sink, () => this.execSessions.delete(sessionId));
    this.execSessions.set(sessionId, { nodeId, workspaceId, sink, destroy: session.destroy });
    return session.channel;
  }

  private async openSession(
    nodeId: string,
    workspaceId: string,
    sink: ExecSink,
    open: (peer: RpcPeer, sessionId: string) => Promise<unknown>,
  ): Promise<ExecChannel> {
    const c = this.connections.get(nodeId);
    if (!c) throw new BerthError('NODE_OFFLINE', 'The node is offline: its agent is not connected. Start `berth agent` there and retry.');
    const sessionId = randomUUID();
    this.execSessions.set(sessionId, { nodeId, workspaceId, sink });
    try {
      await open(c.peer, sessionId);
    } catch (err) {
      this.execSessions.delete(sessionId);
      throw err;
    }
    const emit = <E extends AgentEvent>(name: E, payload: AgentEventPayload<E>) => c.peer.emit(name, payload);
    return {
      stdin: (data) => c.peer.sendBinary(encodeExecData('stdin', sessionId, data)),
      eof: () => emit('exec.eof', { sessionId }),
      resize: (cols, rows) => emit('exec.resize', { sessionId, cols, rows }),
      pauseOutput: () => emit('exec.pause', { sessionId, stream: 'output' }),
      resumeOutput: () => emit('exec.resume', { sessionId, stream: 'output' }),
      close: () => {
        if (this.execSessions.delete(sessionId)) emit('exec.close', { sessionId });
      },
    };
  }

  /**
   * Ends every live session of a workspace that is stopping, restarting or being deleted: each
   * exec (the CLI's, the SSH gateway's shells, commands, SFTP helpers and port forwards) ends
   * at once with `error`, which its client is shown, and the node is told to end the command.
   * Listeners (the SSH gateway) then close what else they hold for the workspace.
   */
  endWorkspaceSessions(workspace: { id: string; name: string }, error: ApiError): number {
    let ended = 0;
    for (const [sessionId, s] of this.execSessions) {
      if (s.workspaceId !== workspace.id) continue;
      this.execSessions.delete(sessionId);
      if (s.destroy) s.destroy();
      else this.connections.get(s.nodeId)?.peer.emit('exec.close', { sessionId });
      s.sink.exit(-1, error);
      ended++;
    }
    for (const listener of this.endedListeners) {
      try {
        listener(workspace, error);
      } catch (err) {
        this.log.warn({ err }, 'a workspace-ended listener threw');
      }
    }
    return ended;
  }

  /** Calls `listener` whenever a workspace's sessions are ended; returns a function that stops it. */
  onWorkspaceEnded(listener: WorkspaceEndedListener): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Calls `listener` with the node's id each time an agent has connected and sent its first report; returns a function that stops it. */
  onNodeConnected(listener: (nodeId: string) => void): () => void {
    this.connectedListeners.add(listener);
    return () => this.connectedListeners.delete(listener);
  }

  /** Calls `listener` with each hello's and heartbeat's report as it arrives; returns a function that stops it. */
  onReport(listener: ReportListener): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** Hands every hello and heartbeat to the report listeners, whether or not its storing is skipped or fails. */
  private tellReport(nodeId: string, report: Parameters<ReportListener>[1]): void {
    for (const listener of this.reportListeners) listener(nodeId, report);
  }

  /** Closes every agent connection (server shutdown). */
  closeAll(): void {
    for (const c of this.connections.values()) c.socket.close(1001, 'server shutting down');
  }

  private onEvent(nodeId: string, name: AgentEvent, payload: unknown): void {
    switch (name) {
      // A node reports only on operations it was asked to run, never on another node's.
      case 'op.progress': {
        const p = payload as AgentEventPayload<'op.progress'>;
        if (this.opNodes.get(p.opId) === nodeId) this.ops.reporter(p.opId)?.progress(p.stage, p.fraction);
        return;
      }
      case 'op.log': {
        const p = payload as AgentEventPayload<'op.log'>;
        if (this.opNodes.get(p.opId) === nodeId) this.ops.reporter(p.opId)?.log(p.line);
        return;
      }
      case 'ports.changed': {
        const p = payload as AgentEventPayload<'ports.changed'>;
        if (p.gone) this.ports.forget(nodeId, p.workspaceId);
        else this.ports.set(nodeId, p.workspaceId, p.ports);
        return;
      }
      // Workspace services.
      case 'services.changed': {
        const p = payload as AgentEventPayload<'services.changed'>;
        if (p.state) this.services.set(nodeId, p.workspaceId, p.state);
        else this.services.forget(nodeId, p.workspaceId);
        return;
      }
      case 'exec.pause':
      case 'exec.resume': {
        const p = payload as AgentEventPayload<'exec.pause'>;
        const s = this.execSessions.get(p.sessionId);
        if (s && s.nodeId === nodeId && p.stream === 'input') s.sink.inputPaused?.(name === 'exec.pause');
        return;
      }
      case 'exec.exit': {
        const p = payload as AgentEventPayload<'exec.exit'>;
        const s = this.execSessions.get(p.sessionId);
        if (s && s.nodeId === nodeId) {
          this.execSessions.delete(p.sessionId);
          s.sink.exit(p.exitCode, p.error);
        }
        return;
      }
      default:
        this.log.warn({ event: name }, 'agent sent an event meant for agents');
    }
  }

  /** Exec output from a node, routed to the session's sink. */
  private onBinary(nodeId: string, frame: Buffer): void {
    const data = decodeExecData(frame);
    if (!data || data.kind === 'stdin') return this.log.warn('agent sent a malformed exec frame');
    const s = this.execSessions.get(data.sessionId);
    if (s && s.nodeId === nodeId) s.sink.output(data.kind, data.payload);
  }

  /** Stores a hello's or heartbeat's report (true once stored); rows changed within `graceMs` are left for the next report (see reconcile.ts). */
  private async record(nodeId: string, report: ReportDelta, log: Logger, graceMs = this.heartbeatMs * 2): Promise<boolean> {
    try {
      await this.reports.record(nodeId, report, log, graceMs);
      return true;
    } catch (err) {
      log.warn({ err }, 'could not record agent report');
      return false;
    }
  }
}
