/**
 * Putting berth-in into a workspace. Until the agent carries the binary itself, this checks
 * that one is already there and says clearly when it is not.
 */
import { BERTH_IN_PATH, BerthError } from '../../../api/index.js';
import { runToEnd, type WorkspaceExec } from './run-in-workspace.js';

/** Ensures BERTH_IN_PATH runs in the workspace. */
export async function installBerthIn(exec: WorkspaceExec): Promise<void> {
  const r = await runToEnd(exec, { cmd: [BERTH_IN_PATH, 'version'], tty: false, env: {} }).catch(() => ({ code: -1, tail: [] as string[] }));
  if (r.code !== 0) throw new BerthError('UNSUPPORTED', `This node's agent cannot put the service supervisor (berth-in) into workspaces; upgrade the agent.`, { field: 'services' });
}
