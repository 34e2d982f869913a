/**
 * What the agent does with a workspace's project spec after the provider started it (as part
 * of the create, start or restart operation, so a failure fails that operation): post_create
 * (create only), post_start, then the services — berth-in installed, services.json written,
 * the supervisor started and watched.
 */
import type { Logger } from 'pino';
import type { OpContext, ProjectSpec } from '../../../api/index.js';
import type { Provider, WorkspaceHandle } from '../../../providers/provider.js';
import type { Emit } from '../link.js';
import { runHook } from './hooks.js';
import type { WorkspaceExec } from './run-in-workspace.js';
import { servicesConfig } from './services-config.js';
import { ServicesWatcher } from './services-watch.js';
import { startSupervisor, writeServicesConfig } from './supervisor.js';

/** Puts this agent's berth-in into the workspace (berth-in/install.ts); throws when it cannot. */
export type InstallBerthIn = (provider: Provider, handle: WorkspaceHandle) => Promise<void>;

/** Runs hooks and services for the runtime. */
export class SpecRunner {
  readonly watcher: ServicesWatcher;

  constructor(
    emit: Emit,
    log: Logger,
    private readonly install: InstallBerthIn,
  ) {
    this.watcher = new ServicesWatcher(emit, log);
  }

  /** After the provider started the workspace: hooks, then services. Throws what failed (the caller undoes a create). */
  async afterStart(provider: Provider, handle: WorkspaceHandle, project: ProjectSpec | null | undefined, op: OpContext, created: boolean): Promise<void> {
    if (!project) return;
    const exec: WorkspaceExec = (req) => provider.exec(handle, req);
    if (created) await runHook('post_create', project, exec, op);
    op.signal.throwIfAborted();
    await runHook('post_start', project, exec, op);
    op.signal.throwIfAborted();
    const config = servicesConfig(project);
    if (!config) return;
    op.progress('starting services', null);
    await this.install(provider, handle);
    await writeServicesConfig(exec, config);
    await startSupervisor(exec);
    op.log(`services started in this order: ${config.startWaves.map((w) => w.join(' + ')).join(' → ')}`);
    this.watcher.watch(handle.workspaceId, exec);
  }

  /** The workspace is stopping or going: its watch ends (the supervisor goes with the workspace). */
  stopped(workspaceId: string): void {
    this.watcher.forget(workspaceId);
  }

  /** After an agent restart: re-attach to a running workspace's supervisor, if it has one. */
  adopt(provider: Provider, handle: WorkspaceHandle): void {
    this.watcher.adopt(handle.workspaceId, (req) => provider.exec(handle, req));
  }
}
