/**
 * Turning what a caller typed into a workspace row. Names are unique per owner: `NAME` is the
 * caller's own workspace, `OWNER/NAME` that owner's. This is the ONE place a reference becomes
 * a row (HTTP routes, WebSocket streams, the SSH gateway and previews all come here), and
 * `mayView` the one place that decides whether the caller may know the row exists.
 */
import { BerthError, parseWorkspaceRef, workspaceRefSchema, type User } from '../../api/index.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';

/** A workspace row with its node's and owner's names, as the services read it. */
export type WorkspaceRow = Awaited<ReturnType<ReturnType<typeof workspaceRows>['executeTakeFirstOrThrow']>>;

/** The query every workspace read starts from: the row, its node's name and its owner's name. */
export function workspaceRows(store: Store) {
  return store.db
    .selectFrom('workspaces')
    .innerJoin('nodes', 'nodes.id', 'workspaces.node_id')
    .innerJoin('users', 'users.id', 'workspaces.owner_id')
    .selectAll('workspaces')
    .select(['nodes.name as nodeName', 'users.name as ownerName']);
}

/**
 * Whether `actor` may know that the workspace exists (see it, and name it as OWNER/NAME).
 * Today: its owner, or an admin. The sharing permission function (src/server/access/) plugs in
 * here; every read goes through resolveWorkspace, so this is the only place to change.
 */
export function mayView(actor: Pick<User, 'id' | 'role'>, row: { owner_id: string }): boolean {
  return actor.role === 'admin' || row.owner_id === actor.id;
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
 * owner's when `mayView` allows. A missing workspace and one the actor may not see answer the
 * same NOT_FOUND (no existence leak); the latter is audited as a denial.
 */
export async function resolveWorkspace(store: Store, audit: AuditLog, actor: User, reference: string, via: { sourceIp?: string } = {}): Promise<WorkspaceRow> {
  const notFound = () => new BerthError('NOT_FOUND', `No workspace named ${shown(reference)}; see \`berth ws ls\` (another's is OWNER/NAME).`, { field: 'name' });
  // Text no workspace can be named by (from a URL, an SSH user name) is answered without a query.
  const ref = workspaceRefSchema.safeParse(reference).success ? parseWorkspaceRef(reference) : null;
  if (!ref) throw notFound();
  const q = workspaceRows(store).where('workspaces.name', '=', ref.name);
  const row = await (ref.owner === null ? q.where('workspaces.owner_id', '=', actor.id) : q.where('users.name', '=', ref.owner)).executeTakeFirst();
  if (!row) throw notFound();
  if (!mayView(actor, row)) {
    await audit.record({ actorId: actor.id, actorName: actor.name, action: 'workspace.access', target: workspaceTarget(row.ownerName, row.name), outcome: 'denied', sourceIp: via.sourceIp, detail: 'not the owner' });
    throw notFound();
  }
  return row;
}

/** Narrows a workspaceRows() query to the rows `actor` may see: the SQL form of mayView, kept next to it. */
export function visibleTo<Q extends ReturnType<typeof workspaceRows>>(q: Q, actor: Pick<User, 'id' | 'role'>): Q {
  return (actor.role === 'admin' ? q : q.where('workspaces.owner_id', '=', actor.id)) as Q;
}

/** A workspace reference as audit entries record it: `OWNER/NAME` (a bare name is the actor's own); other text as given. */
export function auditRef(reference: string, actor: Pick<User, 'name'>): string {
  const ref = parseWorkspaceRef(reference);
  return ref ? `${ref.owner ?? actor.name}/${ref.name}` : reference;
}
