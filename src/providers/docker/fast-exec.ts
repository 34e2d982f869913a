/**
 * A command through berth-in's exec server inside the container (native/berth-in/execserver.go),
 * reached at /proc/PID/root/run/berth/exec.sock from this host: the same streams, exit codes,
 * stdin end, terminal and resize as the engine's exec (exec.ts), without its ~80 ms of
 * dockerd → containerd → runc per command.
 */
import { lstat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { ExecRequest } from '../../api/index.js';
import type { ExecSession } from '../../transport/index.js';
import { CLOSED_EXIT_CODE, drained } from './exec.js';
import { EXEC_FRAME, type ExecFrame, ExecFrameDecoder, encodeExecFrame, MAX_EXEC_PAYLOAD, MAX_EXEC_REQUEST } from './exec-frames.js';

/** Where the server listens inside the container. */
export const EXEC_SOCKET_PATH = '/run/berth/exec.sock';

/** How long the server may take to greet: it answers at once, or it is not there. */
const HELLO_TIMEOUT_MS = 1000;

/** The socket of the server in the container whose init has host PID `pid`. */
export function execSocketOf(pid: number): string {
  return `/proc/${pid}/root${EXEC_SOCKET_PATH}`;
}

/**
 * True when /run, /run/berth and the socket in the container are a directory, a directory and
 * a socket, none a symlink: past /proc/PID/root an absolute symlink would resolve on this
 * host, and the container's root could aim it anywhere. (The hello check below is the wall;
 * this keeps a hostile workspace from making each of its commands wait for a hello timeout.)
 */
export async function plainSocketPath(pid: number): Promise<boolean> {
  const root = `/proc/${pid}/root`;
  try {
    const [run, dir, sock] = await Promise.all([lstat(`${root}/run`), lstat(`${root}/run/berth`), lstat(execSocketOf(pid))]);
    return run.isDirectory() && dir.isDirectory() && sock.isSocket();
  } catch {
    return false;
  }
}

/**
 * A connection to the server at `path` that greeted as `workspaceId`'s, or null (nothing
 * listens, the hello is late or malformed, or it names another workspace: a reused PID).
 */
export function dialExecServer(path: string, workspaceId: string, timeoutMs = HELLO_TIMEOUT_MS): Promise<{ socket: Socket; decoder: ExecFrameDecoder } | null> {
  return new Promise((resolve) => {
    const socket = connect({ path, allowHalfOpen: false });
    const decoder = new ExecFrameDecoder();
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', fail);
      if (ok) {
        socket.pause();
        resolve({ socket, decoder });
      } else {
        socket.destroy();
        resolve(null);
      }
    };
    const fail = (): void => finish(false);
    const timer = setTimeout(fail, timeoutMs);
    const onData = (chunk: Buffer): void => {
      let frames: ExecFrame[];
      try {
        frames = decoder.push(chunk);
      } catch {
        return fail();
      }
      if (frames.length === 0) return;
      // The server sends nothing after its hello until it has a request.
      if (frames.length !== 1 || frames[0].type !== EXEC_FRAME.hello) return fail();
      try {
        const hello = JSON.parse(frames[0].payload.toString('utf8')) as { workspace?: unknown };
        finish(hello.workspace === workspaceId);
      } catch {
        fail();
      }
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', fail);
  });
}

/** The request frame, or null when it is too large for the server (the engine's exec takes it then). */
export function requestFrame(req: ExecRequest): Buffer | null {
  const body = Buffer.from(JSON.stringify({ cmd: req.cmd, env: req.env, cwd: req.cwd ?? '', tty: req.tty, cols: req.cols ?? 0, rows: req.rows ?? 0 }));
  return body.length > MAX_EXEC_REQUEST ? null : encodeExecFrame(EXEC_FRAME.request, body);
}

/** Runs `req` on a greeted connection and returns its session. */
export function startFastExec(conn: { socket: Socket; decoder: ExecFrameDecoder }, req: ExecRequest, request: Buffer): ExecSession {
  const { socket, decoder } = conn;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  if (req.tty) stderr.end();
  let closed = false;
  let exitCode: number | null = null;
  let settle: (code: number) => void = () => {};
  const ended = new Promise<number>((resolve) => {
    settle = resolve;
  });
  const finish = (code: number): void => {
    if (!stdout.writableEnded) stdout.end();
    if (!stderr.writableEnded) stderr.end();
    settle(code);
  };

  // Output goes to whoever reads it at their pace: the socket pauses while a stream is full.
  const deliver = (stream: PassThrough, payload: Buffer): void => {
    if (stream.destroyed || stream.writableEnded) return;
    if (!stream.write(Buffer.from(payload))) {
      socket.pause();
      stream.once('drain', () => socket.resume());
    }
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: ExecFrame[];
    try {
      frames = decoder.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type === EXEC_FRAME.stdout) deliver(stdout, f.payload);
      else if (f.type === EXEC_FRAME.stderr) deliver(req.tty ? stdout : stderr, f.payload);
      else if (f.type === EXEC_FRAME.exit) {
        try {
          const code = (JSON.parse(f.payload.toString('utf8')) as { code?: unknown }).code;
          exitCode = typeof code === 'number' && Number.isInteger(code) ? code : CLOSED_EXIT_CODE;
        } catch {
          exitCode = CLOSED_EXIT_CODE;
        }
        socket.end();
      }
    }
  });
  socket.on('error', () => {
    // A reset at the end of a session is normal; the exit frame (or its absence) says how it went.
  });
  socket.once('close', () => finish(closed || exitCode === null ? CLOSED_EXIT_CODE : exitCode));
  socket.write(request);
  socket.resume();

  const stdin = new Writable({
    write(chunk: Buffer, _enc, callback) {
      // Writes after the command ended are dropped, as the engine path does.
      if (socket.destroyed || !socket.writable) return callback();
      let ok = true;
      for (let at = 0; at < chunk.length; at += MAX_EXEC_PAYLOAD) {
        ok = socket.write(encodeExecFrame(EXEC_FRAME.stdin, chunk.subarray(at, at + MAX_EXEC_PAYLOAD)));
      }
      if (ok) return callback();
      let called = false;
      const once = (): void => {
        if (called) return;
        called = true;
        socket.off('drain', once);
        socket.off('close', once);
        callback();
      };
      socket.once('drain', once);
      socket.once('close', once);
    },
    final(callback) {
      if (!socket.destroyed && socket.writable) socket.write(encodeExecFrame(EXEC_FRAME.eof));
      callback();
    },
  });

  return {
    stdin,
    stdout,
    stderr,
    async resize(cols: number, rows: number) {
      if (!req.tty || socket.destroyed || !socket.writable) return;
      const size = Buffer.alloc(4);
      size.writeUInt16BE(Math.min(cols, 0xffff), 0);
      size.writeUInt16BE(Math.min(rows, 0xffff), 2);
      socket.write(encodeExecFrame(EXEC_FRAME.resize, size));
    },
    async wait() {
      const code = await ended;
      await Promise.all([drained(stdout), drained(stderr)]);
      return code;
    },
    close() {
      closed = true;
      socket.destroy();
      stdout.destroy();
      stderr.destroy();
      finish(CLOSED_EXIT_CODE);
    },
  };
}
