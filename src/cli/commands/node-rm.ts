/** `berth node rm NAME [--force]`: revokes a node's credential, then removes it. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node rm`. */
export function registerNodeRm(node: Command, ctx: CliContext): void {
  withJson(
    node
      .command('rm')
      .alias('remove')
      .description('remove a node: its credential is revoked at once and its agent disconnected for good')
      .argument('<name>', 'the node')
      .option('--force', "also forget the node's workspaces (whatever runs on that machine is left to its admin)", false),
  ).action(async (name: string, opts: { force: boolean }) => {
    const client = await ctx.client();
    const result = await client.call('nodeDelete', { params: { name }, body: { force: opts.force } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    let text = `Removed node ${result.node}; its credential is revoked.\n`;
    if (result.deletedWorkspaces.length) {
      text += `Forgot its workspaces: ${result.deletedWorkspaces.join(', ')}. Their containers or VMs on that machine were not touched; remove them there.\n`;
    }
    ctx.io.stdout.write(text);
  });
}
