/** `berth node rm NAME [--force] [--identity FILE]`: (uninstalls the agent of a node added over SSH,) revokes its credential, then removes it. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { readIdentity } from '../ssh-identity.js';

/** Registers `berth node rm`. */
export function registerNodeRm(node: Command, ctx: CliContext): void {
  withJson(
    node
      .command('rm')
      .alias('remove')
      .description('remove a node: its credential is revoked at once and its agent disconnected for good')
      .argument('<name>', 'the node')
      .option('--force', "also forget the node's workspaces (whatever runs on that machine is left to its admin)", false)
      .option(
        '--identity <file>',
        'for a node added with `node add`: the SSH key that logs in there, so its agent is stopped and uninstalled first (sent for this request only)',
      ),
  ).action(async (name: string, opts: { force: boolean; identity?: string }) => {
    const client = await ctx.client();
    const body: { force: boolean; privateKey?: string; passphrase?: string } = { force: opts.force };
    if (opts.identity) {
      body.privateKey = (await readIdentity(ctx, opts.identity)).key;
      if (ctx.io.env.BERTH_SSH_KEY_PASSPHRASE) body.passphrase = ctx.io.env.BERTH_SSH_KEY_PASSPHRASE;
    }
    const result = await client.call('nodeDelete', { params: { name }, body });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    let text = `Removed node ${result.node}; its credential is revoked${result.uninstalled ? ' and its agent uninstalled' : ''}.\n`;
    if (result.deletedWorkspaces.length) {
      text += `Forgot its workspaces: ${result.deletedWorkspaces.join(', ')}. Their containers or VMs on that machine were not touched; remove them there.\n`;
    }
    ctx.io.stdout.write(text);
  });
}
