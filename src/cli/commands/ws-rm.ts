/** `berth ws rm NAME` (alias `delete`): deletes a workspace and everything in it. */
import type { Command } from 'commander';
import { withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runWorkspaceOperation } from '../workspace-operation.js';

/** Registers `berth ws rm`. */
export function registerWsRm(ws: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      ws
        .command('rm')
        .alias('delete')
        .description('delete a workspace and its data')
        .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
        .option('--force', "when its node is offline, remove only berth's record; the node deletes the workspace when it returns", false),
    ),
  ).action((name: string, opts: { wait: boolean; force: boolean }) =>
    runWorkspaceOperation(ctx, {
      route: 'workspaceDelete',
      name,
      body: opts.force ? { force: true } : undefined,
      wait: opts.wait,
      doing: 'deleting',
      done: 'is deleted',
    }),
  );
}
