/** `berth node show NAME`: everything about one node (admin only). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAgo, formatOptionalNumber, formatOptionalSize } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderFields, renderTable } from '../output/table.js';

/** Registers `berth node show`. */
export function registerNodeShow(node: Command, ctx: CliContext): void {
  withJson(
    node.command('show').alias('inspect').description('show one node: status, labels, providers, resources, workspaces').argument('<name>', 'node name'),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const d = await client.call('nodeGet', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, d);
    const n = d.node;
    const labels = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`);
    const fields: Array<[string, string]> = [
      ['Name', n.name],
      ['Status', n.status],
      ['Cordoned', n.cordoned ? 'yes (no new workspaces are placed here)' : 'no'],
      ['Labels', labels.length ? labels.join(', ') : '-'],
      ['Agent', n.agentVersion ?? '-'],
      ['Last seen', formatAgo(n.lastSeenAt, ctx.io.now())],
      ['CPUs', `${formatOptionalNumber(n.resources?.cpus)} total, ${d.reserved.cpus} reserved, ${formatOptionalNumber(d.free?.cpus)} free`],
      [
        'Memory',
        `${formatOptionalSize(n.resources?.memoryBytes)} total, ${formatOptionalSize(d.reserved.memoryBytes)} reserved, ${formatOptionalSize(d.free?.memoryBytes)} free`,
      ],
      ['Disk', `${formatOptionalSize(n.resources?.diskBytes)} total, ${formatOptionalSize(n.resources?.diskFreeBytes)} free`],
    ];
    for (const p of n.providers)
      fields.push([`Provider ${p.kind}`, p.usable ? `usable${p.version ? ` (${p.version})` : ''}` : `not usable: ${p.reason ?? 'no reason given'}`]);
    ctx.io.stdout.write(renderFields(fields));
    if (d.workspaces.length === 0) {
      ctx.io.stdout.write('\nNo workspaces.\n');
      return;
    }
    ctx.io.stdout.write(
      '\n' +
        renderTable(
          ['WORKSPACE', 'OWNER', 'STATUS', 'PROVIDER', 'CPUS', 'MEMORY'],
          d.workspaces.map((w) => [w.name, w.owner, w.status, w.provider, formatOptionalNumber(w.cpus), formatOptionalSize(w.memoryBytes)]),
        ),
    );
  });
}
