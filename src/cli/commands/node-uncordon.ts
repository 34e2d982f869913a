/** `berth node uncordon NAME`: let the scheduler place workspaces on a node again (admin only). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node uncordon`. */
export function registerNodeUncordon(node: Command, ctx: CliContext): void {
  withJson(node.command('uncordon').description('let the scheduler place workspaces on a node again').argument('<name>', 'node name')).action(
    async (name: string) => {
      const client = await ctx.client();
      const n = await client.call('nodeUncordonPost', { params: { name } });
      if (ctx.json) return writeJson(ctx.io.stdout, n);
      ctx.io.stdout.write(`Node ${n.name} is uncordoned: the scheduler may place workspaces there again.\n`);
    },
  );
}
