/** `berth team rm NAME` (admins): removes a team that holds no workspaces. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth team rm`. */
export function registerTeamRm(team: Command, ctx: CliContext): void {
  withJson(
    team
      .command('rm')
      .description('remove a team that holds no workspaces; its members lose what it gave them at once (admins)')
      .argument('<name>', 'the team'),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const result = await client.call('teamDelete', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(`Team ${result.team.name} removed.\n`);
  });
}
