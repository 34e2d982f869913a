/** `berth ws ls`: the caller's workspaces. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge, formatOptionalNumber, formatOptionalSize } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers `berth ws ls`. */
export function registerWsLs(ws: Command, ctx: CliContext): void {
  withJson(ws.command('ls').alias('list').description('list workspaces')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('workspacesList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.workspaces.length === 0) {
      ctx.io.stdout.write('No workspaces yet; create one with `berth ws create NAME`.\n');
      return;
    }
    const now = ctx.io.now();
    const rows = result.workspaces.map((w) => [
      w.name,
      w.status,
      w.provider,
      w.nodeName,
      w.image,
      formatOptionalNumber(w.cpus),
      formatOptionalSize(w.memoryBytes),
      formatAge(w.createdAt, now),
    ]);
    ctx.io.stdout.write(renderTable(['NAME', 'STATUS', 'PROVIDER', 'NODE', 'IMAGE', 'CPUS', 'MEMORY', 'AGE'], rows));
  });
}
