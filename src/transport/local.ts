/**
 * The local transport: commands run on this machine with child_process.spawn, directly from
 * their argv (no shell unless cmd names one). Terminals are not supported here: allocating a
 * pty from Node needs a native addon (node-pty) that berth does not want to build; callers
 * that need a tty on this machine can use the SSH transport against localhost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, readFile as fsReadFile, writeFile as fsWriteFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { BerthError } from '../api/errors.js';
import {
  type ExecParams,
  type ExecSession,
  exitCodeForSignal,
  type RunParams,
  type RunResult,
  runViaExec,
  type Transport,
  validateExecParams,
} from './transport.js';

/** Runs commands and moves files on the machine berth itself runs on. */
export class LocalTransport implements Transport {
  /** Always "local". */
  readonly description = 'local';
  private readonly running = new Set<ExecSession>();

  /** Spawns cmd with env merged over this process's environment; tty is UNSUPPORTED. */
  async exec(p: ExecParams): Promise<ExecSession> {
    validateExecParams(p);
    if (p.tty) {
      throw new BerthError('UNSUPPORTED', 'The local transport cannot allocate a terminal; run without tty, or use the ssh transport to localhost for a tty.', {
        field: 'tty',
      });
    }
    p.signal?.throwIfAborted();
    const child = spawn(p.cmd[0], p.cmd.slice(1), {
      env: { ...process.env, ...p.env },
      cwd: p.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const session = childSession(child, p);
    this.running.add(session);
    void session.wait().then(
      () => this.running.delete(session),
      () => this.running.delete(session),
    );
    return session;
  }

  /** Runs a command to completion, collecting its output. */
  run(p: RunParams): Promise<RunResult> {
    return runViaExec(this, p);
  }

  /** Reads a file from this machine. */
  async readFile(path: string): Promise<Buffer> {
    try {
      return await fsReadFile(path);
    } catch (err) {
      throw fileError(err, 'read', path);
    }
  }

  /** Writes a file on this machine, then sets its mode (writeFile's mode only applies to new files). */
  async writeFile(path: string, data: string | Buffer, mode?: number): Promise<void> {
    try {
      await fsWriteFile(path, data, mode === undefined ? undefined : { mode });
      if (mode !== undefined) await chmod(path, mode);
    } catch (err) {
      throw fileError(err, 'write', path);
    }
  }

  /** Kills every command this transport started that is still running. */
  async close(): Promise<void> {
    for (const s of this.running) s.close();
    await Promise.allSettled([...this.running].map((s) => s.wait()));
  }
}

/** Wraps a spawned child as an ExecSession; a program that cannot start exits 127 (or 126) like in a shell. */
function childSession(child: ChildProcess, p: ExecParams): ExecSession {
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  const stdin = child.stdin!;
  // Writing to a command that already exited fails with EPIPE; the exit code tells the
  // story, so the write error must not crash the process when the caller has no handler.
  stdin.on('error', () => {});
  let spawnFailure: NodeJS.ErrnoException | undefined;
  // stderr is relayed rather than handed out so that a failed spawn can still tell the
  // caller why on stderr, as a shell would; it ends when the child is fully closed.
  const stderrOut = new PassThrough();
  stderr.pipe(stderrOut, { end: false });
  const onAbort = () => child.kill('SIGKILL');
  p.signal?.addEventListener('abort', onAbort, { once: true });

  const exited = new Promise<number>((resolve) => {
    // `on`, not `once`: a failed kill() later emits 'error' again, and an unheard one ends the process.
    child.on('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid means the program never started; 'close' still follows.
      if (child.pid === undefined) spawnFailure = err;
    });
    child.once('close', (code, signal) => {
      p.signal?.removeEventListener('abort', onAbort);
      if (spawnFailure) stderrOut.write(`berth: cannot run ${p.cmd[0]}: ${spawnFailure.message}\n`);
      stderrOut.end();
      if (spawnFailure) resolve(spawnFailure.code === 'EACCES' ? 126 : 127);
      else if (code !== null) resolve(code);
      else resolve(exitCodeForSignal(signal ?? 'SIGKILL'));
    });
  });

  return {
    stdin,
    stdout,
    stderr: stderrOut,
    resize: async () => {
      // Without a terminal there is no window size to change; accepting it keeps callers simple.
    },
    wait: () => exited,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Maps a filesystem error to a BerthError that names the path. */
function fileError(err: unknown, verb: 'read' | 'write', path: string): BerthError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new BerthError('NOT_FOUND', `Cannot ${verb} ${path} on this machine: no such file or directory.`, { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new BerthError('PERMISSION_DENIED', `Cannot ${verb} ${path} on this machine: permission denied.`, { cause: err });
  }
  return new BerthError('INTERNAL', `Cannot ${verb} ${path} on this machine: ${(err as Error).message}.`, { cause: err });
}
