/** `berth team create NAME [--max-workspaces N] [--max-cpus N] [--max-memory SIZE]` (admins). */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { quotaText } from './team-ls.js';

function whole(text: string, field: string): number {
  if (!/^[0-9]{1,6}$/.test(text)) throw new BerthError('INVALID_ARGUMENT', `Invalid --${field} "${text.slice(0, 16)}": use a whole number.`, { field });
  return Number(text);
}

/** Registers `berth team create`. */
export function registerTeamCreate(team: Command, ctx: CliContext): void {
  withJson(
    team
      .command('create')
      .description('create a team, with quotas its workspaces share (admins)')
      .argument('<name>', 'team name: lowercase letters, digits and dashes')
      .option('--max-workspaces <n>', 'most workspaces the team may hold')
      .option('--max-cpus <n>', 'most CPUs its workspaces may ask for together')
      .option('--max-memory <size>', 'most memory its workspaces may ask for together, e.g. 8g'),
  ).action(async (name: string, opts: { maxWorkspaces?: string; maxCpus?: string; maxMemory?: string }) => {
    const body: { name: string; maxWorkspaces?: number; maxCpus?: number; maxMemory?: string } = { name };
    if (opts.maxWorkspaces !== undefined) body.maxWorkspaces = whole(opts.maxWorkspaces, 'max-workspaces');
    if (opts.maxCpus !== undefined) {
      const n = Number(opts.maxCpus);
      if (!Number.isFinite(n) || n <= 0)
        throw new BerthError('INVALID_ARGUMENT', `Invalid --max-cpus "${opts.maxCpus.slice(0, 16)}": use a number above 0, e.g. 8.`, { field: 'max-cpus' });
      body.maxCpus = n;
    }
    if (opts.maxMemory !== undefined) body.maxMemory = opts.maxMemory;
    const client = await ctx.client();
    const created = await client.call('teamsPost', { body });
    if (ctx.json) return writeJson(ctx.io.stdout, created);
    ctx.io.stdout.write(`Team ${created.name} created (quotas: ${quotaText(created)}). Add people with \`berth team add ${created.name} USER\`.\n`);
  });
}
