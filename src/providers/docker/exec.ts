/**
 * Commands in a running workspace container, through the engine's exec API with a hijacked
 * connection: stdin goes up the socket, output comes down it (multiplexed unless a tty
 * merges it), and the exit code is read from the exec's inspect once the output has ended.
 */

import { type Duplex, PassThrough, type Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import type { ExecRequest } from '../../api/index.js';
import type { ExecSession } from '../../transport/index.js';
import { envList } from './config.js';
import { createDemuxer } from './demux.js';

/** How long to keep asking for an exit code after the output ended; the engine records it a moment later. */
const EXIT_CODE_WAIT_MS = 10_000;

/** Exit code reported when the session was closed early and the command's own code is unknown. */
export const CLOSED_EXIT_CODE = -1;

/**
 * Resolves once a stream's reader has seen its end, if someone is reading it. Nobody
 * reading means nobody can miss anything, and waiting would hang forever.
 */
export function drained(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  const consumed = stream.listenerCount('data') > 0 || stream.listenerCount('readable') > 0 || stream.readableFlowing === true;
  if (!consumed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', resolve);
  });
}

/**
 * runc reports every failure to start a command as 126, with its reason as text on the output.
 * berth promises shell conventions on every provider: 127 when the command does not exist,
 * 126 when it exists but cannot run. Pid 0 is the structured sign that nothing started; only
 * then is the runtime's text consulted, to choose between the two.
 */
export function normalizeExitCode(exitCode: number, pid: number | undefined, output: string): number {
  if (exitCode !== 126 || pid !== 0) return exitCode;
  return /executable file not found|no such file or directory/i.test(output) ? 127 : 126;
}

/** Stdin towards the container: writes after the command ended are dropped instead of failing with EPIPE. */
function stdinFor(socket: Duplex): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, callback) {
      if (socket.destroyed || !socket.writable) return callback();
      if (socket.write(chunk)) return callback();
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
      // Half-close: the engine then closes the command's stdin while its output keeps flowing.
      if (!socket.destroyed && socket.writable) socket.end();
      callback();
    },
  });
}

/** Starts `req` in the container and returns its streams. The container must be running. */
export async function startExec(container: Dockerode.Container, req: ExecRequest): Promise<ExecSession> {
  const exec = await container.exec({
    Cmd: req.cmd,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: req.tty,
    Env: envList(req.env),
    ...(req.cwd ? { WorkingDir: req.cwd } : {}),
  });
  const socket = (await exec.start({ hijack: true, stdin: true, Tty: req.tty })) as Duplex;
  const resize = async (cols: number, rows: number): Promise<void> => {
    if (!req.tty) return;
    await exec.resize({ h: rows, w: cols });
  };
  // API 1.41 cannot give the size with the start request, so set it straight away: the
  // command has just begun and has almost certainly not asked for its size yet.
  if (req.tty && req.cols && req.rows) await resize(req.cols, req.rows).catch(() => {});

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  // With a tty the engine sends one raw stream; without, frames that the demuxer splits.
  const sink: Writable = req.tty ? stdout : createDemuxer(stdout, stderr);
  if (req.tty) stderr.end();
  socket.pipe(sink);
  socket.on('error', () => {
    // A reset at the end of a session is normal; the exit code says how the command did.
  });
  const outputEnded = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => {
      // A socket that closes without a clean end must still end the outputs for their readers.
      if (!sink.writableEnded) sink.end();
      resolve();
    });
  });

  // The first bytes of output, kept to tell "command not found" from other start failures.
  let head = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (head.length < 2048) head = Buffer.concat([head, chunk]).subarray(0, 2048);
  });

  let closed = false;
  const exitCode = async (): Promise<number> => {
    const deadline = Date.now() + EXIT_CODE_WAIT_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) {
        return normalizeExitCode(info.ExitCode, info.Pid, head.toString('latin1'));
      }
      if (closed || Date.now() > deadline) return CLOSED_EXIT_CODE;
      await sleep(delay);
    }
  };

  return {
    stdin: stdinFor(socket),
    stdout,
    stderr,
    resize,
    async wait() {
      await outputEnded;
      const code = await exitCode();
      await Promise.all([drained(stdout), drained(stderr)]);
      return code;
    },
    close() {
      closed = true;
      socket.destroy();
      // Unread output is thrown away: whoever closed the session no longer wants it.
      stdout.destroy();
      stderr.destroy();
    },
  };
}
