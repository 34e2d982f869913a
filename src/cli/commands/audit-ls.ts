/** `berth audit ls`: who did what, newest first (members see their own entries). */
import type { Command } from 'commander';
import { BerthError, parseDuration } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Turns `--since` (an ISO time or a duration like 2h meaning "2h ago") into an ISO time. */
export function sinceToIso(text: string, now: Date): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now.getTime() - ms).toISOString();
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new BerthError('INVALID_ARGUMENT', `Invalid --since "${text}": use a duration such as 2h or an ISO time such as 2026-11-21T08:00:00Z.`, {
      field: 'since',
    });
  return new Date(t).toISOString();
}

/** Registers `berth audit ls`. */
export function registerAuditLs(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('read the audit log');
  withJson(
    audit
      .command('ls')
      .alias('list')
      .description('list audit entries, newest first')
      .option('--user <name>', 'only this user')
      .option('--since <time>', 'only since then: a duration (2h) or an ISO time')
      .option('--limit <n>', 'at most this many', '200'),
  ).action(async (opts: { user?: string; since?: string; limit: string }) => {
    const client = await ctx.client();
    const query = { user: opts.user, since: opts.since ? sinceToIso(opts.since, ctx.io.now()) : undefined, limit: opts.limit };
    const result = await client.call('auditList', { query });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(
      renderTable(
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'FROM', 'DETAIL'],
        result.entries.map((e) => [e.at, e.actor ?? '-', e.action, e.target ?? '-', e.outcome, e.sourceIp ?? '-', e.detail ?? '']),
      ),
    );
  });
}
