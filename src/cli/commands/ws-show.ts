/** `berth ws show NAME`: everything about one workspace. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge, formatOptionalNumber, formatOptionalSize } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderFields } from '../output/table.js';
import { specFields } from '../workspace-spec/spec-fields.js';

/** Registers `berth ws show`. */
export function registerWsShow(ws: Command, ctx: CliContext): void {
  withJson(
    ws.command('show').alias('inspect').description('show one workspace').argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)"),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const w = await client.call('workspaceGet', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, w);
    const now = ctx.io.now();
    const fields: Array<[string, string]> = [
      ['Name', w.ref],
      ['Status', w.status],
      ['Owner', w.owner],
      ['Provider', w.provider],
      ['Node', w.nodeName],
      ['Image', w.image],
      ['CPUs', formatOptionalNumber(w.cpus)],
      ['Memory', formatOptionalSize(w.memoryBytes)],
      ['Created', `${w.createdAt} (${formatAge(w.createdAt, now)} ago)`],
      ['Updated', `${w.updatedAt} (${formatAge(w.updatedAt, now)} ago)`],
    ];
    if (w.error) fields.push(['Error', `${w.error.code}: ${w.error.message}`]);
    // Workspace specs: what the workspace was created from.
    if (w.spec) fields.push(...specFields(w.spec));
    ctx.io.stdout.write(renderFields(fields));
  });
}
