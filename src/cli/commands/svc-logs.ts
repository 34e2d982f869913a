/** `berth svc logs NAME SVC [-f] [--since D] [--tail N]`: a service's output, kept (bounded, rotated) by its supervisor. */
import type { Command } from 'commander';
import { BerthError, logsSinceSchema } from '../../api/index.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';

interface LogsOptions {
  follow?: boolean;
  since?: string;
  tail?: number;
}

/** Checks `--since` here so a typo exits 2 before any request. */
function parseSince(text: string): string {
  const r = logsSinceSchema.safeParse(text);
  if (!r.success) throw new BerthError('INVALID_ARGUMENT', r.error.issues[0]?.message ?? 'invalid --since', { field: 'since' });
  return r.data;
}

/** `--tail N`: a whole number of lines. */
function parseTail(text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) > 100_000) throw new BerthError('INVALID_ARGUMENT', 'use a number of lines from 0 to 100000', { field: 'tail' });
  return Number(text);
}

/** Registers `berth svc logs`. */
export function registerSvcLogs(svc: Command, ctx: CliContext): void {
  withJson(
    svc
      .command('logs')
      .description("print a service's output (stdout and stderr, as the supervisor kept it)")
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<service>', 'service name from the spec')
      .option('-f, --follow', 'keep printing new output until interrupted')
      .option('--since <when>', 'only output since a duration ago (10m, 1h30m) or a time (2026-01-02T15:04:05Z)', optionParser(parseSince))
      .option('--tail <n>', 'only the last N lines', optionParser(parseTail)),
  ).action(async (name: string, service: string, opts: LogsOptions) => {
    const client = await ctx.client();
    const query = { follow: opts.follow ? ('true' as const) : undefined, since: opts.since, tail: opts.tail };
    await client.serviceLogs(name, service, query, (data) => {
      ctx.io.stdout.write(ctx.json ? JSON.stringify({ workspace: name, service, data }) + '\n' : data);
    });
  });
}
