/** `berth ws shares NAME`: who a workspace is shared with, as what, until when. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers `berth ws shares`. */
export function registerWsShares(ws: Command, ctx: CliContext): void {
  withJson(ws.command('shares').description('list who a workspace is shared with').argument('<name>', 'workspace name')).action(async (name: string) => {
    const client = await ctx.client();
    const result = await client.call('workspaceSharesGet', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.shares.length === 0) return void ctx.io.stdout.write(`Workspace ${name} is not shared; share it with \`berth ws share ${name} --user USER\`.\n`);
    const rows = result.shares.map((s) => [
      s.user !== null ? `user ${s.user}` : `team ${s.team}`,
      s.role,
      s.expiresAt ? `${s.expiresAt}${s.expired ? ' (expired)' : ''}` : '-',
      s.createdBy,
    ]);
    ctx.io.stdout.write(renderTable(['WITH', 'ROLE', 'EXPIRES', 'BY'], rows));
  });
}
