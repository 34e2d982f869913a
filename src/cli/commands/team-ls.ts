/** `berth team ls`: the caller's teams (every team for an admin), with members, quotas and use. */
import type { Command } from 'commander';
import { formatSize, type Team } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** "workspaces 2/5, cpus 3/8, memory 2.0 GiB/-" style: use against quota ("-" for none). */
export function quotaText(t: Team): string {
  const of = (used: string, max: string | null) => `${used}/${max ?? '-'}`;
  return [
    `workspaces ${of(String(t.usage.workspaces), t.maxWorkspaces === null ? null : String(t.maxWorkspaces))}`,
    `cpus ${of(String(t.usage.cpus), t.maxCpus === null ? null : String(t.maxCpus))}`,
    `memory ${of(formatSize(t.usage.memoryBytes), t.maxMemoryBytes === null ? null : formatSize(t.maxMemoryBytes))}`,
  ].join(', ');
}

/** Registers `berth team ls`. */
export function registerTeamLs(team: Command, ctx: CliContext): void {
  withJson(team.command('ls').alias('list').description('list your teams (admins: every team)')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('teamsList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.teams.length === 0) return void ctx.io.stdout.write('No teams; an admin creates one with `berth team create NAME`.\n');
    const rows = result.teams.map((t) => [t.name, t.members.map((m) => (m.role === 'admin' ? `${m.user} (admin)` : m.user)).join(', ') || '-', quotaText(t)]);
    ctx.io.stdout.write(renderTable(['NAME', 'MEMBERS', 'USE/QUOTA'], rows));
  });
}
