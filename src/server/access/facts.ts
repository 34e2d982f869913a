/**
 * Gathers what `can` (permissions.ts) needs from the store: the actor as stored now (a removed
 * user is null), their role in the workspace's team, the shares naming them or their teams,
 * and the sharing policy. Kept apart from the rules so those stay pure and property-tested.
 */
import type { Store } from '../store/open.js';
import { type AccessFacts, type Action, type Actor, can, type Decision, type SharingPolicy, type WorkspaceRef } from './permissions.js';
import { readSharingPolicy } from './settings.js';

/** The facts about `actorId` and one workspace, as stored now. */
export async function loadFacts(
  store: Store,
  actorId: string,
  ws: WorkspaceRef & { id: string },
  now = Date.now(),
  policy?: SharingPolicy,
): Promise<{ actor: Actor | null; facts: AccessFacts }> {
  const db = store.db;
  const [actorRow, teamRow, shares, pol] = await Promise.all([
    db.selectFrom('users').select(['id', 'role']).where('id', '=', actorId).where('disabled_at', 'is', null).executeTakeFirst(),
    ws.teamId
      ? db.selectFrom('team_members').select('role').where('team_id', '=', ws.teamId).where('user_id', '=', actorId).executeTakeFirst()
      : Promise.resolve(undefined),
    db
      .selectFrom('workspace_shares')
      .select(['role', 'expires_at'])
      .where('workspace_id', '=', ws.id)
      .where((eb) => eb.or([eb('user_id', '=', actorId), eb('team_id', 'in', eb.selectFrom('team_members').select('team_id').where('user_id', '=', actorId))]))
      .execute(),
    policy ? Promise.resolve(policy) : readSharingPolicy(store),
  ]);
  return {
    actor: actorRow ? { id: actorRow.id, role: actorRow.role } : null,
    facts: {
      now,
      policy: pol,
      teamRole: teamRow?.role ?? null,
      shares: shares.map((s) => ({ role: s.role, expiresAt: s.expires_at ? Date.parse(s.expires_at) : null })),
    },
  };
}

/** `can` with the facts loaded from the store: the one call every access path makes. */
export async function decide(store: Store, actorId: string, action: Action, ws: WorkspaceRef & { id: string }, now = Date.now()): Promise<Decision> {
  const { actor, facts } = await loadFacts(store, actorId, ws, now);
  return can(actor, action, ws, facts);
}

/** `can` for many workspaces at once (a list page): four queries however many rows. */
export async function decideMany(
  store: Store,
  actorId: string,
  action: Action,
  rows: ReadonlyArray<WorkspaceRef & { id: string }>,
  now = Date.now(),
): Promise<Decision[]> {
  if (rows.length === 0) return [];
  const db = store.db;
  const ids = rows.map((r) => r.id);
  const [actorRow, teams, shares, policy] = await Promise.all([
    db.selectFrom('users').select(['id', 'role']).where('id', '=', actorId).where('disabled_at', 'is', null).executeTakeFirst(),
    db.selectFrom('team_members').select(['team_id', 'role']).where('user_id', '=', actorId).execute(),
    db
      .selectFrom('workspace_shares')
      .select(['workspace_id', 'role', 'expires_at'])
      .where('workspace_id', 'in', ids)
      .where((eb) => eb.or([eb('user_id', '=', actorId), eb('team_id', 'in', eb.selectFrom('team_members').select('team_id').where('user_id', '=', actorId))]))
      .execute(),
    readSharingPolicy(store),
  ]);
  const actor: Actor | null = actorRow ? { id: actorRow.id, role: actorRow.role } : null;
  const teamRole = new Map(teams.map((t) => [t.team_id, t.role]));
  return rows.map((ws) =>
    can(actor, action, ws, {
      now,
      policy,
      teamRole: ws.teamId ? (teamRole.get(ws.teamId) ?? null) : null,
      shares: shares.filter((s) => s.workspace_id === ws.id).map((s) => ({ role: s.role, expiresAt: s.expires_at ? Date.parse(s.expires_at) : null })),
    }),
  );
}
