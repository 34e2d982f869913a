/** `berth token create|ls|revoke`: your API tokens. */
import type { Command } from 'commander';
import { parseTtlSeconds } from '../args.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge, formatAgo } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers the `berth token` commands. */
export function registerToken(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('manage your API tokens');

  withJson(
    token
      .command('create')
      .description('create an API token (shown once)')
      .argument('<name>', 'what it is for, e.g. ci')
      .option('--ttl <duration>', 'expire after, e.g. 30d'),
  ).action(async (name: string, opts: { ttl?: string }) => {
    const client = await ctx.client();
    const created = await client.call('tokensPost', { body: { name, ttlSeconds: opts.ttl ? parseTtlSeconds(opts.ttl) : undefined } });
    if (ctx.json) return writeJson(ctx.io.stdout, created);
    ctx.io.stdout.write(`Token "${name}"${created.info.expiresAt ? ` (expires ${created.info.expiresAt})` : ''} — shown this once:\n  ${created.token}\n`);
  });

  withJson(token.command('ls').alias('list').description('list your active API tokens')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('tokensList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const now = ctx.io.now();
    ctx.io.stdout.write(
      renderTable(
        ['NAME', 'ID', 'AGE', 'LAST USED', 'EXPIRES'],
        result.tokens.map((t) => [t.name, t.id, formatAge(t.createdAt, now), t.lastUsedAt ? formatAgo(t.lastUsedAt, now) : 'never', t.expiresAt ?? 'never']),
      ),
    );
  });

  withJson(token.command('revoke').description('revoke one of your tokens; it stops working at once').argument('<token>', 'its id or name')).action(
    async (ref: string) => {
      const client = await ctx.client();
      const result = await client.call('tokenDelete', { params: { id: ref } });
      if (ctx.json) return writeJson(ctx.io.stdout, result);
      ctx.io.stdout.write(`Revoked token "${result.token.name}" (${result.token.id}).\n`);
    },
  );
}
