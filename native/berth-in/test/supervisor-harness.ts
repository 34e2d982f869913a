/**
 * A supervisor on this host under a temp --root, for the supervisor tests: services.json is
 * written from the contract's own ResolvedService type, so a drift between the TypeScript
 * contract and the Go reader fails to compile here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedService } from '../../../src/api/spec-resolve.js';
import { BIN, until } from './harness.js';

/** One service line of `ctl status`. */
export interface ServiceView {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  exitCode: number | null;
  startedAt: string | null;
  healthFailures: number;
  lastHealthOutput: string | null;
  message: string | null;
}
/** `ctl status`. */
export interface StateView {
  supervisorPid: number;
  configVersion: string;
  services: ServiceView[];
}

/** A ResolvedService with the defaults spec-resolve would give, overridden by `more`. */
export function service(name: string, argv: string[], more: Partial<ResolvedService> = {}): ResolvedService {
  return { name, argv, env: {}, workdir: null, dependsOn: [], healthcheck: null, restart: { policy: 'no', maxRetries: null }, ports: [], ...more };
}

/** A shell command as argv. */
export function sh(script: string): string[] {
  return ['/bin/sh', '-c', script];
}

/** One temp root with its supervisor. */
export class SupervisorRoot {
  private constructor(
    readonly dir: string,
    readonly env: Record<string, string>,
  ) {}

  static async make(env: Record<string, string> = {}): Promise<SupervisorRoot> {
    return new SupervisorRoot(await mkdtemp(join(tmpdir(), 'berth-in-sup-')), env);
  }

  /** Writes services.json. */
  async write(services: ResolvedService[], opts: { user?: string | null; env?: Record<string, string> } = {}): Promise<void> {
    const doc = { version: 1, user: opts.user ?? null, env: opts.env ?? {}, services, startWaves: [] };
    await writeFile(join(this.dir, 'services.json'), JSON.stringify(doc, null, 2));
  }

  /** Runs berth-in with this root. */
  run(args: string[], timeoutMs = 20_000): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(BIN, ['--root', this.dir, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...this.env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Same as run, without blocking the event loop (for commands that wait on the supervisor). */
  runAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(BIN, ['--root', this.dir, ...args], { env: { ...process.env, ...this.env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Starts the supervisor as a daemon; fails the test if it does not come up. */
  daemon(): void {
    const r = this.run(['supervise', '--daemon']);
    if (r.code !== 0) throw new Error(`supervise --daemon exited ${r.code}: ${r.stderr}`);
  }

  status(): StateView {
    const r = this.run(['ctl', 'status']);
    if (r.code !== 0) throw new Error(`ctl status exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as StateView;
  }

  svc(name: string): ServiceView {
    const s = this.status().services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in the state`);
    return s;
  }

  /** Waits until service `name` satisfies pred. */
  waitFor(name: string, pred: (s: ServiceView) => boolean, what: string, timeoutMs = 8000): Promise<ServiceView> {
    return until(`${name} ${what}`, () => {
      const s = this.svc(name);
      return pred(s) ? s : null;
    }, timeoutMs).catch((err) => {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(this.svc(name))}`);
    });
  }

  async file(name: string): Promise<string> {
    return readFile(join(this.dir, name), 'utf8').catch(() => '');
  }

  /** The supervisor's pid from its pid file, or null. */
  async supervisorPid(): Promise<number | null> {
    const t = await this.file('run/supervisor.pid');
    return t ? Number(t.trim()) : null;
  }

  /** Stops the supervisor (and so its services) and removes the root. */
  async destroy(): Promise<void> {
    const pid = await this.supervisorPid();
    const r = this.run(['ctl', 'shutdown']);
    if (r.code !== 0 && r.code !== 3 && pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether a process is alive (a zombie, exited but not yet reaped by init, is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
