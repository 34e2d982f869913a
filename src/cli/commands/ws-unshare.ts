/** `berth ws unshare NAME --user U | --team T`: ends a share and the grantee's live sessions on the workspace. */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth ws unshare`. */
export function registerWsUnshare(ws: Command, ctx: CliContext): void {
  withJson(
    ws
      .command('unshare')
      .description("end a share; the grantee's open ssh sessions, forwards, terminals and previews on it close at once")
      .argument('<name>', 'workspace name')
      .option('--user <user>', 'the user whose share ends')
      .option('--team <team>', 'the team whose share ends'),
  ).action(async (name: string, opts: { user?: string; team?: string }) => {
    if ((opts.user === undefined) === (opts.team === undefined))
      throw new BerthError('INVALID_ARGUMENT', 'Say whose share ends: --user NAME or --team NAME.', { field: 'user' });
    const client = await ctx.client();
    const body = opts.user !== undefined ? { user: opts.user.replace(/:(use|admin)$/, '') } : { team: opts.team! };
    const result = await client.call('workspaceShareDelete', { params: { name }, body });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const who = result.share.user !== null ? `user ${result.share.user}` : `team ${result.share.team}`;
    const ended = result.endedSessions > 0 ? ` ${result.endedSessions} live session(s) ended.` : '';
    ctx.io.stdout.write(`Workspace ${name} is no longer shared with ${who}.${ended}\n`);
  });
}
