/**
 * Kept terminals (the web UI's): shells that outlive whoever watches them, kept here on the
 * node rather than in the server, as Coder's reconnecting PTY does, so a reload, a network
 * blip, a second browser or a restart of the server finds the same shell. Each is kept under
 * (workspace, terminal id) with its owner, the last TERMINAL_REPLAY_BYTES of its output, and
 * an idle timer that runs while nobody is attached. Server sessions attach to it by their
 * exec session id: one writer (its owner; a newer writer takes over) and any number of
 * read-only viewers, which get output only: their input and resizes are dropped here too.
 */
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import {
  type AgentEvent,
  type AgentEventPayload,
  type AgentParams,
  type AgentResult,
  BerthError,
  decodeExecData,
  encodeExecData,
  MAX_TERMINALS_PER_USER,
  toApiError,
} from '../../api/index.js';
import type { ExecSession } from '../../transport/index.js';
import type { ExecLink } from './link.js';
import { OutputRing } from './output-ring.js';

interface Kept {
  key: string;
  workspaceId: string;
  id: string;
  owner: { id: string; name: string };
  session: ExecSession;
  ring: OutputRing;
  createdAt: string;
  /** The attached writer's exec session id. */
  writer: string | null;
  viewers: Set<string>;
  idleMs: number;
  idle: ReturnType<typeof setTimeout> | null;
  idleSince: string | null;
  ended: boolean;
}

/** Output pauses while the socket to the server holds more than this (as ExecSessions does). */
const SOCKET_HIGH_WATER = 8 * 1024 * 1024;
const SOCKET_LOW_WATER = 2 * 1024 * 1024;

/** Why a kept terminal ended, as the agent's metrics count them. */
export type TerminalEndReason = 'idle' | 'closed' | 'exited' | 'stopped';

/** What the agent's metrics read of the kept terminals at scrape time. */
export interface KeptTerminalStats {
  /** Terminals kept on this node. */
  open: number;
  /** Of those, the ones a writer is attached to. */
  attached: number;
  /** Read-only viewers attached, over all terminals. */
  viewers: number;
  /** Terminals ended since the agent started, by why. */
  ended: Record<TerminalEndReason, number>;
}

/** The node's kept terminals. */
export class KeptTerminals {
  /** Terminals ended since start, by why (agent metrics). */
  private readonly endedBy: Record<TerminalEndReason, number> = { idle: 0, closed: 0, exited: 0, stopped: 0 };
  private readonly kept = new Map<string, Kept>();
  /** Starts in flight, so two attaches of a new id start one shell, not two. */
  private readonly starting = new Map<string, Promise<Kept>>();
  /** Attached exec session id → its terminal and whether it may type. */
  private readonly attached = new Map<string, { term: Kept; readOnly: boolean }>();

  constructor(
    private readonly link: ExecLink,
    private readonly log: Logger,
  ) {}

