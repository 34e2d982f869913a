/** `berth node ls`: the machines of the fleet and what they can run. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAgo, formatOptionalNumber, formatOptionalSize, formatProviders } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers `berth node ls`. */
export function registerNodeLs(node: Command, ctx: CliContext): void {
  withJson(node.command('ls').alias('list').description('list nodes')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('nodesList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.nodes.length === 0) {
      ctx.io.stdout.write('No nodes yet; add one with `berth node join-token` and `berth agent`.\n');
      return;
    }
    const now = ctx.io.now();
    const rows = result.nodes.map((n) => [
      n.name,
      n.cordoned ? `${n.status},cordoned` : n.status,
      formatProviders(n.providers),
      formatOptionalNumber(n.resources?.cpus),
      formatOptionalSize(n.resources?.memoryBytes),
      String(n.workspaces),
      formatAgo(n.lastSeenAt, now),
      Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
    ]);
    ctx.io.stdout.write(renderTable(['NAME', 'STATUS', 'PROVIDERS', 'CPUS', 'MEMORY', 'WORKSPACES', 'LAST SEEN', 'LABELS'], rows));
  });
}
