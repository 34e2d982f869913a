/**
 * Who may see a preview. A browser cannot send a bearer header when it navigates, so the CLI
 * asks for a one-time token (random, kept only in this process, valid once for a minute) and
 * the browser trades it for a cookie. The cookie never holds the API token: it is an
 * HMAC-signed, expiring value naming the user, the workspace (by id, so a workspace deleted and
 * made again under the same name is not reachable with an old cookie) and the API token that
 * minted it (so revoking that token ends its previews at once), or, for a link the web UI asked
 * for, the browser session (so signing out or the session ending ends them). The signing key lives in the
 * data dir (mode 0600), so cookies outlive a server restart.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../../api/index.js';
import { hashSecret, newSecret } from '../../auth/secrets.js';
import { sessionStillValid } from '../../auth/web/sessions.js';
import type { Store } from '../../store/open.js';

/** How long a one-time token may wait to be used. */
export const ONE_TIME_TTL_MS = 60_000;
/** How long a preview cookie lasts. */
export const COOKIE_TTL_MS = 12 * 60 * 60_000;
/** Most one-time tokens waiting at once; past this the oldest go. */
const MAX_PENDING = 10_000;
/** Prefix of one-time preview tokens, so a leaked one is recognisable. */
export const PREVIEW_TOKEN_PREFIX = 'bprev_';

/** What a preview credential stands for. */
export interface PreviewGrant {
  userId: string;
  workspaceId: string;
  /** The API token that asked for it (exactly one of tokenId and sessionId is set). */
  tokenId?: string;
  /** Web UI previews: the browser session (web_sessions.id) that asked for it. */
  sessionId?: string;
}

/** The grant's fields alone (exactly one credential), or null when it names none or both. */
function grantOf(userId: string, workspaceId: string, tokenId: unknown, sessionId: unknown): PreviewGrant | null {
  if (typeof tokenId === 'string' && sessionId === undefined) return { userId, workspaceId, tokenId };
  if (typeof sessionId === 'string' && tokenId === undefined) return { userId, workspaceId, sessionId };
  return null;
}

/** Loads the cookie-signing key from the data dir, making it on first use. */
export async function loadPreviewKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, 'preview-key');
  const existing = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (existing && existing.length >= 32) return existing;
  const key = randomBytes(32);
  await writeFile(file, key, { mode: 0o600 });
  return key;
}

/** Mints and checks one-time tokens and cookies. */
export class PreviewCredentials {
  private readonly pending = new Map<string, PreviewGrant & { expires: number }>();

  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new one-time token for `grant`, and when it expires. */
  mintOneTime(grant: PreviewGrant): { token: string; expiresAt: Date } {
    if (!grantOf(grant.userId, grant.workspaceId, grant.tokenId, grant.sessionId)) throw new Error('a preview grant names exactly one credential');
    this.prune();
    const token = newSecret(PREVIEW_TOKEN_PREFIX);
    const expires = this.now() + ONE_TIME_TTL_MS;
    this.pending.set(hashSecret(token), { ...grant, expires });
    return { token, expiresAt: new Date(expires) };
  }

  /** The grant of a one-time token, consumed; null when it is unknown, used or expired. */
  redeem(token: string): PreviewGrant | null {
    if (typeof token !== 'string' || !token.startsWith(PREVIEW_TOKEN_PREFIX) || token.length > 100) return null;
    const key = hashSecret(token);
    const found = this.pending.get(key);
    if (!found) return null;
    this.pending.delete(key);
    if (found.expires <= this.now()) return null;
    return grantOf(found.userId, found.workspaceId, found.tokenId, found.sessionId);
  }

  /** A signed cookie value for `grant`, valid for COOKIE_TTL_MS. */
  cookie(grant: PreviewGrant): string {
    const payload = Buffer.from(
      JSON.stringify({
        u: grant.userId,
        w: grant.workspaceId,
        t: grant.tokenId,
        s: grant.sessionId,
        e: Math.floor((this.now() + COOKIE_TTL_MS) / 1000),
      }),
    ).toString('base64url');
    return `v1.${payload}.${this.sign(payload)}`;
  }

  /** The grant a cookie value carries, or null when it is forged, malformed or expired. */
  verifyCookie(value: string): PreviewGrant | null {
    if (typeof value !== 'string' || value.length > 1024) return null;
    const parts = value.split('.');
    if (parts.length !== 3 || parts[0] !== 'v1') return null;
    const [, payload, sig] = parts;
    const want = Buffer.from(this.sign(payload));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof data !== 'object' || data === null) return null;
    const d = data as { u?: unknown; w?: unknown; t?: unknown; s?: unknown; e?: unknown };
    if (typeof d.u !== 'string' || typeof d.w !== 'string' || typeof d.e !== 'number') return null;
    if (d.e * 1000 <= this.now()) return null;
    return grantOf(d.u, d.w, d.t, d.s);
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update('berth-preview-cookie\0').update(payload).digest('base64url');
  }

  private prune(): void {
    const now = this.now();
    for (const [k, v] of this.pending) if (v.expires <= now) this.pending.delete(k);
    while (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
  }
}

/** The caller of an API token: its user and the token's id; null when unknown, revoked or expired. */
export async function tokenCaller(store: Store, token: string): Promise<{ userId: string; userName: string; tokenId: string; role: string } | null> {
  if (typeof token !== 'string' || token.length > 200) return null;
  const row = await store.db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['users.id as user_id', 'users.name as user_name', 'users.role', 'api_tokens.id as token_id', 'api_tokens.revoked_at', 'api_tokens.expires_at'])
    .where('api_tokens.token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  if (!row || row.revoked_at || (row.expires_at && row.expires_at <= new Date().toISOString())) return null;
  return { userId: row.user_id, userName: row.user_name, tokenId: row.token_id, role: row.role };
}

/** True while the API token `tokenId` of `userId` is neither revoked nor expired. */
export async function tokenStillValid(store: Store, userId: string, tokenId: string): Promise<boolean> {
  const row = await store.db
    .selectFrom('api_tokens')
    .select(['revoked_at', 'expires_at'])
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return !!row && !row.revoked_at && !(row.expires_at && row.expires_at <= new Date().toISOString());
}

/** True while the credential a grant came from still stands: its API token, or (web UI previews) its browser session. */
export async function grantStillValid(store: Store, g: PreviewGrant): Promise<boolean> {
  if (g.sessionId !== undefined) return sessionStillValid(store, g.userId, g.sessionId);
  return g.tokenId !== undefined && tokenStillValid(store, g.userId, g.tokenId);
}

/** The error a bad or missing preview credential gets: the same 404 as a workspace that does not exist, so names do not leak. */
export function previewNotFound(name: string, port: number): BerthError {
  return new BerthError(
    'NOT_FOUND',
    `No preview of port ${port} in a workspace named ${name} for you; check the name, then open it with \`berth preview ${name} ${port}\`.`,
    { field: 'name' },
  );
}
