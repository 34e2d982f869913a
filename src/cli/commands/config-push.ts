/** `berth config push DIR [--prune]`: applies a config folder in one transaction, refused when stale (admin only). */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import { formatChanges } from '../config-folder/changes.js';
import { REVISION_FILE, readConfigFolder, writeRevision } from '../config-folder/folder.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth config push`. */
export function registerConfigPush(config: Command, ctx: CliContext): void {
  withJson(
    config
      .command('push')
      .description('apply DIR to the server, all or nothing; refused if the configuration changed since DIR was pulled')
      .argument('<dir>', 'a folder made by `berth config pull`')
      .option('--prune', 'remove templates and quotas DIR does not hold, and reset nodes and settings it leaves out'),
  ).action(async (dir: string, opts: { prune?: boolean }) => {
    // Every file is checked before anything is sent: an invalid file changes nothing.
    const folder = await readConfigFolder(dir);
    if (folder.revision === null) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${dir} has no ${REVISION_FILE}, so berth cannot tell what it was based on; pull with \`berth config pull DIR\`, copy your files in, and push that.`,
        { field: 'dir' },
      );
    }
    const client = await ctx.client();
    const result = await client.call('configPush', { body: { baseRevision: folder.revision, resources: folder.resources, prune: opts.prune === true } });
    // The folder is now based on the revision the push made (a no-op push leaves it as it was).
    await writeRevision(dir, result.revision);
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (!result.applied) {
      ctx.io.stdout.write(`Nothing to change: the live configuration already matches ${dir} (revision ${result.revision}).\n`);
      return;
    }
    ctx.io.stdout.write(
      `Applied ${result.changes.length} change${result.changes.length === 1 ? '' : 's'} (now revision ${result.revision}):\n${formatChanges(result.changes)}`,
    );
  });
}
