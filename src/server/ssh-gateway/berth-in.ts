/**
 * berth-in, the in-workspace helper behind ssh -R and ssh -A. The agent copies it into a
 * workspace before the first command that runs it (src/agent/runtime/berth-in); the gateway only runs it,
 * through the hub's exec like everything else it does, so it works on every provider.
 */
import { BerthError, type Workspace } from '../../api/index.js';
import type { GatewayDeps } from './context.js';

/** Where berth-in lives inside every workspace (the contract's default root). */
export const BERTH_IN_PATH = '/.berth/bin/berth-in';

/**
 * Runs `start` with berth-in's path in the workspace. A start that failed because the command
 * is missing (`notFound` on its error) becomes an error that says how to get it there.
 */
export async function withBerthIn<T>(deps: Pick<GatewayDeps, 'berthInPath'>, ws: Workspace, start: (path: string) => Promise<T>): Promise<T> {
  const path = deps.berthInPath ?? BERTH_IN_PATH;
  try {
    return await start(path);
  } catch (err) {
    if (!(err as { notFound?: boolean }).notFound) throw err;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `the workspace ${ws.name} has no ${path}, the helper berth copies in before it is first used; restart it with \`berth ws restart ${ws.name}\` (the node's agent must be this berth's version).`,
      { cause: err },
    );
  }
}
