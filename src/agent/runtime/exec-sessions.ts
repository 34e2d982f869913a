/**
 * Exec sessions on this node: output is forwarded as events (base64) and the exit event is
 * sent only after both output streams have ended, so no byte arrives after the exit code.
 */
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { toApiError, type AgentEvent, type AgentEventPayload } from '../../api/index.js';
import type { ExecSession } from '../../providers/provider.js';
import type { Emit } from './runtime.js';

interface Live {
  workspaceId: string;
  session: ExecSession;
  tty: boolean;
}

/** The node's open exec sessions. */
export class ExecSessions {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly emit: Emit,
    private readonly log: Logger,
  ) {}

  /** Starts a session; throws (and the server tells the client) if the command cannot start. */
  async open(sessionId: string, workspaceId: string, tty: boolean, start: () => Promise<ExecSession>): Promise<void> {
    const session = await start();
    this.live.set(sessionId, { workspaceId, session, tty });
    const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => this.emit('exec.output', { sessionId, stream, data: chunk.toString('base64') });
    session.stdout.on('data', forward('stdout'));
    session.stderr.on('data', forward('stderr'));
    session.stdin.on('error', () => {}); // the command may exit before reading all input
    void Promise.all([session.wait(), finished(session.stdout).catch(() => {}), finished(session.stderr).catch(() => {})]).then(
      ([code]) => {
        this.live.delete(sessionId);
        this.emit('exec.exit', { sessionId, exitCode: code });
      },
      (err: unknown) => {
        this.live.delete(sessionId);
        this.log.warn({ err }, 'exec session failed');
        this.emit('exec.exit', { sessionId, exitCode: -1, error: toApiError(err) });
      },
    );
  }

  /** Applies an input event from the server. */
  onEvent(name: AgentEvent, payload: unknown): void {
    const p = payload as { sessionId: string };
    const live = this.live.get(p.sessionId);
    if (!live) return;
    const s = live.session;
    switch (name) {
      case 'exec.stdin':
        s.stdin.write(Buffer.from((payload as AgentEventPayload<'exec.stdin'>).data, 'base64'));
        return;
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
    for (const l of this.live.values()) if (l.workspaceId === workspaceId) l.session.close();
  }

  /** Ends every session. */
  closeAll(): void {
    for (const l of this.live.values()) l.session.close();
    this.live.clear();
  }
}
