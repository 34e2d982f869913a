/** `berth ws stop NAME [--timeout S] [--force]`. */
import type { Command } from 'commander';
import type { WorkspaceStopPost } from '../../api/index.js';
import { parseSeconds } from '../args.js';
import { optionParser, withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runWorkspaceOperation } from '../workspace-operation.js';

/** Registers `berth ws stop`. */
export function registerWsStop(ws: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      ws
        .command('stop')
        .description('stop a workspace')
        .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
        .option(
          '--timeout <seconds>',
          'how long processes get to exit before they are killed',
          optionParser((t) => parseSeconds(t, 'timeout')),
        )
        .option('--force', 'kill at once instead of asking processes to exit'),
    ),
  ).action((name: string, opts: { timeout?: number; force?: boolean; wait: boolean }) => {
    const body: WorkspaceStopPost = {};
    if (opts.timeout !== undefined) body.timeoutSeconds = opts.timeout;
    if (opts.force) body.force = true;
    return runWorkspaceOperation(ctx, { route: 'workspaceStopPost', name, body, wait: opts.wait, doing: 'stopping', done: 'is stopped' });
  });
}
