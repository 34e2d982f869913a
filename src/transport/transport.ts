/**
 * The Transport interface: how berth runs commands and moves files on a host. Providers get a
 * Transport and never import child_process, so the same provider code drives the local
 * machine, a machine over SSH, or (later) a machine behind an agent.
 */
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../api/errors.js';

/** A running command (on a host, or inside a workspace). With a tty, everything arrives on stdout. */
export interface ExecSession {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  resize(cols: number, rows: number): Promise<void>;
  /** Resolves with the exit code once the command ended and its output was fully read. */
  wait(): Promise<number>;
  /** Ends the session early (the client went away). */
  close(): void;
}

/** What to run: an argv (never a shell string), with optional environment, directory and terminal. */
export interface ExecParams {
  /** The program and its arguments; no shell is involved unless cmd itself names one. */
  cmd: string[];
  /** Variables added to (and overriding) the environment the command would otherwise get. */
  env?: Record<string, string>;
  /** Absolute directory to run in; the transport's default (usually home) when absent. */
  cwd?: string;
  /** Allocate a terminal; stdout then carries everything and stderr stays empty. */
  tty?: boolean;
  cols?: number;
  rows?: number;
  /** Aborting kills the command (or cancels the start if it has not started yet). */
  signal?: AbortSignal;
}

/** `run()` parameters: an exec plus what to feed on stdin and how long to allow. */
export interface RunParams extends ExecParams {
  /** Written to stdin, which is then closed; stdin is closed at once when absent. */
  input?: string | Buffer;
  /** Kill the command and throw TIMEOUT after this many milliseconds. */
  timeoutMs?: number;
}

/** The collected result of `run()`; output is decoded as UTF-8. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs commands and moves files on one host. */
export interface Transport {
  /** Where commands run, for messages and logs: "local", "ssh root@127.0.0.1:2201". */
  readonly description: string;
  /** Starts a command with streaming stdin/stdout/stderr; the caller must read stdout. */
  exec(p: ExecParams): Promise<ExecSession>;
  /** Runs a command to completion and collects its output; a non-zero exit is a result, not an error. */
  run(p: RunParams): Promise<RunResult>;
  /** Reads a whole file; NOT_FOUND when it does not exist. */
  readFile(path: string): Promise<Buffer>;
  /** Writes a whole file, replacing it; `mode` (e.g. 0o600) is applied even when the file existed. */
  writeFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
  /** Releases connections and ends sessions still running. */
  close(): Promise<void>;
}

/** The shell convention for a command killed by a signal: 128 + the signal's number (SIGKILL → 137). */
export function exitCodeForSignal(signal: string): number {
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof osConstants.signals;
  const n = osConstants.signals[name];
  // An unknown signal name still has to be reported as "killed"; 128 alone says so without lying about which.
  return 128 + (typeof n === 'number' ? n : 0);
}

/**
 * Rejects an empty argv, an environment name no shell could carry, and any NUL byte, before
 * anything runs. A NUL cannot be in an argv or an environment: spawn refuses it, and on the
 * SSH transport the remote shell would cut the quoted command line short at it.
 */
export function validateExecParams(p: ExecParams): void {
  if (!Array.isArray(p.cmd) || p.cmd.length === 0 || p.cmd[0] === '') {
    throw new BerthError('INVALID_ARGUMENT', 'Give a command to run: cmd must name a program.', { field: 'cmd' });
  }
  if (p.cmd.some((a) => typeof a !== 'string' || a.includes('\0'))) {
    throw new BerthError('INVALID_ARGUMENT', 'A command argument contains a NUL byte, which no program can receive: remove it.', { field: 'cmd' });
  }
  for (const [name, value] of Object.entries(p.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Environment name "${JSON.stringify(name.slice(0, 80)).slice(1, -1)}" is not valid: use letters, digits and _ only.`,
        {
          field: 'env',
        },
      );
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new BerthError('INVALID_ARGUMENT', `Environment variable ${name} contains a NUL byte, which no environment can carry: remove it.`, {
        field: 'env',
      });
    }
  }
  if (p.cwd !== undefined && (!p.cwd.startsWith('/') || p.cwd.includes('\0'))) {
    throw new BerthError('INVALID_ARGUMENT', `cwd must be an absolute path without NUL bytes, got "${JSON.stringify(p.cwd.slice(0, 200)).slice(1, -1)}".`, {
      field: 'cwd',
    });
  }
}

/**
 * Implements `Transport.run` on top of `exec`, so every transport collects output, feeds
 * input and enforces timeouts the same way.
 */
export async function runViaExec(transport: Pick<Transport, 'exec' | 'description'>, p: RunParams): Promise<RunResult> {
  const { input, timeoutMs, ...execParams } = p;
  const session = await transport.exec(execParams);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  session.stdout.on('data', (c: Buffer) => stdout.push(Buffer.from(c)));
  session.stderr.on('data', (c: Buffer) => stderr.push(Buffer.from(c)));
  // A command that exits without reading its stdin makes our write fail with EPIPE; the
  // exit code is what matters then, so the write error is not worth a crash.
  session.stdin.on('error', () => {});
  session.stdin.end(input ?? undefined);

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (timeoutMs === undefined) return;
    timer = setTimeout(() => {
      session.close();
      reject(
        new BerthError(
          'TIMEOUT',
          `${p.cmd[0]} did not finish within ${timeoutMs} ms on ${transport.description}; it was killed. Allow more time or check why it hangs.`,
          { detail: Buffer.concat(stderr).toString('utf8').slice(-2000) },
        ),
      );
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([session.wait(), timedOut]);
    return { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  } finally {
    clearTimeout(timer);
  }
}
