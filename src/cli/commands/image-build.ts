/** `berth image build NAME [--from busybox|debian:SUITE [--packages LIST]]`: builds a base image on a node; with only NAME, its stored recipe. */
import type { Command } from 'commander';
import type { ImagesPost } from '../../api/index.js';
import { parseList } from '../args.js';
import { withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { acceptedMessage, followOperation } from '../operation-follow.js';
import { writeJson } from '../output/json.js';

interface BuildOptions {
  from?: string;
  packages?: string[];
  node?: string;
  wait: boolean;
}

/** Registers `berth image build`. */
export function registerImageBuild(image: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      image
        .command('build')
        .description('build a base image for workspaces; with only NAME, build its stored recipe (a build with --from records one)')
        .argument('<name>', 'image name')
        .option('--from <source>', 'busybox, or debian:SUITE such as debian:bookworm (default: the recipe named NAME)')
        .option('--packages <list>', 'comma-separated Debian packages to add, e.g. git,curl', parseList)
        .option('--node <node>', 'node to build on (default: the scheduler picks)'),
    ),
  ).action(async (name: string, opts: BuildOptions) => {
    const body: ImagesPost = { name };
    if (opts.from !== undefined) body.from = opts.from;
    if (opts.packages !== undefined) body.packages = opts.packages;
    if (opts.node !== undefined) body.node = opts.node;
    const client = await ctx.client();
    const accepted = await client.call('imagesPost', { body });
    if (!opts.wait) {
      if (ctx.json) writeJson(ctx.io.stdout, accepted);
      else ctx.io.stdout.write(acceptedMessage(accepted.operation));
      return;
    }
    const operation = await followOperation(ctx, client, accepted.operation, `building image ${name}`);
    if (ctx.json) return writeJson(ctx.io.stdout, { operation });
    ctx.io.stdout.write(`Image ${name} is built; use it with: berth ws create NAME --image ${name}\n`);
  });
}
