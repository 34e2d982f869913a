/**
 * Runs the whole CLI in-process for tests: fake streams, a temporary HOME, captured output
 * and the exit status, exactly as `berth` would produce them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll } from 'vitest';
import type { CliIO, InputStream } from './context.js';
import { runCli } from './run.js';

/** What a test run produced. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one test run. */
export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  /** Text piped into stdin; when absent, stdin behaves like a terminal nobody types into. */
  stdin?: string;
  /** Pretend stdout is a terminal. */
  stdoutTTY?: boolean;
  home?: string;
  now?: Date;
}

class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

const homesMade: string[] = [];
// Registered when a test file imports this module: the file's HOMEs go when its tests end
// (a process 'exit' hook never runs in vitest's workers).
afterAll(() => {
  for (const home of homesMade.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A fresh temporary directory to use as HOME, removed after the test file's tests. */
export function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'berth-cli-test-'));
  homesMade.push(home);
  return home;
}

/** Runs `berth <argv>` in-process. */
export async function runBerth(argv: string[], opts: CliRunOptions = {}): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  if (opts.stdoutTTY) stdout.isTTY = true;
  const stdin = new PassThrough() as PassThrough & InputStream;
  if (opts.stdin === undefined) stdin.isTTY = true;
  else stdin.end(opts.stdin);
  const io: CliIO = {
    stdin,
    stdout,
    stderr,
    env: opts.env ?? {},
    home: opts.home ?? tempHome(),
    hostname: 'test-host',
    isRoot: false,
    now: () => opts.now ?? new Date('2024-01-01T01:00:00.000Z'),
  };
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
