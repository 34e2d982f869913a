/**
 * The LXC command-line tools, run through a Transport (never child_process), always against
 * one lxcpath. Failures become BerthErrors here, once: a missing tool is PROVIDER_UNAVAILABLE,
 * anything else INTERNAL with the tool's own words in `detail`.
 */
import { BerthError } from '../../api/index.js';
import type { RunResult, Transport } from '../../transport/index.js';

/** A command that is quick unless something is wrong with the node; past this it is killed. */
const QUICK_TIMEOUT_MS = 30_000;

/** PATH for host commands: a non-login root shell may lack the sbin directories `ip` lives in. */
export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** An LXC container's state as `lxc-info -s -H` prints it. */
export type LxcState = 'RUNNING' | 'STOPPED' | 'STARTING' | 'STOPPING' | 'ABORTING' | 'FREEZING' | 'FROZEN' | 'THAWED';

/** The advice for a node without the LXC tools. */
export const INSTALL_ADVICE = 'install them with `apt-get install lxc` (see docs/providers/lxc.md)';

/** Runs LXC tools and other host commands on one node. */
export class LxcTools {
  constructor(
    readonly transport: Transport,
    readonly lxcPath: string,
  ) {}

  /** Runs a host command to completion; a non-zero exit is a result. */
  host(cmd: string[], opts: { timeoutMs?: number; signal?: AbortSignal; input?: string } = {}): Promise<RunResult> {
    return this.transport.run({ cmd, env: { PATH: HOST_PATH }, timeoutMs: opts.timeoutMs ?? QUICK_TIMEOUT_MS, signal: opts.signal, input: opts.input });
  }

  /** Runs `lxc-TOOL -P LXCPATH ARGS...`; a non-zero exit is a result. */
  run(tool: string, args: string[], opts: { timeoutMs?: number; signal?: AbortSignal; lxcPath?: string } = {}): Promise<RunResult> {
    return this.host([tool, '-P', opts.lxcPath ?? this.lxcPath, ...args], opts);
  }

  /** Runs an LXC tool and fails with a BerthError unless it exits 0; returns its stdout. */
  async check(tool: string, args: string[], doing: string, opts: { timeoutMs?: number; signal?: AbortSignal; lxcPath?: string } = {}): Promise<string> {
    const r = await this.run(tool, args, opts);
    if (r.code !== 0) throw toolError(tool, r, doing, this.transport.description);
    return r.stdout;
  }

  /**
   * The container's state, or null when no such container exists in the lxcpath. A running
   * container is recognised from its cgroup (LXC 4+ names it lxc.payload.NAME) without
   * spawning lxc-info; everything else asks lxc-info.
   */
  async state(name: string): Promise<LxcState | null> {
    if (await this.runningByCgroup(name)) return 'RUNNING';
    const r = await this.run('lxc-info', ['-n', name, '-s', '-H']);
    if (r.code === 0) return r.stdout.trim() as LxcState;
    if (r.code === 127) throw toolError('lxc-info', r, 'asking for a container state', this.transport.description);
    // lxc-info exits 1 for "doesn't exist"; whether it does is checked on disk, not in its message.
    const exists = await this.transport.readFile(`${this.lxcPath}/${name}/config`).then(
      () => true,
      () => false,
    );
    if (!exists) return null;
    throw toolError('lxc-info', r, 'asking for a container state', this.transport.description);
  }

  /** The host PID of a running container's init (`lxc-info -p -H`), or null when it is not running. */
  async initPid(name: string): Promise<number | null> {
    const r = await this.run('lxc-info', ['-n', name, '-p', '-H']);
    const pid = Number(r.stdout.trim());
    return r.code === 0 && Number.isInteger(pid) && pid > 1 ? pid : null;
  }

  /** True when the container's cgroup holds processes (cgroup v1 pids hierarchy, or v2). */
  private async runningByCgroup(name: string): Promise<boolean> {
    for (const root of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup']) {
      const procs = await this.transport.readFile(`${root}/lxc.payload.${name}/cgroup.procs`).catch(() => null);
      if (procs !== null) return procs.toString('utf8').trim() !== '';
    }
    return false;
  }

  /** Names of the containers in the lxcpath (`lxc-ls -1`). */
  async list(): Promise<string[]> {
    const out = await this.check('lxc-ls', ['-1'], 'listing containers');
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
}

/** Turns a failed tool run into a BerthError that says what to do. */
export function toolError(tool: string, r: RunResult, doing: string, where: string): BerthError {
  const detail = (r.stderr || r.stdout).trim().slice(-2000);
  if (r.code === 127) {
    return new BerthError('PROVIDER_UNAVAILABLE', `The LXC tools are not installed on this node (${tool} not found on ${where}): ${INSTALL_ADVICE}.`, {
      detail,
    });
  }
  return new BerthError('INTERNAL', `${tool} failed while ${doing} (exit ${r.code}): see the detail, and the node's LXC setup in docs/providers/lxc.md.`, {
    detail,
  });
}
