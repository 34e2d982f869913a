/** `berth node cordon NAME`: keep new workspaces off a node (those on it keep running) (admin only). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node cordon`. */
export function registerNodeCordon(node: Command, ctx: CliContext): void {
  withJson(node.command('cordon').description('keep new workspaces off a node (those on it keep running)').argument('<name>', 'node name')).action(
    async (name: string) => {
      const client = await ctx.client();
      const n = await client.call('nodeCordonPost', { params: { name } });
      if (ctx.json) return writeJson(ctx.io.stdout, n);
      ctx.io.stdout.write(`Node ${n.name} is cordoned: no new workspaces are placed there. Undo with \`berth node uncordon ${n.name}\`.\n`);
    },
  );
}
