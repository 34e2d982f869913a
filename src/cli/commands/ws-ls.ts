/** `berth ws ls`: the caller's workspaces, every page unless --limit asks for one. */
import type { Command } from 'commander';
import { listAllWorkspaces } from '../../client/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge, formatOptionalNumber, formatOptionalSize } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

interface WsLsOptions {
  limit?: string;
  cursor?: string;
  node?: string;
  owner?: string;
  status?: string;
  provider?: string;
  shared?: boolean;
}

/** Registers `berth ws ls`. */
export function registerWsLs(ws: Command, ctx: CliContext): void {
  withJson(
    ws
      .command('ls')
      .alias('list')
      .description('list workspaces')
      .option('--limit <n>', 'one page of at most n (1-1000) instead of every workspace')
      .option('--cursor <cursor>', 'start after the page that handed out this nextCursor')
      .option('--node <name>', 'only those on this node')
      .option('--owner <name>', 'only those of this user')
      .option('--status <status>', 'only those in this state (running, stopped, failed, unknown, creating, ...)')
      .option('--provider <kind>', 'only those of this provider (docker, lxc, qemu or a plugin kind)')
      // Teams and sharing.
      .option('--shared', "only others' workspaces you reach through a share or a team"),
  ).action(async (opts: WsLsOptions) => {
    const client = await ctx.client();
    const filters = { node: opts.node, owner: opts.owner, status: opts.status, provider: opts.provider, shared: opts.shared ? 'true' : undefined };
    // Without --limit, every page: people expect `ls` to show everything.
    const result =
      opts.limit === undefined
        ? { workspaces: await listAllWorkspaces(client, { ...filters, cursor: opts.cursor }), nextCursor: null }
        : await client.call('workspacesList', { query: { ...filters, cursor: opts.cursor, limit: opts.limit } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const filtered = Object.values(filters).some((v) => v !== undefined) || opts.cursor !== undefined;
    if (result.workspaces.length === 0) {
      ctx.io.stdout.write(filtered ? 'No workspaces match.\n' : 'No workspaces yet; create one with `berth ws create NAME`.\n');
      return;
    }
    const now = ctx.io.now();
    // Names are unique per owner: yours show as NAME, anyone else's as OWNER/NAME (the server's ref);
    // teams and sharing: with --shared, or once the list holds team workspaces, their owner and team too.
    const whose = opts.shared === true || result.workspaces.some((w) => w.team);
    const rows = result.workspaces.map((w) => [
      ...(whose ? [w.ref, w.owner, w.team ?? '-'] : [w.ref]),
      w.status,
      w.provider,
      w.nodeName,
      w.image,
      formatOptionalNumber(w.cpus),
      formatOptionalSize(w.memoryBytes),
      formatAge(w.createdAt, now),
    ]);
    ctx.io.stdout.write(renderTable([...(whose ? ['NAME', 'OWNER', 'TEAM'] : ['NAME']), 'STATUS', 'PROVIDER', 'NODE', 'IMAGE', 'CPUS', 'MEMORY', 'AGE'], rows));
    if (result.nextCursor) ctx.io.stderr.write(`More: berth ws ls --limit ${opts.limit} --cursor ${result.nextCursor}\n`);
  });
}
