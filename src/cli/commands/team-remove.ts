/** `berth team remove TEAM USER`: removes a member (team admins, admins, or yourself to leave); their sessions on the team's workspaces end. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth team remove`. */
export function registerTeamRemove(team: Command, ctx: CliContext): void {
  withJson(
    team
      .command('remove')
      .description("remove a member from a team; their live sessions on the team's workspaces end at once")
      .argument('<team>', 'the team')
      .argument('<user>', 'who leaves'),
  ).action(async (teamName: string, user: string) => {
    const client = await ctx.client();
    const result = await client.call('teamMemberDelete', { params: { name: teamName, user } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const ended = result.endedSessions > 0 ? ` ${result.endedSessions} live session(s) ended.` : '';
    ctx.io.stdout.write(`${user} removed from team ${result.team.name}.${ended}\n`);
  });
}
