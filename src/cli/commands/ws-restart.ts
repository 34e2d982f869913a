/** `berth ws restart NAME [--timeout S]`. */
import type { Command } from 'commander';
import type { WorkspaceStopPost } from '../../api/index.js';
import { parseSeconds } from '../args.js';
import { optionParser, withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runWorkspaceOperation } from '../workspace-operation.js';

/** Registers `berth ws restart`. */
export function registerWsRestart(ws: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      ws
        .command('restart')
        .description('stop and start a workspace')
        .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
        .option(
          '--timeout <seconds>',
          'how long processes get to exit before they are killed',
          optionParser((t) => parseSeconds(t, 'timeout')),
        ),
    ),
  ).action((name: string, opts: { timeout?: number; wait: boolean }) => {
    const body: WorkspaceStopPost = {};
    if (opts.timeout !== undefined) body.timeoutSeconds = opts.timeout;
    return runWorkspaceOperation(ctx, { route: 'workspaceRestartPost', name, body, wait: opts.wait, doing: 'restarting', done: 'is running again' });
  });
}
