/**
 * What every command runs against: the process's streams and environment, collected in one
 * object so tests can run the whole CLI in-process with fake streams and a temporary HOME.
 */

import { homedir, hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { BerthClient } from '../client/index.js';

/** An input stream that may be a terminal. */
export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/** An output stream that may be a terminal. */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };

/** The process-level facts a command may read. */
export interface CliIO {
  stdin: InputStream;
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** The user's home directory. */
  home: string;
  /** This machine's host name, for defaults such as the agent's node name. */
  hostname: string;
  /** Whether berth runs as root, which moves default directories under /var/lib. */
  isRoot: boolean;
  /** The current time; a function so output with ages can be tested. */
  now: () => Date;
}

/** Per-invocation state shared by the program and the command being run. */
export interface CliContext {
  io: CliIO;
  /** True when the running command was given --json; set before its action runs. */
  json: boolean;
  /** The exit code an action wants when it ends without an error (exec passes its command's code through). */
  exitCode: number;
  /** A client for the logged-in server; throws UNAUTHENTICATED when there is none. */
  client: () => Promise<BerthClient>;
}

/** The real process's streams and facts. */
export function processIO(): CliIO {
  return {
    // A getter: Node makes process.stdin (loading the tty or pipe code for it) on first use,
    // and most commands never read it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    home: process.env.HOME || homedir(),
    hostname: hostname(),
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    now: () => new Date(),
  };
}
