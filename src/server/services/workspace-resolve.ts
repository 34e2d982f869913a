/**
 * Turning what a caller typed into a workspace row. Names are unique per owner: `NAME` is the
 * caller's own workspace, `OWNER/NAME` that owner's. This is the ONE place a reference becomes
 * a row (HTTP routes, WebSocket streams, the SSH gateway and previews all come here); whether
 * the caller may see it, and do what they ask, is the permission function's to say
 * (access/permissions.ts through access/workspace-access.ts).
 */
import { BerthError, parseWorkspaceRef, type User, workspaceRefSchema } from '../../api/index.js';
import type { Action } from '../access/permissions.js';
import { authorizeWorkspace } from '../access/workspace-access.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';

/** A workspace row with its node's and owner's names, as the services read it. */
export type WorkspaceRow = Awaited<ReturnType<ReturnType<typeof workspaceRows>['executeTakeFirstOrThrow']>>;

/** The query every workspace read starts from: the row, its node's, owner's and team's names. */
export function workspaceRows(store: Store) {
  return store.db
    .selectFrom('workspaces')
    .innerJoin('nodes', 'nodes.id', 'workspaces.node_id')
    .innerJoin('users', 'users.id', 'workspaces.owner_id')
    .leftJoin('teams', 'teams.id', 'workspaces.team_id')
    .selectAll('workspaces')
    .select(['nodes.name as nodeName', 'users.name as ownerName', 'teams.name as teamName']);
}

/** `workspace/OWNER/NAME`: what operations and audit entries name a workspace by (unambiguous across owners). */
export function workspaceTarget(owner: string, name: string): string {
  return `workspace/${owner}/${name}`;
}

/** The text of a reference as it may be echoed back: cut short and escaped unless it is a valid one. */
function shown(text: string): string {
  return parseWorkspaceRef(text) ? text : `"${JSON.stringify(String(text).slice(0, 64)).slice(1, -1)}"`;
}

/**
 * The workspace `reference` names for `actor`: `NAME` → the actor's own, `OWNER/NAME` → that
 * owner's when the permission function lets the actor see it, and do `action` with it. A
 * missing workspace and one the actor may not see answer the same NOT_FOUND (no existence
 * leak); one they may see but not act on, PERMISSION_DENIED. Denials are audited.
 */
export async function resolveWorkspace(
  store: Store,
  audit: Pick<AuditLog, 'record'>,
  actor: User,
  reference: string,
  via: { sourceIp?: string } = {},
  action: Action = 'view',
): Promise<WorkspaceRow> {
  const notFound = () =>
    new BerthError('NOT_FOUND', `No workspace named ${shown(reference)}; see \`berth ws ls\` (another's is OWNER/NAME).`, { field: 'name' });
  // Text no workspace can be named by (from a URL, an SSH user name) is answered without a query.
  const ref = workspaceRefSchema.safeParse(reference).success ? parseWorkspaceRef(reference) : null;
  if (!ref) throw notFound();
  const q = workspaceRows(store).where('workspaces.name', '=', ref.name);
  const row = await (ref.owner === null ? q.where('workspaces.owner_id', '=', actor.id) : q.where('users.name', '=', ref.owner)).executeTakeFirst();
  if (!row) throw notFound();
  await authorizeWorkspace(store, audit, actor, row, action, via, notFound);
  return row;
}

/** A workspace reference as audit entries record it: `OWNER/NAME` (a bare name is the actor's own); other text as given. */
export function auditRef(reference: string, actor: Pick<User, 'name'>): string {
  const ref = parseWorkspaceRef(reference);
  return ref ? `${ref.owner ?? actor.name}/${ref.name}` : reference;
}
