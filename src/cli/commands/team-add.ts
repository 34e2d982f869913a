/** `berth team add TEAM USER [--role member|admin]`: adds a member or changes their role (team admins, admins). */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth team add`. */
export function registerTeamAdd(team: Command, ctx: CliContext): void {
  withJson(
    team
      .command('add')
      .description("add a member to a team (or change their role): members use the team's workspaces, admins also manage them")
      .argument('<team>', 'the team')
      .argument('<user>', 'who joins')
      .option('--role <role>', 'member or admin', 'member'),
  ).action(async (teamName: string, user: string, opts: { role: string }) => {
    if (opts.role !== 'member' && opts.role !== 'admin')
      throw new BerthError('INVALID_ARGUMENT', `Invalid role "${opts.role.slice(0, 32)}": use member or admin.`, { field: 'role' });
    const client = await ctx.client();
    const result = await client.call('teamMembersPost', { params: { name: teamName }, body: { user, role: opts.role } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(`${user} is now ${opts.role === 'admin' ? 'an admin' : 'a member'} of team ${result.name}.\n`);
  });
}
