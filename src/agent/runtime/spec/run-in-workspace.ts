/**
 * Running a command inside a workspace from the agent, through the provider's exec (so Docker,
 * LXC and QEMU alike): collected to its end with the last lines of its output kept, optionally
 * fed stdin. What the hooks and the services set-up are built on.
 */
import type { ExecRequest } from '../../../api/index.js';
import type { ExecSession } from '../../../transport/index.js';

/** Starts a command in one workspace. */
export type WorkspaceExec = (req: ExecRequest) => Promise<ExecSession>;

/** How much of a command's output is kept for an error message. */
export const TAIL_LINES = 20;
const TAIL_BYTES = 64 * 1024;

/** A finished command: its exit code and the last lines of its output (stdout and stderr as they came). */
export interface RunResult {
  code: number;
  tail: string[];
}

/** Keeps the last bytes of a stream of output; `lines()` gives its last lines. */
export class OutputTail {
  private text = '';
  /** Adds a chunk, dropping the oldest text beyond the cap. */
  push(chunk: string): void {
    this.text += chunk;
    if (this.text.length > TAIL_BYTES) this.text = this.text.slice(this.text.length - TAIL_BYTES);
  }
  /** The last `n` non-empty lines. */
  lines(n = TAIL_LINES): string[] {
    return this.text
      .split(/\r?\n/)
      .filter((l) => l.length > 0)
      .slice(-n);
  }
}

/** Runs one command to its end; `onLine` hears each complete line of output (for the operation's log). */
export async function runToEnd(
  exec: WorkspaceExec,
  req: ExecRequest,
  opts: { input?: string; onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<RunResult> {
  const session = await exec(req);
  const tail = new OutputTail();
  let partial = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail.push(text);
    if (!opts.onLine) return;
    const parts = (partial + text).split(/\r?\n/);
    partial = parts.pop() ?? '';
    for (const line of parts) opts.onLine(line);
  };
  session.stdout.on('data', take);
  session.stderr.on('data', take);
  session.stdin.on('error', () => {});
  session.stdin.end(opts.input);
  const onAbort = () => session.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await session.wait();
    if (partial && opts.onLine) opts.onLine(partial);
    return { code, tail: tail.lines() };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
