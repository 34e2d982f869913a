/** `berth dotfiles show`: your dotfiles, if set. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatDotfiles } from '../dotfiles/show.js';
import { writeJson } from '../output/json.js';

/** Registers `berth dotfiles show`. */
export function registerDotfilesShow(dotfiles: Command, ctx: CliContext): void {
  withJson(dotfiles.command('show').description('show your dotfiles')).action(async () => {
    const client = await ctx.client();
    const { dotfiles: d } = await client.call('dotfilesGet');
    if (ctx.json) return writeJson(ctx.io.stdout, { dotfiles: d });
    ctx.io.stdout.write(d ? formatDotfiles(d) : 'No dotfiles set; set them with `berth dotfiles set REPO|DIR`.\n');
  });
}
