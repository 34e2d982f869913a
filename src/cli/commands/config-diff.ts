/** `berth config diff DIR`: what `config push DIR` would change, resource by resource (admin only). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import { formatChanges } from '../config-folder/changes.js';
import { readConfigFolder } from '../config-folder/folder.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth config diff`. */
export function registerConfigDiff(config: Command, ctx: CliContext): void {
  withJson(
    config
      .command('diff')
      .description('show what `config push DIR` would add, change and remove, with the fields that differ')
      .argument('<dir>', 'a folder made by `berth config pull`')
      .option('--prune', 'also show what push --prune would remove (or reset, for nodes and settings)'),
  ).action(async (dir: string, opts: { prune?: boolean }) => {
    const folder = await readConfigFolder(dir);
    const client = await ctx.client();
    const result = await client.call('configPush', {
      body: { baseRevision: folder.revision ?? 0, resources: folder.resources, prune: opts.prune === true, dryRun: true },
    });
    const stale = folder.revision !== result.revision;
    if (ctx.json) return writeJson(ctx.io.stdout, { ...result, baseRevision: folder.revision, stale });
    ctx.io.stdout.write(result.changes.length === 0 ? `No changes: the live configuration matches ${dir}.\n` : formatChanges(result.changes));
    if (stale) {
      const when = folder.revision === null ? 'was never pulled' : `was pulled at revision ${folder.revision}`;
      ctx.io.stderr.write(
        `warning: ${dir} ${when} and the server is at revision ${result.revision}: a push would be refused. Pull again into a fresh folder and redo your edits.\n`,
      );
    }
  });
}
