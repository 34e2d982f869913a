/**
 * One terminal over the exec WebSocket (the frames of src/api/exec.ts, the same path as
 * `berth ws exec -t`): a login shell with a tty, keystrokes and pastes as stdin, resizes as
 * resize frames, output as bytes for the terminal.
 */
import { EXEC_CLOSE_END, execServerFrameSchema, fillPath, streams, type ExecClientFrame } from '../../../src/api/index.js';
import { socketUrl } from '../lib/api.js';

/** The user's login shell, as the SSH gateway starts it (no bash assumed in the image). */
const LOGIN_SHELL =
  'u=$(id -un 2>/dev/null || echo root); ' +
  's=$(sed -n "s/^$u:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*://p" /etc/passwd 2>/dev/null | head -n 1); ' +
  '[ -n "$s" ] && [ -x "$s" ] || s=/bin/sh; SHELL=$s; export SHELL; cd 2>/dev/null; exec "$s" -l';

/** What the terminal hears from a session. */
export interface ExecHandlers {
  output: (bytes: Uint8Array) => void;
  started: () => void;
  /** The session ended: the shell's exit code, or the API's error message. */
  ended: (how: { code: number } | { error: string }) => void;
}

/** A running terminal session. */
export interface ExecSocket {
  input(text: string): void;
  resize(cols: number, rows: number): void;
  /** Leaves the session (it lives on for a reattach), or with `end` ends it. */
  close(end?: boolean): void;
}

function b64encode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function b64decode(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Opens a shell in workspace `name` sized `cols`×`rows`, or reattaches to the one kept under
 * `id` (its recent output arrives first).
 */
export function openExec(name: string, id: string, cols: number, rows: number, h: ExecHandlers): ExecSocket {
  const socket = new WebSocket(socketUrl(fillPath(streams.workspaceExec, { name })));
  let ended = false;
  const end = (how: { code: number } | { error: string }) => {
    if (ended) return;
    ended = true;
    h.ended(how);
  };
  const send = (f: ExecClientFrame) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(f));
  };
  socket.onopen = () => send({ type: 'start', request: { cmd: ['/bin/sh', '-c', LOGIN_SHELL], tty: true, env: { TERM: 'xterm-256color' }, cols, rows }, reattach: { id } });
  socket.onmessage = (ev) => {
    let frame;
    try {
      frame = execServerFrameSchema.parse(JSON.parse(String(ev.data)));
    } catch {
      return end({ error: 'The server sent a frame this page does not understand; reload the page.' });
    }
    if (frame.type === 'started') h.started();
    else if (frame.type === 'stdout' || frame.type === 'stderr') h.output(b64decode(frame.data));
    else if (frame.type === 'exit') end({ code: frame.code });
    else end({ error: frame.error.message });
  };
  // A refused upgrade reaches the browser only as a close: say what may be wrong.
  socket.onclose = (ev) => end({ error: ev.code === 1000 ? 'The session closed.' : 'The terminal connection closed (the workspace may be stopped, or your session ended); reopen the tab to retry.' });
  return {
    input: (text) => send({ type: 'stdin', data: b64encode(text) }),
    resize: (c, r) => send({ type: 'resize', cols: c, rows: r }),
    close: (endIt) => {
      ended = true;
      socket.close(endIt ? EXEC_CLOSE_END : 1000);
    },
  };
}
