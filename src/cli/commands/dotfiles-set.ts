/** `berth dotfiles set REPO|DIR [--ref REF] [--install PATH]`: your dotfiles, applied in each new workspace. */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { BerthError, DOTFILES_URL_PATTERN, type DotfilesPut } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { packDotfiles } from '../dotfiles/pack.js';
import { formatDotfiles } from '../dotfiles/show.js';
import { writeJson } from '../output/json.js';

/** Registers `berth dotfiles set`. */
export function registerDotfilesSet(dotfiles: Command, ctx: CliContext): void {
  withJson(
    dotfiles
      .command('set')
      .description('set your dotfiles: a git URL cloned in each new workspace, or a local folder uploaded now')
      .argument('<source>', 'a git URL (https://, ssh://, git://, file:/// inside the workspace, or user@host:path) or a local folder')
      .option('--ref <ref>', 'branch or tag of the repository (default: its default branch)')
      .option(
        '--install <path>',
        'script inside the dotfiles to run (default: install.sh, bootstrap.sh or setup.sh if present, else link dot-files into $HOME)',
      ),
  ).action(async (source: string, opts: { ref?: string; install?: string }) => {
    const isDir = await stat(source).then(
      (s) => s.isDirectory(),
      () => false,
    );
    let body: DotfilesPut;
    if (isDir) {
      if (opts.ref !== undefined) throw new BerthError('INVALID_ARGUMENT', '--ref is for a git repository, not a folder.', { field: 'ref' });
      const packed = await packDotfiles(source);
      body = { source: { type: 'dir', archive: packed.archive.toString('base64') } };
    } else if (DOTFILES_URL_PATTERN.test(source)) {
      body = { source: { type: 'repo', url: source, ...(opts.ref !== undefined ? { ref: opts.ref } : {}) } };
    } else {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `${source} is neither a local folder nor a git URL berth accepts (https://, ssh://, git://, file:///, user@host:path).`,
        { field: 'source' },
      );
    }
    if (opts.install !== undefined) body.install = opts.install;
    const client = await ctx.client();
    const set = await client.call('dotfilesPut', { body });
    if (ctx.json) return writeJson(ctx.io.stdout, set);
    ctx.io.stdout.write(`${formatDotfiles(set)}New workspaces get them; apply them to an existing one with \`berth dotfiles apply NAME\`.\n`);
  });
}
