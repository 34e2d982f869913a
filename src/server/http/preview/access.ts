/**
 * Deciding who a preview request is: a one-time token in the URL (traded for a cookie and a
 * redirect), the preview cookie, or a bearer API token. Whoever the permission function lets
 * `use` the workspace (owner, team, share) gets through; anything else is null, which the caller
 * answers with the same 404 as a workspace that does not exist, so names do not leak. (Server
 * admins get 404 on workspaces not theirs: a preview's pages run in the browser with the
 * viewer's preview cookies, so a page must never be shown to someone it was not shared with.)
 */
import type { IncomingMessage } from 'node:http';
import { PREVIEW_COOKIE, PREVIEW_TOKEN_PARAM, type WorkspaceStatus } from '../../../api/index.js';
// Teams and sharing: who may use a preview is the permission function's call.
import { decide } from '../../access/facts.js';
import type { Store } from '../../store/open.js';
import { COOKIE_TTL_MS, grantStillValid, type PreviewCredentials, type PreviewGrant, tokenCaller } from './credentials.js';

/** The workspace a preview goes to, as the proxy needs it. */
export interface PreviewWorkspace {
  id: string;
  name: string;
  nodeId: string;
  status: WorkspaceStatus;
  ownerId: string;
  ownerName: string;
  teamId: string | null;
}

/** Whether `userId` may open the workspace's previews: `use` by `can`, but not through server-admin rights alone (see above). */
export async function previewAllowed(store: Store, userId: string, ws: { id: string; ownerId: string; teamId: string | null }): Promise<boolean> {
  const d = await decide(store, userId, 'use', { id: ws.id, ownerId: ws.ownerId, teamId: ws.teamId });
  return d.allowed && d.via !== 'server-admin';
}

async function userName(store: Store, id: string): Promise<string> {
  return (await store.db.selectFrom('users').select('name').where('id', '=', id).executeTakeFirst())?.name ?? '(removed user)';
}

/** Who the request is and what to do about credentials. */
export type Access =
  | { kind: 'pass'; ws: PreviewWorkspace; userId: string; userName: string; dropAuthorization: boolean }
  /** A one-time token was traded (set the cookie), or a spent one dropped (cookie null): send the browser to `location`. */
  | { kind: 'redirect'; ws: PreviewWorkspace; userId: string; userName: string; cookie: string | null; location: string };

/** Where the cookie applies. */
export interface CookieScope {
  /** `/w/NAME/` in path mode, `/` on a preview host. */
  path: string;
  secure: boolean;
}

/**
 * The workspaces named `name` (of `owner` when the URL names one). Names are unique per owner,
 * so `/w/NAME/` may match one per owner: the request's credential picks the caller's own.
 */
async function workspacesNamed(store: Store, name: string, owner: string | undefined): Promise<PreviewWorkspace[]> {
  let q = store.db
    .selectFrom('workspaces')
    .innerJoin('users', 'users.id', 'workspaces.owner_id')
    .select([
      'workspaces.id',
      'workspaces.name',
      'workspaces.node_id',
      'workspaces.status',
      'workspaces.owner_id',
      'users.name as owner_name',
      'workspaces.team_id',
    ])
    .where('workspaces.name', '=', name);
  if (owner !== undefined) q = q.where('users.name', '=', owner);
  const rows = await q.execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    nodeId: row.node_id,
    status: row.status as WorkspaceStatus,
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    teamId: row.team_id ?? null,
  }));
}

/** The values of every cookie named `name` in a Cookie header (several when paths overlap). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (typeof header !== 'string' || header.length > 16_384) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    out.push(part.slice(eq + 1).trim());
  }
  return out.slice(0, 8);
}

/** The one-time token in a request target's query, and the target without it. */
export function splitToken(target: string): { token: string | null; without: string } {
  const q = target.indexOf('?');
  if (q < 0) return { token: null, without: target };
  const params = new URLSearchParams(target.slice(q + 1));
  const token = params.get(PREVIEW_TOKEN_PARAM);
  if (token === null) return { token: null, without: target };
  params.delete(PREVIEW_TOKEN_PARAM);
  const rest = params.toString();
  return { token, without: target.slice(0, q) + (rest ? `?${rest}` : '') };
}

/**
 * Resolves a request for workspace `name`'s preview. `expectUser` is the owner's name a
 * preview host (subdomain mode) or an `/w/OWNER.NAME/` path named; without it the workspace is
 * the caller's own `name`. `target` is the request target as the client sent it.
 */
