/** `berth image ls`: base images present on the nodes. */
import type { Command } from 'commander';
import { formatSize } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers `berth image ls`. */
export function registerImageLs(image: Command, ctx: CliContext): void {
  withJson(image.command('ls').alias('list').description('list base images')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('imagesList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.images.length === 0) {
      ctx.io.stdout.write('No images yet; build one with `berth image build NAME --from busybox`.\n');
      return;
    }
    const now = ctx.io.now();
    const rows = result.images.map((i) => [
      i.name,
      i.nodeName,
      i.from,
      i.packages.length ? i.packages.join(',') : '-',
      formatSize(i.sizeBytes),
      formatAge(i.createdAt, now),
    ]);
    ctx.io.stdout.write(renderTable(['NAME', 'NODE', 'FROM', 'PACKAGES', 'SIZE', 'AGE'], rows));
  });
}
