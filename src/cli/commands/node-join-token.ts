/** `berth node join-token`: a one-time token that lets a new machine join as a node. */
import type { Command } from 'commander';
import { BerthError, formatConnectString, joinTokensPostSchema } from '../../api/index.js';
import { normalizeServerUrl } from '../../client/index.js';
import { parseTtlSeconds } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node join-token`. */
export function registerNodeJoinToken(node: Command, ctx: CliContext): void {
  withJson(
    node
      .command('join-token')
      .description('create a one-time token for adding a node')
      .option('--ttl <duration>', 'how long the token stays valid, e.g. 30m, 2h, 1d', '30m')
      .option('--server <url>', 'the server URL to put in the token, when nodes reach it by another name than you do', optionParser(normalizeServerUrl)),
  ).action(async (opts: { ttl: string; server?: string }) => {
    // Parsed here rather than by commander so a bad value is INVALID_ARGUMENT with field `ttl`.
    const ttlSeconds = parseTtlSeconds(opts.ttl);
    if (!joinTokensPostSchema.safeParse({ ttlSeconds }).success) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid ttl "${opts.ttl}": a join token may live from 10s to 30d.`, { field: 'ttl' });
    }
    const client = await ctx.client();
    const token = await client.call('joinTokensPost', { body: { ttlSeconds } });
    // One string: the server URL, the token and the CA fingerprint this CLI pinned (absent
    // for a plain-HTTP server). The agent checks the server's CA against it before joining.
    const joinToken = formatConnectString({ kind: 'join', server: opts.server ?? client.server, secret: token.token, fingerprint: client.ca?.fingerprint });
    if (ctx.json) return writeJson(ctx.io.stdout, { ...token, joinToken, caFingerprint: client.ca?.fingerprint ?? null });
    ctx.io.stdout.write(
      `Join token (valid until ${token.expiresAt}${client.ca ? `; pins CA ${client.ca.fingerprint}` : ''}):\n  ${joinToken}\n\n` +
        `On the new machine, run:\n  berth agent --join-token ${joinToken}\n`,
    );
  });
}
