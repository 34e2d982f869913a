/**
 * The workspaces service's door: `can` applied to a workspace row, turned into the errors a
 * caller sees. Someone who may not even view the workspace gets NOT_FOUND, exactly like a
 * missing name, so names do not leak; someone who may view it but not do this gets
 * PERMISSION_DENIED saying why. Both are audited as denials.
 */
import { type ExpressionBuilder, sql } from 'kysely';
import { BerthError, type User } from '../../api/index.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';
import type { Database } from '../store/schema.js';
import { loadFacts } from './facts.js';
import { type Action, can, type Decision } from './permissions.js';

/** The columns of a workspace row the rules read (the owner's name, when known, for messages and the audit). */
export interface WorkspaceRow {
  id: string;
  name: string;
  owner_id: string;
  team_id?: string | null;
  ownerName?: string;
}

/**
 * Allowed, or throws NOT_FOUND / PERMISSION_DENIED (audited). `hidden` makes the NOT_FOUND for
 * a workspace the user may not see: the caller passes the one it gives for a missing name, so
 * the two are word for word the same.
 */
export async function authorizeWorkspace(
  store: Store,
  audit: Pick<AuditLog, 'record'>,
  user: Pick<User, 'id' | 'name'>,
  row: WorkspaceRow,
  action: Action,
  via: { sourceIp?: string } = {},
  hidden: () => BerthError = () => new BerthError('NOT_FOUND', `No workspace named ${row.name}; see \`berth ws ls\`.`, { field: 'name' }),
): Promise<Extract<Decision, { allowed: true }>> {
  const ref = { id: row.id, ownerId: row.owner_id, teamId: row.team_id ?? null };
  const { actor, facts } = await loadFacts(store, user.id, ref);
  const seen = can(actor, 'view', ref, facts);
  // Names are unique per owner: audit entries and messages name the workspace OWNER/NAME.
  const full = row.ownerName ? `${row.ownerName}/${row.name}` : row.name;
  // One the user may not even see is recorded as `workspace.access`, whatever was asked of it.
  const deny = (reason: string, label: string) =>
    audit.record({
      actorId: user.id,
      actorName: user.name,
      action: label,
      target: `workspace/${full}`,
      outcome: 'denied',
      sourceIp: via.sourceIp,
      detail: reason,
    });
  if (!seen.allowed) {
    await deny(seen.reason, 'workspace.access');
    throw hidden();
  }
  const d = action === 'view' ? seen : can(actor, action, ref, facts);
  if (!d.allowed) {
    await deny(d.reason, `workspace.${action}`);
    throw new BerthError('PERMISSION_DENIED', `You may not ${VERB[action]} workspace ${full}: ${d.reason}.`, { field: 'name' });
  }
  return d;
}

const VERB: Record<Action, string> = { view: 'see', use: 'use', admin: 'change', share: 'share', delete: 'delete' };

/**
 * A WHERE condition for lists: the workspaces the user owns, belongs to through a team, or
 * holds a share of (live shares only, and none while sharing is off). It preselects rows; each
 * is then checked with `can` (workspaces.ts), so this is never the deciding rule. `sharedOnly`
 * leaves out the user's own (`ws ls --shared`).
 */
export function visibleTo(userId: string, nowIso: string, sharedOnly: boolean) {
  return (eb: ExpressionBuilder<Database, 'workspaces'>) => {
    const myTeams = eb.selectFrom('team_members').select('team_members.team_id').where('team_members.user_id', '=', userId);
    const viaShare = eb.exists(
      eb
        .selectFrom('workspace_shares')
        .select(sql`1`.as('one'))
        .whereRef('workspace_shares.workspace_id', '=', 'workspaces.id')
        .where((s) => s.or([s('workspace_shares.user_id', '=', userId), s('workspace_shares.team_id', 'in', myTeams)]))
        .where((s) => s.or([s('workspace_shares.expires_at', 'is', null), s('workspace_shares.expires_at', '>', nowIso)])),
    );
    const others = [eb('workspaces.team_id', 'in', myTeams), viaShare];
    return sharedOnly ? eb.and([eb('workspaces.owner_id', '!=', userId), eb.or(others)]) : eb.or([eb('workspaces.owner_id', '=', userId), ...others]);
  };
}
