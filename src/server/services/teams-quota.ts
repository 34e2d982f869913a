/**
 * Creating a workspace in a team: the caller must be a member of it (or a server admin), and
 * the team's quotas (count, CPUs, memory) must hold with the new workspace counted. The error
 * names the quota, what the team's workspaces use now and what the create asked for.
 */
import { BerthError, formatSize, type User } from '../../api/index.js';
import type { Store } from '../store/open.js';

/** The team a create names, with the quota check to run when the create is placed. */
export async function checkTeamForCreate(
  store: Store,
  user: User,
  teamName: string,
): Promise<{ id: string; check: (cpus: number | null, memoryBytes: number | null) => Promise<void> }> {
  const team = await store.db.selectFrom('teams').selectAll().where('name', '=', teamName).executeTakeFirst();
  const member = team
    ? await store.db.selectFrom('team_members').select('role').where('team_id', '=', team.id).where('user_id', '=', user.id).executeTakeFirst()
    : undefined;
  // A team one does not belong to answers like a missing one, so team names do not leak.
  if (!team || (!member && user.role !== 'admin'))
    throw new BerthError('NOT_FOUND', `No team named ${teamName} that you belong to; see \`berth team ls\`.`, { field: 'team' });
  return {
    id: team.id,
    check: async (cpus, memoryBytes) => {
      const use = await store.db
        .selectFrom('workspaces')
        .select((eb) => [
          eb.fn.countAll<number>().as('count'),
          eb.fn.sum<number | null>('cpus').as('cpus'),
          eb.fn.sum<number | null>('memory_bytes').as('memory'),
        ])
        .where('team_id', '=', team.id)
        .executeTakeFirstOrThrow();
      const count = Number(use.count);
      const usedCpus = Number(use.cpus ?? 0);
      const usedMemory = Number(use.memory ?? 0);
      if (team.max_workspaces !== null && count + 1 > team.max_workspaces) {
        throw new BerthError(
          'QUOTA_EXCEEDED',
          `Team ${team.name}'s workspace quota is ${team.max_workspaces} and it already has ${count}; remove one of its workspaces or ask an admin to raise the quota.`,
          { field: 'team' },
        );
      }
      if (team.max_cpus !== null) {
        if (cpus === null)
          throw new BerthError('INVALID_ARGUMENT', `Team ${team.name} has a CPU quota (${team.max_cpus}); say how many CPUs the workspace gets with --cpus.`, {
            field: 'cpus',
          });
        if (usedCpus + cpus > team.max_cpus) {
          throw new BerthError(
            'QUOTA_EXCEEDED',
            `Team ${team.name}'s CPU quota is ${team.max_cpus}; its workspaces use ${usedCpus} and this one asks for ${cpus}. Ask for fewer CPUs, remove a workspace, or ask an admin to raise the quota.`,
            { field: 'cpus' },
          );
        }
      }
      if (team.max_memory_bytes !== null) {
        if (memoryBytes === null)
          throw new BerthError(
            'INVALID_ARGUMENT',
            `Team ${team.name} has a memory quota (${formatSize(team.max_memory_bytes)}); say how much memory the workspace gets with --memory.`,
            { field: 'memory' },
          );
        if (usedMemory + memoryBytes > team.max_memory_bytes) {
          throw new BerthError(
            'QUOTA_EXCEEDED',
            `Team ${team.name}'s memory quota is ${formatSize(team.max_memory_bytes)}; its workspaces use ${formatSize(usedMemory)} and this one asks for ${formatSize(memoryBytes)}. Ask for less, remove a workspace, or ask an admin to raise the quota.`,
            { field: 'memory' },
          );
        }
      }
    },
  };
}
