/** `berth login URL --token T`: checks the token against the server, then saves both. */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { BerthClient, normalizeServerUrl } from '../../client/index.js';
import { withJson } from '../command-options.js';
import { configPath, writeLogin } from '../config.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth login`. */
export function registerAuthLogin(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('login')
      .description('log in to a berth server and remember it for later commands')
      .argument('<url>', 'the server, e.g. http://127.0.0.1:7080')
      .option('--token <token>', 'your API token (default: $BERTH_TOKEN)')
      .option('--fingerprint <sha256:hex>', "an https server's CA fingerprint, as its admin gives it (asked on a terminal when absent)"),
  ).action(async (url: string, opts: { token?: string; fingerprint?: string }) => {
    const token = opts.token ?? ctx.io.env.BERTH_TOKEN;
    if (!token) {
      throw new BerthError('INVALID_ARGUMENT', 'Give your API token with --token T (or set BERTH_TOKEN); the server printed it when it first started.', {
        field: 'token',
      });
    }
    const server = normalizeServerUrl(url);
    // An https server's CA is pinned first (and only TLS code is loaded then): the token is
    // sent only to a server the pinned CA vouches for.
    const ca = server.startsWith('https:')
      ? await (await import('../server-trust.js')).pinForLogin(ctx.io, server, opts.fingerprint, 'fingerprint')
      : undefined;
    const client = new BerthClient({ server, token, ca });
    // Check before saving, so a typo in the address or token is caught now and not on the next command.
    const user = await client.call('whoami');
    const path = configPath(ctx.io);
    await writeLogin(path, { server: client.server, token, ...(ca ? { caFingerprint: ca.fingerprint, caCert: ca.pem } : {}) });
    if (ctx.json) writeJson(ctx.io.stdout, { server: client.server, user, caFingerprint: ca?.fingerprint ?? null });
    else ctx.io.stdout.write(`Logged in to ${client.server} as ${user.name} (${user.role})${ca ? `, CA ${ca.fingerprint} pinned` : ''}; saved to ${path}.\n`);
  });
}
