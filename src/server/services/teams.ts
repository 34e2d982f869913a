/**
 * Teams: admins create and remove them and set their quotas; a team's admins (and server
 * admins) add and remove members; anyone may leave. A team one does not belong to answers
 * NOT_FOUND, so team names do not leak. Removing a member ends their live sessions on the
 * team's workspaces at once (revoker.ts).
 */
import { randomUUID } from 'node:crypto';
import { BerthError, parseSize, type Team, type TeamMembersPost, type TeamsPost, teamMembersPostSchema, teamsPostSchema, type User } from '../../api/index.js';
import type { Revoker } from '../access/revoker.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import type { TeamsTable } from '../store/schema.js';

/** Team management. */
export class TeamsService {
  constructor(
    private readonly store: Store,
    private readonly revoker: Pick<Revoker, 'recheck'>,
  ) {}

  /** Every team for an admin; a member's own teams otherwise. */
  async list(user: User): Promise<Team[]> {
    let q = this.store.db.selectFrom('teams').selectAll();
    if (user.role !== 'admin') q = q.where('id', 'in', this.store.db.selectFrom('team_members').select('team_id').where('user_id', '=', user.id));
    const rows = await q.orderBy('name').execute();
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** A new team (admins). */
  async create(user: User, input: TeamsPost): Promise<Team> {
    const body = teamsPostSchema.parse(input);
    const row: TeamsTable = {
      id: randomUUID(),
      name: body.name,
      max_workspaces: body.maxWorkspaces ?? null,
      max_cpus: body.maxCpus ?? null,
      max_memory_bytes: body.maxMemory ? parseSize(body.maxMemory)! : null,
      created_by: user.id,
      created_at: new Date().toISOString(),
    };
    try {
      await this.store.db.insertInto('teams').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new BerthError('ALREADY_EXISTS', `A team named ${body.name} already exists; pick another name.`, { field: 'name' });
      throw err;
    }
    return this.view(row);
  }

  /** Removes a team that holds no workspaces (admins); its memberships and shares go with it. */
  async remove(name: string): Promise<Team> {
    const row = await this.byName(name);
    const held = await this.store.db.selectFrom('workspaces').select('name').where('team_id', '=', row.id).orderBy('name').execute();
    if (held.length > 0) {
      throw new BerthError('FAILED_PRECONDITION', `Team ${name} still holds workspaces (${held.map((w) => w.name).join(', ')}); remove them first.`, {
        field: 'name',
      });
    }
    const before = await this.view(row);
    await this.store.db.deleteFrom('teams').where('id', '=', row.id).execute();
    await this.revoker.recheck();
    return before;
  }

  /** Adds a member or changes their role (team admins and server admins). */
  async addMember(user: User, teamName: string, input: TeamMembersPost): Promise<Team> {
    const body = teamMembersPostSchema.parse(input);
    const team = await this.managed(user, teamName);
    const who = await this.store.db.selectFrom('users').select('id').where('name', '=', body.user).executeTakeFirst();
    if (!who) throw new BerthError('NOT_FOUND', `No user named ${body.user}; see \`berth user ls\`.`, { field: 'user' });
    await this.store.db
      .insertInto('team_members')
      .values({ team_id: team.id, user_id: who.id, role: body.role, added_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['team_id', 'user_id']).doUpdateSet({ role: body.role }))
      .execute();
    // A demotion from admin can take rights away.
    await this.revoker.recheck();
    return this.view(team);
  }

  /** Removes a member (team admins, server admins, or the member leaving); their live sessions on the team's workspaces end. */
  async removeMember(user: User, teamName: string, memberName: string): Promise<{ team: Team; endedSessions: number }> {
    const team = await this.visible(user, teamName);
    if (memberName !== user.name) await this.managed(user, teamName);
    const who = await this.store.db.selectFrom('users').select('id').where('name', '=', memberName).executeTakeFirst();
    const gone = who ? await this.store.db.deleteFrom('team_members').where('team_id', '=', team.id).where('user_id', '=', who.id).executeTakeFirst() : null;
    if (!gone || Number(gone.numDeletedRows) === 0)
      throw new BerthError('NOT_FOUND', `${memberName} is not a member of team ${teamName}; see \`berth team ls\`.`, { field: 'user' });
    const endedSessions = await this.revoker.recheck();
    return { team: await this.view(team), endedSessions };
  }

  private async byName(name: string): Promise<TeamsTable> {
    const row = await this.store.db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new BerthError('NOT_FOUND', `No team named ${name}; see \`berth team ls\`.`, { field: 'name' });
    return row;
  }

  /** The team if the user may see it (member or server admin), else NOT_FOUND. */
  private async visible(user: User, name: string): Promise<TeamsTable> {
    const row = await this.store.db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    const member =
      row && user.role !== 'admin'
        ? await this.store.db.selectFrom('team_members').select('role').where('team_id', '=', row.id).where('user_id', '=', user.id).executeTakeFirst()
        : undefined;
    if (!row || (user.role !== 'admin' && !member))
      throw new BerthError('NOT_FOUND', `No team named ${name} that you belong to; see \`berth team ls\`.`, { field: 'name' });
    return row;
  }

  /** The team if the user may manage its members (team admin or server admin). */
  private async managed(user: User, name: string): Promise<TeamsTable> {
    const row = await this.visible(user, name);
    if (user.role === 'admin') return row;
    const me = await this.store.db.selectFrom('team_members').select('role').where('team_id', '=', row.id).where('user_id', '=', user.id).executeTakeFirst();
    if (me?.role !== 'admin') throw new BerthError('PERMISSION_DENIED', `Only team ${name}'s admins manage its members; ask one of them.`, { field: 'name' });
    return row;
  }

  private async view(row: TeamsTable): Promise<Team> {
    const [members, use] = await Promise.all([
      this.store.db
        .selectFrom('team_members')
        .innerJoin('users', 'users.id', 'team_members.user_id')
        .select(['users.name as user', 'team_members.role'])
        .where('team_id', '=', row.id)
        .orderBy('users.name')
        .execute(),
      this.store.db
        .selectFrom('workspaces')
        .select((eb) => [
          eb.fn.countAll<number>().as('count'),
          eb.fn.sum<number | null>('cpus').as('cpus'),
          eb.fn.sum<number | null>('memory_bytes').as('memory'),
        ])
        .where('team_id', '=', row.id)
        .executeTakeFirstOrThrow(),
    ]);
    return {
      name: row.name,
      maxWorkspaces: row.max_workspaces,
      maxCpus: row.max_cpus,
      maxMemoryBytes: row.max_memory_bytes === null ? null : Number(row.max_memory_bytes),
      members,
      usage: { workspaces: Number(use.count), cpus: Number(use.cpus ?? 0), memoryBytes: Number(use.memory ?? 0) },
      createdAt: row.created_at,
    };
  }
}
