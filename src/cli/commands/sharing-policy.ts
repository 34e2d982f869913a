/** `berth sharing-policy [show]` and `berth sharing-policy set everyone|admins|off` (admins set it). */
import type { Command } from 'commander';
import { BerthError, sharingPolicySchema } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

const MEANING = {
  everyone: 'anyone may share workspaces they may administer',
  admins: 'only server admins may share (existing shares keep working)',
  off: 'nobody may share, and existing shares grant nothing (teams still do)',
} as const;

/** Registers `berth sharing-policy`. */
export function registerSharingPolicy(program: Command, ctx: CliContext): void {
  const policy = program.command('sharing-policy').description('who may share workspaces on this server: everyone, admins or off');
  withJson(policy.command('show', { isDefault: true }).description('print the sharing policy')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('sharingPolicyGet');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(`Sharing policy: ${result.policy} (${MEANING[result.policy]}).\n`);
  });
  withJson(
    policy
      .command('set')
      .description('set the sharing policy (admins); off ends live sessions that rested on shares')
      .argument('<policy>', 'everyone, admins or off'),
  ).action(async (value: string) => {
    const parsed = sharingPolicySchema.safeParse(value);
    if (!parsed.success)
      throw new BerthError('INVALID_ARGUMENT', `Unknown sharing policy "${value.slice(0, 32)}": use everyone, admins or off.`, { field: 'policy' });
    const client = await ctx.client();
    const result = await client.call('sharingPolicyPost', { body: { policy: parsed.data } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(`Sharing policy: ${result.policy} (${MEANING[result.policy]}).\n`);
  });
}
