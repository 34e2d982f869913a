/** The shared shape of `ws start|stop|restart|rm`: call the route, then follow or report the operation. */
import type { RouteName, WorkspaceDelete, WorkspaceStopPost } from '../api/index.js';
import type { CliContext } from './context.js';
import { acceptedMessage, followOperation } from './operation-follow.js';
import { writeJson } from './output/json.js';

type LifecycleRoute = Extract<RouteName, 'workspaceStartPost' | 'workspaceStopPost' | 'workspaceRestartPost' | 'workspaceDelete'>;

/** Runs one lifecycle mutation of a workspace; `doing` and `done` word the progress line and the result. */
export async function runWorkspaceOperation(
  ctx: CliContext,
  opts: { route: LifecycleRoute; name: string; body?: WorkspaceStopPost | WorkspaceDelete; wait: boolean; doing: string; done: string },
): Promise<void> {
  const client = await ctx.client();
  const accepted = await client.call(opts.route, { params: { name: opts.name }, body: opts.body });
  if (!opts.wait) {
    if (ctx.json) writeJson(ctx.io.stdout, accepted);
    else ctx.io.stdout.write(acceptedMessage(accepted.operation));
    return;
  }
  const operation = await followOperation(ctx, client, accepted.operation, `${opts.doing} ${opts.name}`);
  if (ctx.json) writeJson(ctx.io.stdout, { operation });
  else ctx.io.stdout.write(`Workspace ${opts.name} ${opts.done}.\n`);
}