export async function resolveAccess(
  store: Store,
  creds: PreviewCredentials,
  req: IncomingMessage,
  name: string,
  target: string,
  scope: CookieScope,
  expectUser?: string,
): Promise<Access | null> {
  const named = await workspacesNamed(store, name, expectUser);
  if (named.length === 0) return null;
  // The workspace a grant is for, when it is one of these, its user may still use it (the
  // permission function, see above) and the token it came from is still valid.
  const granted = async (g: PreviewGrant | null): Promise<PreviewWorkspace | null> => {
    const ws = g ? named.find((w) => g.workspaceId === w.id) : undefined;
    return ws && (await previewAllowed(store, g!.userId, ws)) && (await grantStillValid(store, g!)) ? ws : null;
  };

  const { token, without } = splitToken(target);
  if (token !== null) {
    const grant = creds.redeem(token);
    const ws = await granted(grant);
    if (grant && ws) {
      const attrs = [`Path=${scope.path}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.floor(COOKIE_TTL_MS / 1000)}`];
      if (scope.secure) attrs.push('Secure');
      return {
        kind: 'redirect',
        ws,
        userId: grant.userId,
        userName: await userName(store, grant.userId),
        cookie: `${PREVIEW_COOKIE}=${creds.cookie(grant)}; ${attrs.join('; ')}`,
        location: without,
      };
    }
  }
  const pass = await passing(store, creds, req, named, expectUser !== undefined, granted);
  // A used or stale token in the URL (a reloaded tab) is dropped for a caller who is let in anyway.
  if (pass && token !== null) return { kind: 'redirect', ws: pass.ws, userId: pass.userId, userName: pass.userName, cookie: null, location: without };
  return pass;
}

/** The request's cookie or bearer token, when either makes it the owner's. */
async function passing(
  store: Store,
  creds: PreviewCredentials,
  req: IncomingMessage,
  named: PreviewWorkspace[],
  ownerNamed: boolean,
  granted: (g: PreviewGrant | null) => Promise<PreviewWorkspace | null>,
): Promise<Extract<Access, { kind: 'pass' }> | null> {
  for (const value of cookieValues(req.headers.cookie, PREVIEW_COOKIE)) {
    const g = creds.verifyCookie(value);
    const ws = await granted(g);
    if (g && ws) return { kind: 'pass', ws, userId: g.userId, userName: await userName(store, g.userId), dropAuthorization: false };
  }
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
  if (bearer) {
    const caller = await tokenCaller(store, bearer);
    // A bare name is the caller's own; a URL that names the owner leaves one candidate.
    const ws = caller ? (ownerNamed ? named[0] : named.find((w) => w.ownerId === caller.userId)) : undefined;
    if (caller && ws && (await previewAllowed(store, caller.userId, ws)))
      return { kind: 'pass', ws, userId: caller.userId, userName: caller.userName, dropAuthorization: true };
  }
  return null;
}

/** How long a granted access is reused for the same credentials (a revoked token or cookie stops working within this). */
export const ACCESS_CACHE_MS = 1000;
const MAX_CACHED = 2048;

/**
 * Recently granted accesses, so a page's burst of requests (scripts, styles, images) does not
 * re-read the token and the workspace for each: a preview request's cost is mostly hops, and
 * two queries were a third of the server's share. Only grants are kept, for ACCESS_CACHE_MS.
 */
export class AccessCache {
  private readonly entries = new Map<string, { access: Extract<Access, { kind: 'pass' }>; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The key of a request's credentials for one target; null when it carries a one-time token (never cached). */
  static key(req: IncomingMessage, name: string, target: string, expectUser: string | undefined): string | null {
    if (target.includes(PREVIEW_TOKEN_PARAM)) return null;
    const key = `${name}\0${expectUser ?? ''}\0${req.headers.cookie ?? ''}\0${req.headers.authorization ?? ''}`;
    // Bounded memory: requests with huge cookie headers are checked each time instead.
    return key.length <= 4096 ? key : null;
  }

  get(key: string): Extract<Access, { kind: 'pass' }> | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.until > this.now()) return e.access;
    this.entries.delete(key);
    return null;
  }

  set(key: string, access: Extract<Access, { kind: 'pass' }>): void {
    if (this.entries.size >= MAX_CACHED) this.entries.clear();
    this.entries.set(key, { access, until: this.now() + ACCESS_CACHE_MS });
  }

  /** Forgets every access to a workspace (it stopped or was deleted). */
  forgetWorkspace(workspaceId: string): void {
    for (const [k, e] of this.entries) if (e.access.ws.id === workspaceId) this.entries.delete(k);
  }
}
