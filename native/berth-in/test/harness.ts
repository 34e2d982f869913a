/**
 * Runs the built berth-in (dist/native/berth-in) on this host with --root in a temp dir, for
 * the tests beside this file; and drives a relay through the TS codec of src/api, so the two
 * sides of the frame format are tested against each other.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayDecoder, encodeRelayFrame, type RelayFrame, type RelayFrameType } from '../../../src/api/relay-protocol.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The binary under test. */
export const BIN = join(REPO, 'dist/native/berth-in');

/** Fails with what to do when the binary was not built. */
export function requireBinary(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (it needs Go: apt-get install golang-go) before these tests.`);
}

/** Runs berth-in to completion. */
export function runBerthIn(root: string, args: string[], timeoutMs = 10_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, ['--root', root, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A relay process with its decoded output frames. */
export class RelayProc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly frames: RelayFrame[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly decoder = new RelayDecoder();
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(BIN, ['relay', ...args]);
    this.child.stdout.on('data', (c: Buffer) => {
      this.frames.push(...this.decoder.push(c));
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c));
    this.child.stdin.on('error', () => {});
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** Sends one frame to the relay's stdin. */
  send(type: RelayFrameType, id: number, payload: Uint8Array = Buffer.alloc(0)): void {
    this.child.stdin.write(encodeRelayFrame(type, id, payload));
  }

  /** Waits until a frame matching `pred` has arrived (and returns the first such). */
  async waitFrame(pred: (f: RelayFrame) => boolean, what: string, timeoutMs = 5000): Promise<RelayFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.frames.length} frames; stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** All DATA bytes that arrived for `id`, in order. */
  dataFor(id: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === 0x04 && f.id === id).map((f) => f.payload));
  }

  /** Kills the process if it still runs. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls until `fn` is truthy. */
export async function until<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
