/** `berth svc start|stop|restart NAME SVC`: one POST, answered once the supervisor has done it. */
import type { CliContext } from './context.js';
import { writeJson } from './output/json.js';

const ROUTES = { start: 'workspaceServiceStartPost', stop: 'workspaceServiceStopPost', restart: 'workspaceServiceRestartPost' } as const;
const DONE = { start: 'started', stop: 'stopped', restart: 'restarted' } as const;

/** Runs one service action and prints what happened. */
export async function runServiceAction(ctx: CliContext, action: keyof typeof ROUTES, name: string, service: string): Promise<void> {
  const client = await ctx.client();
  const r = await client.call(ROUTES[action], { params: { name, service } });
  if (ctx.json) return writeJson(ctx.io.stdout, r);
  const more = action === 'stop' ? '' : ` (see its state with \`berth svc ls ${r.workspace}\`)`;
  ctx.io.stdout.write(`Service ${r.service} in ${r.workspace} ${DONE[action]}${more}.\n`);
}
