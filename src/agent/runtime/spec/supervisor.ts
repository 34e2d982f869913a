/**
 * Setting up a workspace's services: berth-in put in place, the config written, and the
 * supervisor started detached (`supervise --daemon` returns once it answers, and is
 * idempotent). All through the provider's exec, as root.
 */
import { BERTH_IN_PATH, BERTH_IN_ROOT, BerthError, SERVICES_CONFIG_PATH } from '../../../api/index.js';
import { runToEnd, type WorkspaceExec } from './run-in-workspace.js';
import type { ServicesConfig } from './services-config.js';

/**
 * Writes the config atomically: to a temporary name, then renamed, so a supervisor that
 * reloads never reads half a file. Needs a /bin/sh in the image.
 */
export async function writeServicesConfig(exec: WorkspaceExec, config: ServicesConfig): Promise<void> {
  const script = `set -e; mkdir -p ${BERTH_IN_ROOT}; cat > ${SERVICES_CONFIG_PATH}.tmp; mv ${SERVICES_CONFIG_PATH}.tmp ${SERVICES_CONFIG_PATH}`;
  const r = await runToEnd(exec, { cmd: ['/bin/sh', '-c', script], tty: false, env: {} }, { input: JSON.stringify(config, null, 2) + '\n' });
  if (r.code !== 0)
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Could not write ${SERVICES_CONFIG_PATH} in the workspace (exit ${r.code}): ${r.tail.join(' ') || 'no output'}. The image needs /bin/sh.`,
      { field: 'services' },
    );
}

/** Starts the supervisor (a running one is left as it is) and has it re-read the config. */
export async function startSupervisor(exec: WorkspaceExec): Promise<void> {
  const started = await runToEnd(exec, { cmd: [BERTH_IN_PATH, 'supervise', '--daemon'], tty: false, env: {} });
  if (started.code !== 0)
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The service supervisor did not start in the workspace (exit ${started.code}): ${started.tail.join(' ') || 'no output'}.`,
      { field: 'services' },
    );
  // A supervisor that was already running (the agent restarted mid-start) reads the new config.
  const reload = await runToEnd(exec, { cmd: [BERTH_IN_PATH, 'ctl', 'reload'], tty: false, env: {} });
  if (reload.code !== 0)
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The service supervisor did not take the services config (exit ${reload.code}): ${reload.tail.join(' ') || 'no output'}.`,
      { field: 'services' },
    );
}
