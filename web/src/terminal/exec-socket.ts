/**
 * One terminal over the exec WebSocket (the frames of src/api/exec.ts, the same path as
 * `berth ws exec -t`): a login shell with a tty, keystrokes and pastes as stdin, resizes as
 * resize frames, output as bytes for the terminal.
 */
import { EXEC_CLOSE_END, type ExecClientFrame, type ExecServerFrame, execServerFrameSchema, fillPath, streams } from '../../../src/api/index.js';
import { socketUrl } from '../lib/api.js';

/** The user's login shell, as the SSH gateway starts it (no bash assumed in the image); the server starts it as the workspace spec's user, in its workdir or home. */
const LOGIN_SHELL =
  'u=$(id -un 2>/dev/null || echo root); ' +
  's=$(sed -n "s/^$u:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*://p" /etc/passwd 2>/dev/null | head -n 1); ' +
  '[ -n "$s" ] && [ -x "$s" ] || s=/bin/sh; case "$s" in */nologin | */false) s=/bin/sh;; esac; SHELL=$s; export SHELL; exec "$s" -l';

/** What the terminal hears from a session. */
export interface ExecHandlers {
  output: (bytes: Uint8Array) => void;
  started: () => void;
  /** The connection dropped (a network blip, a server restart) and is being made again; its kept output will be replayed whole. */
  reconnecting: () => void;
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

/** Pauses between tries to reconnect a dropped terminal, then the last one again, for about two minutes in all. */
const RETRY_MS = [250, 500, 1000, 2000, 4000];
const RETRY_FOR_MS = 120_000;

/**
 * Opens a shell in workspace `name` sized `cols`×`rows`, or reattaches to the one the node
 * keeps under `id` (its recent output arrives first). With `readOnly`, watches someone's kept
 * terminal (output only; the server refuses whatever input is sent). A connection that drops
 * without the session ending (a blip, a restart of the server) is made again.
 */
export function openExec(name: string, id: string, cols: number, rows: number, h: ExecHandlers, opts: { readOnly?: boolean } = {}): ExecSocket {
  let ended = false;
  let size = { cols, rows };
  let socket: WebSocket;
  let tries = 0;
  let droppedAt = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const end = (how: { code: number } | { error: string }) => {
    if (ended) return;
    ended = true;
    h.ended(how);
  };
  const send = (f: ExecClientFrame) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(f));
  };
  const connect = () => {
    socket = new WebSocket(socketUrl(fillPath(streams.workspaceExec, { name })));
    let finished = false; // an exit or error frame came: the session is over, not dropped
    socket.onopen = () =>
      send({
        type: 'start',
        request: { cmd: ['/bin/sh', '-c', LOGIN_SHELL], tty: true, env: { TERM: 'xterm-256color' }, ...size },
        reattach: opts.readOnly ? { id, readOnly: true } : { id },
      });
    socket.onmessage = (ev) => {
      let frame: ExecServerFrame;
      try {
        frame = execServerFrameSchema.parse(JSON.parse(String(ev.data)));
      } catch {
        return end({ error: 'The server sent a frame this page does not understand; reload the page.' });
      }
      if (frame.type === 'started') {
        tries = 0;
        droppedAt = 0;
        h.started();
      } else if (frame.type === 'stdout' || frame.type === 'stderr') h.output(b64decode(frame.data));
      else if (frame.type === 'exit') {
        finished = true;
        end({ code: frame.code });
      } else if (frame.error.code === 'NODE_OFFLINE') {
        // The server lost the node for a moment (or is restarting): the terminal is still kept there.
        finished = false;
      } else {
        finished = true;
        end({ error: frame.error.message });
      }
    };
    socket.onclose = (ev) => {
      if (ended || finished) return end({ error: 'The session closed.' });
      droppedAt ||= Date.now();
      // A refused upgrade reaches the browser only as a close; after two minutes of those, stop and say so.
      if (Date.now() - droppedAt > RETRY_FOR_MS) {
        return end({
          error:
            ev.code === 1000
              ? 'The session closed.'
              : 'The terminal connection closed (the workspace may be stopped, or your session ended); reopen the tab to retry.',
        });
      }
      h.reconnecting();
      retry = setTimeout(connect, RETRY_MS[Math.min(tries++, RETRY_MS.length - 1)]);
    };
  };
  connect();
  return {
    input: (text) => send({ type: 'stdin', data: b64encode(text) }),
    resize: (c, r) => {
      size = { cols: c, rows: r };
      send({ type: 'resize', cols: c, rows: r });
    },
    close: (endIt) => {
      ended = true;
      clearTimeout(retry);
      socket.close(endIt ? EXEC_CLOSE_END : 1000);
    },
  };
}
