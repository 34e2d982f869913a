/** `berth ws share NAME --user U[:use|admin] | --team T [--role use|admin] [--expires 2h]`. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { shareBody } from '../sharing/grantee.js';

/** Registers `berth ws share`. */
export function registerWsShare(ws: Command, ctx: CliContext): void {
  withJson(
    ws
      .command('share')
      .description('let a user or a team use a workspace (use: exec, ssh, ports, previews, start/stop, logs; admin: also share and change it)')
      .argument('<name>', 'workspace name')
      .option('--user <user[:role]>', 'share with this user, as use (default) or admin, e.g. bob or bob:admin')
      .option('--team <team>', 'share with every member of this team')
      .option('--role <role>', 'with --team: use (default) or admin')
      .option('--expires <duration>', 'the share ends after this long, e.g. 2h or 7d (default: until unshared)'),
  ).action(async (name: string, opts: { user?: string; team?: string; role?: string; expires?: string }) => {
    const body = shareBody(opts);
    const client = await ctx.client();
    const share = await client.call('workspaceSharesPost', { params: { name }, body });
    if (ctx.json) return writeJson(ctx.io.stdout, share);
    const who = share.user !== null ? `user ${share.user}` : `team ${share.team}`;
    ctx.io.stdout.write(`Workspace ${share.workspace} is shared with ${who} (${share.role})${share.expiresAt ? ` until ${share.expiresAt}` : ''}.\n`);
  });
}
