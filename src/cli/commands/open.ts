/**
 * `berth open NAME`: the link that opens a workspace in an editor over the SSH gateway
 * (VS Code, Cursor, Windsurf through ~/.ssh/config's NAME.berth; JetBrains Gateway with the
 * gateway's address), printed, or handed to xdg-open/open with --launch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { BerthError, DEFAULT_WORKSPACE_PATH, EDITORS, type Editor, editorLink, formatSshUser, parseWorkspaceRef, sshHostAlias } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { launch } from '../launch.js';
import { writeJson } from '../output/json.js';
import { hasManagedHost } from '../ssh-config.js';
import { fetchGateway } from '../ssh-gateway.js';

interface OpenOptions {
  editor: Editor;
  path?: string;
  launch?: boolean;
}

/** Registers `berth open`. */
export function registerOpen(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('open')
      .description('print (or --launch) the link that opens a workspace in your editor')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .addOption(new Option('--editor <editor>', 'which editor').choices(EDITORS).default('vscode'))
      .option('--path <dir>', `absolute directory to open (default: ${DEFAULT_WORKSPACE_PATH})`)
      .option('--launch', 'open the link with xdg-open (or open on macOS) instead of only printing it'),
  ).action(async (name: string, opts: OpenOptions) => {
    if (opts.path !== undefined && !opts.path.startsWith('/')) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid path "${opts.path}": use an absolute directory such as /root/project.`, { field: 'path' });
    }
    const client = await ctx.client();
    // Asking for the workspace first makes a typo fail here rather than in the editor.
    const [ws, gw] = await Promise.all([client.call('workspaceGet', { params: { name } }), fetchGateway(client)]);
    // The SSH user (and config-ssh alias) is NAME for yours, OWNER.NAME for another's.
    const sshUser = formatSshUser(parseWorkspaceRef(ws.ref) ?? { owner: ws.owner, name: ws.name });
    const link = editorLink(opts.editor, { workspace: sshUser, host: gw.host, port: gw.port, path: opts.path });
    const launcher = opts.launch ? await launch(link) : null;
    if (ctx.json) return writeJson(ctx.io.stdout, { editor: opts.editor, link, launched: launcher !== null });
    ctx.io.stdout.write(link + '\n');
    if (opts.editor !== 'jetbrains') {
      const config = await readFile(join(ctx.io.home, '.ssh', 'config'), 'utf8').catch(() => '');
      if (!hasManagedHost(config, sshHostAlias(sshUser))) {
        ctx.io.stderr.write(`note: the editor finds ${sshHostAlias(sshUser)} through ~/.ssh/config; run \`berth config-ssh\` first.\n`);
      }
    }
    if (launcher) ctx.io.stderr.write(`Opened the link with ${launcher}.\n`);
  });
}
