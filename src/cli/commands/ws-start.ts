/** `berth ws start NAME`. */
import type { Command } from 'commander';
import { withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runWorkspaceOperation } from '../workspace-operation.js';

/** Registers `berth ws start`. */
export function registerWsStart(ws: Command, ctx: CliContext): void {
  withNoWait(
    withJson(ws.command('start').description('start a stopped workspace').argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")),
  ).action((name: string, opts: { wait: boolean }) =>
    runWorkspaceOperation(ctx, { route: 'workspaceStartPost', name, wait: opts.wait, doing: 'starting', done: 'is running' }),
  );
}
