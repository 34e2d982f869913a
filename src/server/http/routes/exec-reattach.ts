/**
 * Terminals that outlive their WebSocket (the web UI's): a session started with a reattach
 * id is kept when its socket goes (a reload, a network blip) together with its recent output
 * (bounded), and a later socket of the same user naming the same workspace and id takes it
 * over, the output replayed first. A session nobody is attached to ends after an idle limit
 * (BERTH_WEB_TERMINAL_IDLE_MS, default 15 minutes); one whose client closes with
 * EXEC_CLOSE_END ends at once. The shell itself runs on the node as any exec session, so
 * stopping the workspace still ends it.
 */
import type WebSocket from 'ws';
import { BerthError, EXEC_CLOSE_END, execClientFrameSchema, toApiError, type ExecRequest, type ExecServerFrame, type User } from '../../../api/index.js';
import type { ExecChannel } from '../../agents/hub.js';
import type { Services } from '../../services/index.js';
// Teams and sharing: a kept terminal is a join, ended when access is revoked.
import { joinWorkspace } from '../../access/join.js';

/** Output kept for replay per session. */
export const REPLAY_BYTES = 64 * 1024;
/** Sessions one user may keep at once. */
export const MAX_SESSIONS_PER_USER = 32;

/** Recent output, at most `limit` bytes (the oldest dropped first). */
export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = REPLAY_BYTES) {}

  /** Adds output. */
  push(data: Buffer): void {
    const chunk = data.length > this.limit ? data.subarray(data.length - this.limit) : data;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** Everything kept, oldest first. */
  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

interface Kept {
  userId: string;
  channel: ExecChannel | null;
  ring: OutputRing;
  socket: WebSocket | null;
  idle: ReturnType<typeof setTimeout> | null;
  ended: boolean;
  leave?: () => void;
}

const registries = new WeakMap<Services, Map<string, Kept>>();

function idleMs(): number {
  const v = Number(process.env.BERTH_WEB_TERMINAL_IDLE_MS ?? 15 * 60_000);
  return Number.isFinite(v) && v > 0 ? v : 15 * 60_000;
}

function sendTo(socket: WebSocket | null, f: ExecServerFrame): void {
  if (socket && socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
}

/** Serves one exec socket whose start frame carried a reattach id. */
export function handleReattachable(socket: WebSocket, user: User, name: string, request: ExecRequest, id: string, s: Services): void {
  let sessions = registries.get(s);
  if (!sessions) registries.set(s, (sessions = new Map()));
  const key = `${user.id}\0${name}\0${id}`;
  const fail = (err: unknown) => {
    sendTo(socket, { type: 'error', error: toApiError(err) });
    socket.close(1000);
  };

  const end = (kept: Kept) => {
    if (kept.ended) return;
    kept.ended = true;
    if (kept.idle) clearTimeout(kept.idle);
    sessions.delete(key);
    kept.leave?.();
    kept.channel?.close();
  };

  const attach = (kept: Kept) => {
    // A second browser (or the same one after a blip) takes the session over.
    if (kept.socket && kept.socket !== socket) kept.socket.close(1000, 'reattached elsewhere');
    kept.socket = socket;
    if (kept.idle) clearTimeout(kept.idle);
    kept.idle = null;
    sendTo(socket, { type: 'started' });
    const replay = kept.ring.contents();
    if (replay.length > 0) sendTo(socket, { type: 'stdout', data: replay.toString('base64') });
    if (request.cols && request.rows) kept.channel?.resize(request.cols, request.rows);
  };

  let kept = sessions.get(key);
  const fresh = !kept;
  if (!kept) {
    if ([...sessions.values()].filter((k) => k.userId === user.id).length >= MAX_SESSIONS_PER_USER) {
      return fail(new BerthError('FAILED_PRECONDITION', `You already keep ${MAX_SESSIONS_PER_USER} terminals open; close some tabs (or wait for idle ones to end) and retry.`));
    }
    kept = { userId: user.id, channel: null, ring: new OutputRing(), socket, idle: null, ended: false };
    sessions.set(key, kept);
  }
  const k = kept;

  socket.on('message', (data) => {
    let frame;
    try {
      frame = execClientFrameSchema.parse(JSON.parse(data.toString()));
    } catch {
      return fail(new BerthError('INVALID_ARGUMENT', 'Invalid exec frame.'));
    }
    if (k.socket !== socket || !k.channel) return;
    if (frame.type === 'stdin') k.channel.stdin(Buffer.from(frame.data, 'base64'));
    else if (frame.type === 'resize') k.channel.resize(frame.cols, frame.rows);
    else if (frame.type === 'eof') k.channel.eof();
  });
  socket.on('close', (code) => {
    if (k.socket !== socket) return;
    k.socket = null;
    if (code === EXEC_CLOSE_END) return end(k);
    if (!k.ended) k.idle = setTimeout(() => end(k), idleMs());
  });

  if (!fresh) {
    void s.workspaces.forExec(user, name).then(() => attach(k), (err: unknown) => fail(err));
    return;
  }
  void (async () => {
    try {
      const ws = await s.workspaces.forExec(user, name);
      k.channel = await s.hub.openExec(ws.nodeId, ws.id, request, {
        output: (_stream, data) => {
          k.ring.push(data);
          sendTo(k.socket, { type: 'stdout', data: data.toString('base64') });
        },
        exit: (code, error) => {
          sendTo(k.socket, error ? { type: 'error', error } : { type: 'exit', code });
          k.socket?.close(1000);
          end(k);
        },
      });
      if (k.ended) return k.channel.close();
      k.leave = joinWorkspace(s, { workspace: ws, user, kind: 'terminal' }, (message) => {
        sendTo(k.socket, { type: 'error', error: { code: 'PERMISSION_DENIED', message } });
        k.socket?.close(1000);
        end(k);
      });
      sendTo(k.socket, { type: 'started' });
    } catch (err) {
      end(k);
      fail(err);
    }
  })();
}
