/**
 * berth-in's exec server in Docker workspaces (native/berth-in/execserver.go). A workspace
 * that has the node's berth-in mounted (config.ts, NODE_BERTH_IN_PATH) starts it itself at
 * every container start, from its keepalive. Otherwise (containers made before that, or
 * where the node had no binary to mount) it is started once per container start by one
 * detached engine exec (copying berth-in in first when the workspace has none or an older
 * one) after the first command that found none; the same exec restarts a mounted one that
 * was killed. Then it is used for every command while it answers. A command never waits for
 * the server: until it greets with this workspace's id, the engine's exec runs it.
 */
import type { ExecRequest } from '../../api/index.js';
import type { ExecSession, RunResult } from '../../transport/index.js';
import { BERTH_IN_INSTALL_SCRIPT, type BerthInBuild, loadBerthIn, WORKSPACE_BERTH_IN_PATH } from '../berth-in-build.js';
import { NODE_BERTH_IN_PATH } from './config.js';
import { dialExecServer, execSocketOf, plainSocketPath, requestFrame, startFastExec } from './fast-exec.js';

/** Runs a command in a container through the engine's exec, collecting its output. */
export type EngineRun = (containerId: string, cmd: string[], input?: Buffer) => Promise<RunResult>;

/** How long after a failed start the next command may try again (a server killed by hand comes back). */
const RETRY_AFTER_MS = 30_000;

/** The command that starts the server in a workspace: from the node's mounted berth-in when there is one, else from the installed copy. */
export function execServerCommand(workspaceId: string, mounted = false): string[] {
  return [mounted ? NODE_BERTH_IN_PATH : WORKSPACE_BERTH_IN_PATH, 'exec-server', '--daemon', '--workspace', workspaceId];
}

/** Finds and starts exec servers for one provider. */
export class ExecServers {
  /** Per container start (containerId:pid): the start under way, or how and when the last one ended. */
  private readonly starts = new Map<string, { running: Promise<void> | null; endedAt: number; failed: boolean }>();
  /** Containers this provider has just made: they hold no berth-in, so no attempt is made before the copy. */
  private readonly fresh = new Set<string>();
  private build: Promise<BerthInBuild> | null = null;

  constructor(
    private readonly run: EngineRun,
    private readonly load: () => Promise<BerthInBuild> = loadBerthIn,
  ) {}

  /** The command's session through the server, or null when the engine's exec must run it (the caller then calls ensure). */
  async exec(workspaceId: string, pid: number, req: ExecRequest): Promise<ExecSession | null> {
    const request = requestFrame(req);
    if (!request) return null;
    const conn = (await plainSocketPath(pid)) ? await dialExecServer(execSocketOf(pid), workspaceId) : null;
    return conn ? startFastExec(conn, req, request) : null;
  }

  /** Whether the server in the container whose init is `pid` greets as `workspaceId`'s. */
  async answers(workspaceId: string, pid: number): Promise<boolean> {
    const conn = (await plainSocketPath(pid)) ? await dialExecServer(execSocketOf(pid), workspaceId) : null;
    conn?.socket.destroy();
    return conn !== null;
  }

  /** A container this provider made: its first start copies berth-in without asking first. */
  created(containerId: string): void {
    this.fresh.add(containerId);
  }

  /**
   * Starts the server for this container start in the background, unless one is starting or
   * recently failed. `mounted`: the container has the node's berth-in at NODE_BERTH_IN_PATH.
   */
  ensure(workspaceId: string, containerId: string, pid: number, mounted = false): Promise<void> {
    const key = `${containerId}:${pid}`;
    const known = this.starts.get(key);
    if (known?.running) return known.running;
    // A server that started and is gone since (killed by hand) is started again at once; one
    // that could not start is tried again only after a while, not at every command.
    if (known?.failed && Date.now() - known.endedAt < RETRY_AFTER_MS) return Promise.resolve();
    // Entries of this container's earlier starts are of no more use.
    for (const k of this.starts.keys()) if (k.startsWith(`${containerId}:`) && k !== key) this.starts.delete(k);
    const entry = { running: null as Promise<void> | null, endedAt: 0, failed: false };
    entry.running = this.start(workspaceId, containerId, pid, mounted)
      .then(
        (ok) => {
          entry.failed = !ok;
        },
        () => {
          // Nothing to report: every command still runs, through the engine's exec.
          entry.failed = true;
        },
      )
      .finally(() => {
        entry.running = null;
        entry.endedAt = Date.now();
      });
    this.starts.set(key, entry);
    return entry.running;
  }

  /** The container is gone: forget it. */
  forget(containerId: string): void {
    this.fresh.delete(containerId);
    for (const k of this.starts.keys()) if (k.startsWith(`${containerId}:`)) this.starts.delete(k);
  }

  /** True when the server runs and greets as the workspace's. */
  private async start(workspaceId: string, containerId: string, pid: number, mounted: boolean): Promise<boolean> {
    const fresh = this.fresh.delete(containerId);
    // The mounted binary is this node's and read-only: nothing to copy, it starts or it does not.
    if (mounted) return (await this.run(containerId, execServerCommand(workspaceId, true))).code === 0 && (await this.answers(workspaceId, pid));
    const cmd = execServerCommand(workspaceId);
    // What answers counts, not the exit code: a berth-in replaced by something else may exit 0.
    if (!fresh && (await this.run(containerId, cmd)).code === 0 && (await this.answers(workspaceId, pid))) return true;
    // No berth-in there, or one without an exec server: copy this agent's in, then start it.
    if (!this.build)
      this.build = this.load().catch((err) => {
        this.build = null;
        throw err;
      });
    const build = await this.build;
    const copy = await this.run(containerId, ['/bin/sh', '-c', BERTH_IN_INSTALL_SCRIPT], build.binary);
    if (copy.code !== 0) return false;
    return (await this.run(containerId, cmd)).code === 0 && (await this.answers(workspaceId, pid));
  }
}
