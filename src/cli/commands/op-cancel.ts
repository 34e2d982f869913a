/** `berth op cancel ID`: stops a running workspace create, image build or node add; nothing it made is kept. */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { acceptedMessage } from '../operation-follow.js';
import { writeJson } from '../output/json.js';

/** Registers `berth op cancel` on the `op` group. */
export function registerOpCancel(op: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      op
        .command('cancel')
        .description('cancel a running workspace create, image build or node add; what it made is removed')
        .argument('<id>', 'operation id, as printed when the work was accepted'),
    ),
  ).action(async (id: string, opts: { wait: boolean }) => {
    const client = await ctx.client();
    const accepted = await client.call('operationCancelPost', { params: { id } });
    if (!opts.wait) {
      if (ctx.json) writeJson(ctx.io.stdout, accepted);
      else ctx.io.stdout.write(`Cancelling: ${acceptedMessage(accepted.operation)}`);
      return;
    }
    // Cancelling succeeded when the operation has ended: failed with CANCELLED once its work
    // is undone, or otherwise if it finished on its own before the cancel reached it.
    const operation = await client.watchOperation(id, () => {});
    if (operation.status === 'failed' && operation.error && operation.error.code !== 'CANCELLED') throw BerthError.fromApi(operation.error);
    if (ctx.json) writeJson(ctx.io.stdout, { operation });
    else if (operation.error?.code === 'CANCELLED') ctx.io.stdout.write(`Cancelled ${operation.kind} of ${operation.target}; nothing it made was kept.\n`);
    else ctx.io.stdout.write(`Operation ${id} had already ${operation.status} when the cancel arrived.\n`);
  });
}
