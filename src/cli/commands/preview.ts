/**
 * `berth preview NAME PORT`: the URL that opens a workspace port's HTTP preview in a browser,
 * with a one-time token (valid once, for a minute) that the server trades for a cookie.
 * Printed, or handed to xdg-open/open with --open.
 */
import type { Command } from 'commander';
import { BerthError, type Preview, parsePortParam } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { launch } from '../launch.js';
import { writeJson } from '../output/json.js';

/** The URLs of a minted preview on server `server` (scheme://host[:port]). */
export function previewUrls(server: string, p: Preview): { url: string; pathUrl: string; hostUrl: string | null } {
  const base = new URL(server);
  const pathUrl = `${base.origin}${p.path}`;
  let hostUrl: string | null = null;
  if (p.host) {
    const q = p.path.indexOf('?');
    hostUrl = `${base.protocol}//${p.host}${base.port ? `:${base.port}` : ''}/${q >= 0 ? p.path.slice(q) : ''}`;
  }
  return { url: hostUrl ?? pathUrl, pathUrl, hostUrl };
}

/** Registers `berth preview`. */
export function registerPreview(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('preview')
      .description("print (or --open) a browser URL for a workspace port's HTTP preview, with a one-time token")
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<port>', 'TCP port inside the workspace')
      .option('--open', 'open the URL with xdg-open (or open on macOS) instead of only printing it'),
  ).action(async (name: string, portText: string, opts: { open?: boolean }) => {
    const port = parsePortParam(portText);
    if (port === null) throw new BerthError('INVALID_ARGUMENT', `"${portText.slice(0, 16)}" is not a TCP port; use 1 to 65535.`, { field: 'port' });
    const client = await ctx.client();
    const minted = await client.call('previewPost', { params: { name }, body: { port } });
    const urls = previewUrls(client.server, minted);
    const launcher = opts.open ? await launch(urls.url, 'open') : null;
    if (ctx.json) return writeJson(ctx.io.stdout, { ...minted, ...urls, opened: launcher !== null });
    ctx.io.stdout.write(urls.url + '\n');
    ctx.io.stderr.write(`The link works once, until ${minted.expiresAt}; it leaves a cookie for ${name} in the browser that opens it.\n`);
    if (launcher) ctx.io.stderr.write(`Opened it with ${launcher}.\n`);
  });
}