  /** Attaches a server session, starting the terminal first when there is none yet (and the attach may start one). */
  async attach(p: AgentParams<'terminal.attach'>, start: () => Promise<ExecSession>): Promise<AgentResult<'terminal.attach'>> {
    const key = `${p.workspaceId}\0${p.terminalId}`;
    let term = this.kept.get(key) ?? (await this.starting.get(key)?.catch(() => undefined));
    let created = false;
    // Someone else's terminal is not there for a writer: the same answer as no terminal, so ids cannot be probed.
    const missing = () => new BerthError('NOT_FOUND', 'No such terminal in this workspace (it ended, or was idle too long); open a new one.', { field: 'id' });
    if (term && !p.readOnly && term.owner.id !== p.owner.id) throw missing();
    if (!term) {
      if (p.readOnly) throw missing();
      const mine = [...this.kept.values()].filter((k) => k.owner.id === p.owner.id).length;
      if (mine >= MAX_TERMINALS_PER_USER) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `You already keep ${MAX_TERMINALS_PER_USER} terminals open on this node; close some tabs (or wait for idle ones to end) and retry.`,
        );
      }
      const pending = this.begin(key, p, start);
      this.starting.set(key, pending);
      try {
        term = await pending;
      } finally {
        this.starting.delete(key);
      }
      created = true;
    }
    term.idleMs = p.idleMs;
    if (term.idle) clearTimeout(term.idle);
    term.idle = null;
    term.idleSince = null;
    if (p.readOnly) term.viewers.add(p.sessionId);
    else {
      // A second browser (or the same one after a blip) takes the terminal over.
      if (term.writer)
        this.detachWith(term.writer, {
          code: 'CANCELLED',
          message: 'This terminal was opened somewhere else (another browser tab or window); reload to take it back.',
        });
      term.writer = p.sessionId;
    }
    this.attached.set(p.sessionId, { term, readOnly: p.readOnly });
    const replay = term.ring.contents();
    if (replay.length > 0) this.link.sendBinary(encodeExecData('stdout', p.sessionId, replay));
    if (!p.readOnly && p.request.cols && p.request.rows) void term.session.resize(p.request.cols, p.request.rows).catch(() => {});
    return { created };
  }

  /** The terminals kept for a workspace. */
  list(workspaceId: string): AgentResult<'terminal.list'> {
    const terminals = [...this.kept.values()]
      .filter((k) => k.workspaceId === workspaceId)
      .map((k) => ({
        id: k.id,
        owner: k.owner.name,
        ownerId: k.owner.id,
        createdAt: k.createdAt,
        attached: k.writer !== null,
        viewers: k.viewers.size,
        idleSince: k.idleSince,
      }));
    return { terminals };
  }

  /** Input for an attached session (true when it was one of ours). */
  onBinary(frame: Buffer): boolean {
    const data = decodeExecData(frame);
    const a = data && this.attached.get(data.sessionId);
    if (!data || !a) return false;
    if (data.kind === 'stdin' && !a.readOnly) a.term.session.stdin.write(data.payload);
    return true;
  }

  /** A control event for an attached session (true when it was one of ours). */
  onEvent(name: AgentEvent, payload: unknown): boolean {
    const sessionId = (payload as { sessionId?: string }).sessionId;
    const a = sessionId === undefined ? undefined : this.attached.get(sessionId);
    if (!a || sessionId === undefined) return false;
    if (name === 'exec.resize' && !a.readOnly) {
      const r = payload as AgentEventPayload<'exec.resize'>;
      void a.term.session.resize(r.cols, r.rows).catch(() => {});
    } else if (name === 'exec.close') this.detach(sessionId);
    else if (name === 'terminal.end' && !a.readOnly) this.end(a.term, 'closed');
    // eof, pause and resume mean nothing to a terminal kept for whoever comes next.
    return true;
  }

  /** Ends the terminals of a workspace that stops (each attached session hears the exit). */
  closeWorkspace(workspaceId: string): void {
    for (const k of this.kept.values()) if (k.workspaceId === workspaceId) this.end(k, 'stopped');
  }

  /** The server went away: every session attached through it is gone; the terminals stay, idle. */
  detachAll(): void {
    for (const sessionId of [...this.attached.keys()]) this.detach(sessionId);
  }

  /** Ends every terminal (agent shutdown). */
  closeAll(): void {
    for (const k of this.kept.values()) this.end(k, 'stopped');
  }

  /** Kept terminals on this node. */
  get size(): number {
    return this.kept.size;
  }

  /** Counts for the agent's metrics: kept, attached, viewers, and ended by why. */
  stats(): KeptTerminalStats {
    let attached = 0;
    let viewers = 0;
    for (const k of this.kept.values()) {
      if (k.writer) attached++;
      viewers += k.viewers.size;
    }
    return { open: this.kept.size, attached, viewers, ended: { ...this.endedBy } };
  }

  private async begin(key: string, p: AgentParams<'terminal.attach'>, start: () => Promise<ExecSession>): Promise<Kept> {
    const session = await start();
    const term: Kept = {
      key,
      workspaceId: p.workspaceId,
      id: p.terminalId,
      owner: p.owner,
      session,
      ring: new OutputRing(),
      createdAt: new Date().toISOString(),
      writer: null,
      viewers: new Set(),
      idleMs: p.idleMs,
      idle: null,
      idleSince: null,
      ended: false,
    };
    this.kept.set(key, term);
    const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      term.ring.push(chunk);
      for (const sessionId of this.sessionsOf(term)) this.link.sendBinary(encodeExecData(stream, sessionId, chunk));
      if (this.link.bufferedAmount() > SOCKET_HIGH_WATER) this.holdForSocket(term);
    };
    session.stdout.on('data', forward('stdout'));
    session.stderr.on('data', forward('stderr'));
    session.stdin.on('error', () => {});
    void Promise.all([session.wait(), finished(session.stdout).catch(() => {}), finished(session.stderr).catch(() => {})]).then(
      ([code]) => this.exited(term, { sessionId: '', exitCode: code }),
      (err: unknown) => {
        this.log.warn({ err }, 'kept terminal failed');
        this.exited(term, { sessionId: '', exitCode: -1, error: toApiError(err) });
      },
    );
    return term;
  }

  private sessionsOf(term: Kept): string[] {
    return term.writer ? [term.writer, ...term.viewers] : [...term.viewers];
  }

  private exited(term: Kept, how: AgentEventPayload<'exec.exit'>): void {
    // The shell ended by itself (an end() before this has counted its own reason).
    if (!term.ended) this.endedBy.exited++;
    term.ended = true;
    if (term.idle) clearTimeout(term.idle);
    if (this.kept.get(term.key) === term) this.kept.delete(term.key);
    for (const sessionId of this.sessionsOf(term)) {
      this.attached.delete(sessionId);
      this.link.emit('exec.exit', { ...how, sessionId });
    }
    term.writer = null;
    term.viewers.clear();
  }

  private end(term: Kept, reason: TerminalEndReason): void {
    if (term.ended) return;
    term.ended = true;
    this.endedBy[reason]++;
    if (term.idle) clearTimeout(term.idle);
    // Gone at once, so an attach meanwhile starts a new shell rather than joining a dying one;
    // whoever is attached still hears its exit.
    if (this.kept.get(term.key) === term) this.kept.delete(term.key);
    term.session.close();
  }

  /** Ends one attached session's attachment, telling the server why. */
  private detachWith(sessionId: string, error: { code: 'CANCELLED'; message: string }): void {
    this.detach(sessionId);
    this.link.emit('exec.exit', { sessionId, exitCode: -1, error });
  }

  private detach(sessionId: string): void {
    const a = this.attached.get(sessionId);
    if (!a) return;
    this.attached.delete(sessionId);
    const term = a.term;
    if (term.writer === sessionId) term.writer = null;
    term.viewers.delete(sessionId);
    if (term.writer || term.viewers.size > 0 || term.ended) return;
    // Nobody watches: it is kept for the idle time, then ended.
    term.idleSince = new Date().toISOString();
    if (term.idle) clearTimeout(term.idle);
    term.idle = setTimeout(() => this.end(term, 'idle'), term.idleMs);
    term.idle.unref?.();
  }

  /** Holds one terminal's output until the socket to the server has drained. */
  private holdForSocket(term: Kept): void {
    term.session.stdout.pause();
    term.session.stderr.pause();
    const check = () => {
      if (this.link.bufferedAmount() > SOCKET_LOW_WATER) return void setTimeout(check, 5);
      term.session.stdout.resume();
      term.session.stderr.resume();
    };
    setTimeout(check, 5);
  }
}
