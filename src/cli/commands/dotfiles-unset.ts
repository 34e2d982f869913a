/** `berth dotfiles unset`: new workspaces no longer get your dotfiles (existing ones keep theirs). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth dotfiles unset`. */
export function registerDotfilesUnset(dotfiles: Command, ctx: CliContext): void {
  withJson(dotfiles.command('unset').description('stop applying dotfiles to new workspaces (existing workspaces keep theirs)')).action(async () => {
    const client = await ctx.client();
    const r = await client.call('dotfilesDelete');
    if (ctx.json) return writeJson(ctx.io.stdout, r);
    ctx.io.stdout.write('Dotfiles unset; new workspaces get none. Workspaces keep what was applied.\n');
  });
}
