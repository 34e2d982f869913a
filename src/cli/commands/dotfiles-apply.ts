/** `berth dotfiles apply NAME`: applies your dotfiles in a running workspace again; a second apply changes nothing. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth dotfiles apply`. */
export function registerDotfilesApply(dotfiles: Command, ctx: CliContext): void {
  withJson(
    dotfiles
      .command('apply')
      .description('apply your dotfiles in a running workspace (fetches a changed repository, re-uploads a changed folder; nothing when unchanged)')
      .argument('<name>', 'workspace name'),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const r = await client.call('workspaceDotfilesApplyPost', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, r);
    for (const line of r.log) ctx.io.stdout.write(`${line}\n`);
    ctx.io.stdout.write(r.changed ? `Dotfiles applied in ${r.workspace}.\n` : `Nothing changed: ${r.workspace} already has these dotfiles.\n`);
  });
}
