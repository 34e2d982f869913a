/** `berth node drain NAME [--deadline 1h] [--force]`: cordon a node and stop its workspaces (admin only). */
import type { Command } from 'commander';
import { BerthError, MAX_DRAIN_DEADLINE_S } from '../../api/index.js';
import { parseDurationMs } from '../args.js';
import { withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { acceptedMessage, followOperation } from '../operation-follow.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node drain`. */
export function registerNodeDrain(node: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      node
        .command('drain')
        .description('cordon a node, then stop every workspace running on it; the node stays cordoned')
        .argument('<name>', 'node name')
        .option('--deadline <duration>', 'how long the workspaces may take to stop, e.g. 10m or 1h', '1h')
        .option('--force', 'past the deadline, stop what still runs forcibly instead of failing', false),
    ),
  ).action(async (name: string, opts: { deadline: string; force: boolean; wait: boolean }) => {
    // Parsed here rather than by commander so a bad value is INVALID_ARGUMENT with field `deadline`.
    const ms = parseDurationMs(opts.deadline, 'deadline');
    if (ms > MAX_DRAIN_DEADLINE_S * 1000)
      throw new BerthError('INVALID_ARGUMENT', `Invalid deadline "${opts.deadline}": use at most 7d.`, { field: 'deadline' });
    const client = await ctx.client();
    const accepted = await client.call('nodeDrainPost', { params: { name }, body: { deadlineSeconds: Math.floor(ms / 1000), force: opts.force } });
    if (!opts.wait) {
      if (ctx.json) writeJson(ctx.io.stdout, accepted);
      else ctx.io.stdout.write(acceptedMessage(accepted.operation));
      return;
    }
    const operation = await followOperation(ctx, client, accepted.operation, `draining ${name}`);
    if (ctx.json) return writeJson(ctx.io.stdout, { operation });
    ctx.io.stdout.write(`Node ${name} is drained: its workspaces are stopped and it stays cordoned (\`berth node uncordon ${name}\` to use it again).\n`);
  });
}
