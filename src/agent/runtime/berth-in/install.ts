/**
 * Puts berth-in into a workspace at /.berth/bin/berth-in through the provider's own exec (so
 * Docker, LXC and QEMU work alike): the binary goes over stdin into a temporary file that is
 * renamed over the old one (a running berth-in keeps its old inode; nobody runs a half-written
 * file). A workspace already holding the same version is left alone. The copy happens before
 * the first command that needs berth-in, not at create (see BerthInInstaller).
 */
import type { Logger } from 'pino';
import { BerthError } from '../../../api/index.js';
import { BERTH_IN_DOES_NOT_RUN, BERTH_IN_INSTALL_SCRIPT, WORKSPACE_BERTH_IN_PATH } from '../../../providers/berth-in-build.js';
import type { Provider, WorkspaceHandle } from '../../../providers/provider.js';
import { type RunResult, runViaExec } from '../../../transport/index.js';
import { type BerthInBuild, loadBerthIn } from './locate.js';

/** Where berth-in lives inside every workspace. */
export const BERTH_IN_PATH = WORKSPACE_BERTH_IN_PATH;

const DOES_NOT_RUN = BERTH_IN_DOES_NOT_RUN;
const INSTALL_SCRIPT = BERTH_IN_INSTALL_SCRIPT;

/** How long the version check and the copy may take (a busy VM over SSH is the slow case). */
const VERSION_TIMEOUT_MS = 15_000;
const COPY_TIMEOUT_MS = 60_000;

/** Runs one command in the workspace, collecting its output. */
function runIn(provider: Provider, handle: WorkspaceHandle, cmd: string[], input: Buffer | undefined, timeoutMs: number): Promise<RunResult> {
  const target = { description: `workspace ${handle.workspaceId}`, exec: (p: { cmd: string[] }) => provider.exec(handle, { cmd: p.cmd, tty: false, env: {} }) };
  return runViaExec(target, { cmd, input, timeoutMs });
}

/** True when an exec request runs berth-in (as its command or an argument, as the gateway's relays do). */
export function namesBerthIn(cmd: readonly string[]): boolean {
  if (cmd.includes(BERTH_IN_PATH)) return true;
  // A session as a workspace spec's user is `su -s /bin/sh -c 'ARGV…' USER` (src/api/run-as.ts): its argv words count too.
  return cmd[0] === 'su' && cmd[3] === '-c' && (cmd[4] ?? '').split(' ').includes(BERTH_IN_PATH);
}

/**
 * Installs berth-in into workspaces lazily: not at create (that cost ~125 ms of every create,
 * see docs/performance.md) but before the first command that needs it — services, the
 * gateway's ssh -R/-A relays, any exec naming BERTH_IN_PATH. At most one install per
 * workspace runs at a time, and a workspace checked since its last start is not asked again.
 */
export class BerthInInstaller {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Workspaces whose berth-in is this agent's, checked since they last started. */
  private readonly verified = new Set<string>();
  /** Workspaces made by this agent that hold no berth-in yet: the first install asks no version. */
  private readonly fresh = new Set<string>();
  private build: Promise<BerthInBuild> | null = null;

  constructor(
    private readonly log: Logger,
    private readonly load: () => Promise<BerthInBuild> = loadBerthIn,
  ) {}

  /**
   * Makes sure the workspace holds this agent's berth-in; a BerthError says why it could not.
   * `fresh`: the workspace was just made, so there is nothing to ask for a version first.
   */
  ensure(provider: Provider, handle: WorkspaceHandle, fresh = false): Promise<void> {
    const id = handle.workspaceId;
    if (this.verified.has(id)) return Promise.resolve();
    const running = this.inflight.get(id);
    if (running) return running;
    const p = this.install(provider, handle, fresh || this.fresh.has(id))
      .then(() => {
        this.verified.add(id);
        this.fresh.delete(id);
        this.log.debug({ workspace: id }, 'berth-in is in the workspace');
      })
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /** A workspace this agent has just made: it holds no berth-in until a command needs one. */
  created(workspaceId: string): void {
    this.fresh.add(workspaceId);
    this.verified.delete(workspaceId);
  }

  /** The workspace (re)started: check its berth-in again before the next use (someone may have changed it). */
  started(workspaceId: string): void {
    this.verified.delete(workspaceId);
  }

  /** The workspace is gone. */
  forget(workspaceId: string): void {
    this.verified.delete(workspaceId);
    this.fresh.delete(workspaceId);
  }

  private async install(provider: Provider, handle: WorkspaceHandle, fresh: boolean): Promise<void> {
    if (!this.build)
      this.build = this.load().catch((err) => {
        this.build = null; // a failed load is retried by the next caller
        throw err;
      });
    const build = await this.build;
    if (!fresh && (await this.installedVersion(provider, handle)) === build.version) return;
    const copy = await runIn(provider, handle, ['/bin/sh', '-c', INSTALL_SCRIPT], build.binary, COPY_TIMEOUT_MS).catch((err) => {
      throw new BerthError('INTERNAL', `Could not copy berth-in into workspace ${handle.workspaceId}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    });
    if (copy.code !== 0 && copy.code !== DOES_NOT_RUN) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Could not copy berth-in into workspace ${handle.workspaceId} (exit ${copy.code}): ${(copy.stderr || copy.stdout).trim().slice(-300) || 'no output'}. The image needs /bin/sh, cat, mkdir, chmod and mv, and / must be writable.`,
      );
    }
    const now = copy.code === 0 ? copy.stdout.trim() : null;
    if (now !== build.version) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `berth-in was copied into workspace ${handle.workspaceId} but does not run there (it printed ${JSON.stringify(now ?? '')}); berth-in is built for linux/amd64.`,
      );
    }
  }

  /** What the workspace's berth-in prints for `version`, or null when it has none that runs. */
  private async installedVersion(provider: Provider, handle: WorkspaceHandle): Promise<string | null> {
    const r = await runIn(provider, handle, [BERTH_IN_PATH, 'version'], undefined, VERSION_TIMEOUT_MS).catch(() => null);
    return r && r.code === 0 ? r.stdout.trim() : null;
  }
}
