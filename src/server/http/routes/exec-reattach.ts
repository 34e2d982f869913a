/**
 * Terminals that outlive their WebSocket (the web UI's). The node's agent keeps them
 * (src/agent/runtime/kept-terminals.ts: the shell, its recent output, the idle timer), so a
 * restart of the server leaves them running; this only relays one browser socket to one
 * attachment. A writer must own the terminal; a read-only viewer (pairing, see
 * access/terminal-view.ts) gets output only: its input and resizes are refused here (and
 * again on the node). A writer that closes with EXEC_CLOSE_END ends the shell; any other
 * close detaches and leaves it for a reattach until idle for BERTH_WEB_TERMINAL_IDLE_MS.
 */
import type WebSocket from 'ws';
import {
  BerthError,
  DEFAULT_TERMINAL_IDLE_MS,
  EXEC_CLOSE_END,
  type ExecRequest,
  type ExecServerFrame,
  execClientFrameSchema,
  MAX_TERMINAL_IDLE_MS,
  MIN_TERMINAL_IDLE_MS,
  toApiError,
  type User,
} from '../../../api/index.js';
// Teams and sharing: a web terminal is a join, ended when access is revoked.
import { joinWorkspace } from '../../access/join.js';
import type { ExecChannel } from '../../agents/hub.js';
import type { Services } from '../../services/index.js';

/** How long the node keeps a terminal nobody is attached to: BERTH_WEB_TERMINAL_IDLE_MS, within bounds. */
export function terminalIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BERTH_WEB_TERMINAL_IDLE_MS?.trim();
  const v = raw ? Number(raw) : DEFAULT_TERMINAL_IDLE_MS;
  if (!Number.isFinite(v)) return DEFAULT_TERMINAL_IDLE_MS;
  return Math.min(MAX_TERMINAL_IDLE_MS, Math.max(MIN_TERMINAL_IDLE_MS, Math.round(v)));
}

/** Serves one exec socket whose start frame carried a reattach id. */
export function handleReattachable(
  socket: WebSocket,
  user: User,
  name: string,
  request: ExecRequest,
  reattach: { id: string; readOnly?: boolean },
  s: Services,
  /** Workspace specs: the request as a session of the workspace (spec user, workdir or home; services/spec/session-defaults.ts). */
  asSession: (workspaceId: string, request: ExecRequest) => Promise<ExecRequest> = async (_id, r) => r,
): void {
  const readOnly = reattach.readOnly === true;
  const send = (f: ExecServerFrame) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
  };
  const fail = (err: unknown) => {
    send({ type: 'error', error: toApiError(err) });
    socket.close(1000);
  };
  let channel: (ExecChannel & { end(): void }) | null = null;
  let closed: number | null = null;

  socket.on('message', (data) => {
    const parsed = (() => {
      try {
        return execClientFrameSchema.safeParse(JSON.parse(data.toString()));
      } catch {
        return null;
      }
    })();
    if (!parsed?.success) return fail(new BerthError('INVALID_ARGUMENT', 'Invalid exec frame.'));
    const frame = parsed.data;
    if (frame.type === 'start') return fail(new BerthError('INVALID_ARGUMENT', 'An exec session takes exactly one start frame.'));
    // Pairing: a viewer's keystrokes and sizes never reach the shell, whatever its page sends.
    if (readOnly) return;
    if (!channel) return; // typed before the attach finished: dropped, as a terminal not yet drawn would
    if (frame.type === 'stdin') channel.stdin(Buffer.from(frame.data, 'base64'));
    else if (frame.type === 'resize') channel.resize(frame.cols, frame.rows);
    // eof: a terminal has none (^D arrives as a byte).
  });
  let leave: (() => void) | null = null;
  socket.on('close', (code) => {
    closed = code;
    leave?.();
    if (!channel) return;
    if (code === EXEC_CLOSE_END && !readOnly) channel.end();
    else channel.close();
  });

  void (async () => {
    try {
      const ws = await s.workspaces.forExec(user, name);
      // Watching read-only (pairing) is for whoever may use the workspace, as forExec just checked.
      const c = await s.hub.attachTerminal(
        ws.nodeId,
        {
          workspaceId: ws.id,
          terminalId: reattach.id,
          owner: { id: user.id, name: user.name },
          readOnly,
          idleMs: terminalIdleMs(),
          request: await asSession(ws.id, request),
        },
        {
          output: (_stream, data) => send({ type: 'stdout', data: data.toString('base64') }),
          exit: (code, error) => {
            send(error ? { type: 'error', error } : { type: 'exit', code });
            socket.close(1000);
          },
        },
      );
      channel = c;
      // The browser went while the node attached: leave (or end) the terminal there too.
      if (closed !== null) return closed === EXEC_CLOSE_END && !readOnly ? c.end() : c.close();
      // A revoked share (or team, or user) ends this attachment; the shell is its owner's to end.
      leave = joinWorkspace(s, { workspace: ws, user, kind: 'terminal', detail: readOnly ? 'read-only' : undefined }, (message) => {
        send({ type: 'error', error: { code: 'PERMISSION_DENIED', message } });
        socket.close(1000);
      });
      send({ type: 'started' });
    } catch (err) {
      fail(err);
    }
  })();
}
