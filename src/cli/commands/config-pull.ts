/** `berth config pull DIR`: writes the live configuration into a folder, one YAML file per resource (admin only). */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import { writeConfigFolder } from '../config-folder/folder.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth config pull`. */
export function registerConfigPull(config: Command, ctx: CliContext): void {
  withJson(
    config
      .command('pull')
      .description(
        'write the live configuration (settings and sharing policy, node labels and cordons, templates, user and team quotas, image recipes) into DIR, with the revision it was pulled at',
      )
      .argument('<dir>', 'folder to write (new, empty, or pulled before)'),
  ).action(async (dir: string) => {
    const client = await ctx.client();
    const doc = await client.call('configGet');
    const files = await writeConfigFolder(dir, doc);
    if (ctx.json) return writeJson(ctx.io.stdout, { revision: doc.revision, files });
    ctx.io.stdout.write(
      `Pulled revision ${doc.revision}: ${files.length} resource${files.length === 1 ? '' : 's'} into ${dir}.\nEdit the files, check with \`berth config diff ${dir}\`, apply with \`berth config push ${dir}\`.\n`,
    );
  });
}
