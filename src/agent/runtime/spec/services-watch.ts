/**
 * One `berth-in ctl watch` per workspace with running services: each state line it prints
 * becomes a `services.changed` event to the server. A watch that ends while the workspace
 * still wants it (the supervisor restarted, an exec hiccup) is opened again with backoff; an
 * adopted workspace (agent restart) whose first watch finds no supervisor is left alone: it
 * has no services. After each hello every last state is sent again.
 */
import type { Logger } from 'pino';
import { BERTH_IN_PATH, type SupervisorState, supervisorStateSchema } from '../../../api/index.js';
import type { ExecSession } from '../../../transport/index.js';
import type { Emit } from '../link.js';
import type { WorkspaceExec } from './run-in-workspace.js';

/** A state line longer than this is not berth-in's: the watch is dropped and opened again. */
const MAX_LINE = 1024 * 1024;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 10_000;

interface Watch {
  exec: WorkspaceExec;
  session: ExecSession | null;
  last: SupervisorState | null;
  backoffMs: number;
  timer: NodeJS.Timeout | null;
  /** True once a state line arrived: the supervisor exists, so a lost watch is re-opened. */
  seen: boolean;
}

/** Splits a byte stream into lines, refusing one past `max`. */
export function lineSplitter(onLine: (line: string) => void, max = MAX_LINE): (chunk: Buffer) => boolean {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) onLine(line);
    }
    return buf.length <= max;
  };
}

/** Parses one watch line; null when it is not a state. */
export function parseStateLine(line: string): SupervisorState | null {
  try {
    const parsed = supervisorStateSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The node's service watches. */
export class ServicesWatcher {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly emit: Emit,
    private readonly log: Logger,
  ) {}

  /** Watches a workspace whose supervisor berth just started (kept until forget). */
  watch(workspaceId: string, exec: WorkspaceExec): void {
    this.forget(workspaceId, false);
    const w: Watch = { exec, session: null, last: null, backoffMs: BACKOFF_FIRST_MS, timer: null, seen: true };
    this.watches.set(workspaceId, w);
    void this.open(workspaceId, w);
  }

  /** Re-attaches to a workspace after an agent restart; dropped if no supervisor runs there. */
  adopt(workspaceId: string, exec: WorkspaceExec): void {
    if (this.watches.has(workspaceId)) return;
    const w: Watch = { exec, session: null, last: null, backoffMs: BACKOFF_FIRST_MS, timer: null, seen: false };
    this.watches.set(workspaceId, w);
    void this.open(workspaceId, w);
  }

  /** Stops watching (the workspace stops or goes); the server forgets its state when `tell`. */
  forget(workspaceId: string, tell = true): void {
    const w = this.watches.get(workspaceId);
    if (!w) return;
    this.watches.delete(workspaceId);
    if (w.timer) clearTimeout(w.timer);
    w.session?.close();
    if (tell) this.emit('services.changed', { workspaceId, state: null, gone: true });
  }

  /** The last state of a workspace's services (null before the first line). */
  state(workspaceId: string): SupervisorState | null {
    return this.watches.get(workspaceId)?.last ?? null;
  }

  /** Sends every last state again (after a hello). */
  resendAll(): void {
    for (const [workspaceId, w] of this.watches) if (w.last) this.emit('services.changed', { workspaceId, state: w.last });
  }

  /** Ends every watch (agent shutdown); the supervisors keep running. */
  closeAll(): void {
    for (const id of [...this.watches.keys()]) this.forget(id, false);
  }

  private async open(workspaceId: string, w: Watch): Promise<void> {
    if (this.watches.get(workspaceId) !== w) return;
    let code: number;
    try {
      const session = await w.exec({ cmd: [BERTH_IN_PATH, 'ctl', 'watch'], tty: false, env: {} });
      if (this.watches.get(workspaceId) !== w) return session.close();
      w.session = session;
      session.stdin.on('error', () => {});
      session.stdin.end();
      session.stderr.resume();
      const feed = lineSplitter((line) => {
        const state = parseStateLine(line);
        if (!state) return void this.log.warn({ workspace: workspaceId, line: line.slice(0, 200) }, 'berth-in ctl watch printed something that is not a state');
        w.seen = true;
        w.backoffMs = BACKOFF_FIRST_MS;
        w.last = state;
        this.emit('services.changed', { workspaceId, state });
      });
      session.stdout.on('data', (chunk: Buffer) => {
        if (!feed(chunk)) session.close();
      });
      code = await session.wait();
    } catch (err) {
      this.log.debug({ err, workspace: workspaceId }, 'could not watch the services');
      code = -1;
    }
    if (this.watches.get(workspaceId) !== w) return;
    w.session = null;
    if (!w.seen) {
      // An adopted workspace without a supervisor (or without berth-in): nothing to watch.
      this.watches.delete(workspaceId);
      return;
    }
    this.log.debug({ workspace: workspaceId, code }, 'the services watch ended; watching again');
    w.timer = setTimeout(() => {
      w.timer = null;
      void this.open(workspaceId, w);
    }, w.backoffMs);
    w.timer.unref();
    w.backoffMs = Math.min(w.backoffMs * 2, BACKOFF_MAX_MS);
  }
}
