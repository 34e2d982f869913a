/**
 * `berth ui`: prints (or with --open, opens) a one-time link that signs the logged-in user in
 * to the web UI. The link works once and for a few minutes; the browser then holds a session
 * cookie, and the token is gone from its address bar.
 */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { launch } from '../launch.js';
import { writeJson } from '../output/json.js';

interface UiOptions {
  open?: boolean;
  ttl: string;
}

/** Registers `berth ui`. */
export function registerUi(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('ui')
      .description('print (or --open) a one-time link that signs you in to the web UI')
      .option('--open', 'open the link in the browser (xdg-open, or open on macOS)')
      .option('--ttl <seconds>', 'how long the link works, 10 to 3600 seconds', '300'),
  ).action(async (opts: UiOptions) => {
    const ttlSeconds = Number(opts.ttl);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 10 || ttlSeconds > 3600) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid --ttl "${opts.ttl}": give whole seconds from 10 to 3600.`, { field: 'ttl' });
    }
    const client = await ctx.client();
    const link = await client.call('signInLinksPost', { body: { ttlSeconds } });
    const url = client.server.replace(/\/+$/, '') + link.path;
    const opened = opts.open ? await launch(url, 'open') : null;
    if (ctx.json) return writeJson(ctx.io.stdout, { url, expiresAt: link.expiresAt, opened: opened !== null });
    ctx.io.stdout.write(url + '\n');
    ctx.io.stderr.write(`The link signs you in once, until ${link.expiresAt}.${opened ? ` Opened it with ${opened}.` : ''}\n`);
  });
}
