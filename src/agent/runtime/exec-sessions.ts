/**
 * Exec sessions on this node. Output leaves as binary frames; the exit event is sent only
 * after both output streams have ended, so no byte arrives after the exit code.
 *
 * Flow control works at two levels. A session's output pauses when the server asks
 * (`exec.pause`, its consumer is full) and every session's output pauses while the socket to
 * the server has too much queued. Input that the command does not read fast enough makes the
 * agent ask the server to pause that session's input.
 */
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { type AgentEvent, type AgentEventPayload, decodeExecData, encodeExecData, toApiError } from '../../api/index.js';
import type { ExecSession } from '../../transport/index.js';
import { KeptTerminals } from './kept-terminals.js';
import type { ExecLink } from './link.js';

interface Live {
  workspaceId: string;
  session: ExecSession;
  tty: boolean;
  /** The server asked us to hold this session's output. */
  held: boolean;
  /** We asked the server to hold this session's input. */
  inputHeld: boolean;
}

/** Output pauses above this many queued bytes on the socket and resumes below the low mark. */
const SOCKET_HIGH_WATER = 8 * 1024 * 1024;
const SOCKET_LOW_WATER = 2 * 1024 * 1024;

/** The node's open exec sessions. */
export class ExecSessions {
  private readonly live = new Map<string, Live>();
  private socketFull = false;
  /** The web UI's terminals, kept across detaches (kept-terminals.ts); their attached sessions ride the same frames. */
  readonly terms: KeptTerminals;

  constructor(
    private readonly link: ExecLink,
    private readonly log: Logger,
  ) {
    this.terms = new KeptTerminals(link, log);
  }

  /** Starts a session; throws (and the server tells the client) if the command cannot start. */
  async open(sessionId: string, workspaceId: string, tty: boolean, start: () => Promise<ExecSession>): Promise<void> {
    const session = await start();
    const live: Live = { workspaceId, session, tty, held: false, inputHeld: false };
    this.live.set(sessionId, live);
    const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      this.link.sendBinary(encodeExecData(stream, sessionId, chunk));
      if (!this.socketFull && this.link.bufferedAmount() > SOCKET_HIGH_WATER) this.holdForSocket();
    };
    session.stdout.on('data', forward('stdout'));
    session.stderr.on('data', forward('stderr'));
    if (this.socketFull) this.applyHold(live);
    session.stdin.on('error', () => {}); // the command may exit before reading all input
    session.stdin.on('drain', () => {
      if (!live.inputHeld) return;
      live.inputHeld = false;
      this.link.emit('exec.resume', { sessionId, stream: 'input' });
    });
    void Promise.all([session.wait(), finished(session.stdout).catch(() => {}), finished(session.stderr).catch(() => {})]).then(
      ([code]) => {
        this.live.delete(sessionId);
        this.link.emit('exec.exit', { sessionId, exitCode: code });
      },
      (err: unknown) => {
        this.live.delete(sessionId);
        this.log.warn({ err }, 'exec session failed');
        this.link.emit('exec.exit', { sessionId, exitCode: -1, error: toApiError(err) });
      },
    );
  }

  /** Takes one binary frame from the server (input for a session). */
  onBinary(frame: Buffer): void {
    if (this.terms.onBinary(frame)) return;
    const data = decodeExecData(frame);
    if (data?.kind !== 'stdin') return;
    const live = this.live.get(data.sessionId);
    if (!live) return;
    if (!live.session.stdin.write(data.payload) && !live.inputHeld) {
      live.inputHeld = true;
      this.link.emit('exec.pause', { sessionId: data.sessionId, stream: 'input' });
    }
  }

  /** Applies a control event from the server. */
  onEvent(name: AgentEvent, payload: unknown): void {
    if (this.terms.onEvent(name, payload)) return;
    const p = payload as { sessionId: string };
    const live = this.live.get(p.sessionId);
    if (!live) return;
    const s = live.session;
    switch (name) {
      case 'exec.eof':
        // A terminal has no end of input (people type ^D, which arrives as a byte). Closing a
        // tty's input would hang it up and lose the output still on its way.
        if (!live.tty) s.stdin.end();
        return;
      case 'exec.resize': {
        const r = payload as AgentEventPayload<'exec.resize'>;
        void s.resize(r.cols, r.rows).catch(() => {});
        return;
      }
      case 'exec.pause':
        if ((payload as AgentEventPayload<'exec.pause'>).stream === 'output') {
          live.held = true;
          this.applyHold(live);
        }
        return;
      case 'exec.resume':
        if ((payload as AgentEventPayload<'exec.resume'>).stream === 'output') {
          live.held = false;
          if (!this.socketFull) this.release(live);
        }
        return;
      case 'exec.close':
        s.close();
        this.live.delete(p.sessionId);
        return;
      default:
        return;
    }
  }

  /** Ends the sessions of one workspace (it is stopping); each still reports its exit to its client. */
  closeWorkspace(workspaceId: string): void {
    this.terms.closeWorkspace(workspaceId);
    for (const l of this.live.values()) if (l.workspaceId === workspaceId) l.session.close();
  }

  /** Open sessions (berth_agent_exec_sessions_open). */
  get size(): number {
    return this.live.size;
  }

  /** Ends every session. */
  closeAll(): void {
    this.terms.closeAll();
    for (const l of this.live.values()) l.session.close();
    this.live.clear();
  }

  /**
   * The connection to the server was lost: the server has already ended every session it held
   * through it, so the plain ones end here too (nobody could ever read them again), while
   * kept terminals only lose their attachments and wait, idle, for a reattach.
   */
  serverGone(): void {
    this.terms.detachAll();
    for (const l of this.live.values()) l.session.close();
  }

  private applyHold(live: Live): void {
    live.session.stdout.pause();
    live.session.stderr.pause();
  }

  private release(live: Live): void {
    live.session.stdout.resume();
    live.session.stderr.resume();
  }

  /** Pauses every session's output until the socket's queue has drained below the low mark. */
  private holdForSocket(): void {
    this.socketFull = true;
    for (const l of this.live.values()) this.applyHold(l);
    const check = () => {
      if (this.link.bufferedAmount() > SOCKET_LOW_WATER) return void setTimeout(check, 5);
      this.socketFull = false;
      for (const l of this.live.values()) if (!l.held) this.release(l);
    };
    setTimeout(check, 5);
  }
}
