/** `berth whoami`: shows which user and server the CLI is using. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth whoami`. */
export function registerAuthWhoami(program: Command, ctx: CliContext): void {
  withJson(program.command('whoami').description('show the logged-in user and server')).action(async () => {
    const client = await ctx.client();
    const user = await client.call('whoami');
    if (ctx.json) writeJson(ctx.io.stdout, user);
    else ctx.io.stdout.write(`${user.name} (${user.role}) on ${client.server}\n`);
  });
}
