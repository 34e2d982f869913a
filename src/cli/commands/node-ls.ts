/** `berth node ls`: the machines of the fleet and what they can run, every page unless --limit asks for one. */
import type { Command } from 'commander';
import { listAllNodes } from '../../client/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAgo, formatOptionalNumber, formatOptionalSize, formatProviders } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

interface NodeLsOptions {
  limit?: string;
  cursor?: string;
  status?: string;
  label?: string;
}

/** Registers `berth node ls`. */
export function registerNodeLs(node: Command, ctx: CliContext): void {
  withJson(
    node
      .command('ls')
      .alias('list')
      .description('list nodes')
      .option('--limit <n>', 'one page of at most n (1-1000) instead of every node')
      .option('--cursor <cursor>', 'start after the page that handed out this nextCursor')
      .option('--status <status>', 'only online or only offline nodes')
      .option('--label <k=v>', 'only nodes whose label k is v (or, with k!=v, is not)'),
  ).action(async (opts: NodeLsOptions) => {
    const client = await ctx.client();
    const filters = { status: opts.status, label: opts.label };
    // Without --limit, every page: people expect `ls` to show everything.
    const result =
      opts.limit === undefined
        ? { nodes: await listAllNodes(client, { ...filters, cursor: opts.cursor }), nextCursor: null }
        : await client.call('nodesList', { query: { ...filters, cursor: opts.cursor, limit: opts.limit } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.nodes.length === 0) {
      const filtered = Object.values(filters).some((v) => v !== undefined) || opts.cursor !== undefined;
      ctx.io.stdout.write(filtered ? 'No nodes match.\n' : 'No nodes yet; add one with `berth node join-token` and `berth agent`.\n');
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
      Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
    ]);
    ctx.io.stdout.write(renderTable(['NAME', 'STATUS', 'PROVIDERS', 'CPUS', 'MEMORY', 'WORKSPACES', 'LAST SEEN', 'LABELS'], rows));
    if (result.nextCursor) ctx.io.stderr.write(`More: berth node ls --limit ${opts.limit} --cursor ${result.nextCursor}\n`);
  });
}
