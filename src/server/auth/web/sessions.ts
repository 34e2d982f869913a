/**
 * Browser sessions and the one-time sign-in links that start them. Both are random secrets
 * stored only as sha256 hashes: a sign-in link is deleted as it is redeemed (so it works once)
 * and a session row is deleted on sign-out; expired rows are swept when new ones are made.
 */
import { randomBytes } from 'node:crypto';
import { type User, WEB_SIGN_IN_PATH } from '../../../api/index.js';
import { userToApi } from '../../convert/to-api.js';
import type { Store } from '../../store/open.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../secrets.js';

/** How long a browser session lasts unless signed out: a working day. */
export const WEB_SESSION_TTL_MS = 12 * 3600_000;

/** A session token and when it ends. */
export interface NewSession {
  token: string;
  expiresAt: string;
}

/** Mints a one-time sign-in link for `user`; returns its path (with the token) and expiry. */
export async function mintSignInLink(store: Store, user: User, ttlSeconds: number): Promise<{ path: string; expiresAt: string }> {
  const now = new Date();
  const token = newSecret(SECRET_PREFIX.webSignInLink);
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  await store.db.deleteFrom('web_sign_in_links').where('expires_at', '<=', now.toISOString()).execute();
  await store.db
    .insertInto('web_sign_in_links')
    .values({ token_hash: hashSecret(token), user_id: user.id, created_at: now.toISOString(), expires_at: expiresAt })
    .execute();
  return { path: `${WEB_SIGN_IN_PATH}?token=${token}`, expiresAt };
}

/** Redeems a sign-in link: the user it was for, or null when unknown, used or expired. The link is gone either way. */
export async function redeemSignInLink(store: Store, token: string): Promise<User | null> {
  const hash = hashSecret(token);
  // The delete is the claim: of two redeemers of one link only the one that deleted the row signs in.
  const row = await store.db.deleteFrom('web_sign_in_links').where('token_hash', '=', hash).returning(['user_id', 'expires_at']).executeTakeFirst();
  if (!row || row.expires_at <= new Date().toISOString()) return null;
  const user = await store.db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirst();
  return user && !user.disabled_at ? userToApi(user) : null;
}

/** Starts a browser session for `user`. */
export async function createSession(store: Store, user: User): Promise<NewSession> {
  const now = new Date();
  const token = newSecret(SECRET_PREFIX.webSession);
  const expiresAt = new Date(now.getTime() + WEB_SESSION_TTL_MS).toISOString();
  await store.db.deleteFrom('web_sessions').where('expires_at', '<=', now.toISOString()).execute();
  await store.db
    .insertInto('web_sessions')
    .values({ token_hash: hashSecret(token), user_id: user.id, created_at: now.toISOString(), expires_at: expiresAt, id: randomBytes(16).toString('hex') })
    .execute();
  return { token, expiresAt };
}

/** The user and expiry of a live session, or null when it is unknown, signed out or expired. */
export async function sessionUser(store: Store, token: string): Promise<{ user: User; expiresAt: string } | null> {
  const row = await store.db
    .selectFrom('web_sessions')
    .innerJoin('users', 'users.id', 'web_sessions.user_id')
    .selectAll('users')
    .select('web_sessions.expires_at as session_expires_at')
    .where('web_sessions.token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  if (!row || row.disabled_at || row.session_expires_at <= new Date().toISOString()) return null;
  return { user: userToApi(row), expiresAt: row.session_expires_at };
}

/** Ends a session; true when there was one. */
export async function deleteSession(store: Store, token: string): Promise<boolean> {
  const res = await store.db.deleteFrom('web_sessions').where('token_hash', '=', hashSecret(token)).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Web UI previews: the id of a live session (what a preview cookie minted from it names), or null. */
export async function sessionId(store: Store, token: string): Promise<string | null> {
  const row = await store.db.selectFrom('web_sessions').select(['id', 'expires_at']).where('token_hash', '=', hashSecret(token)).executeTakeFirst();
  return row?.id && row.expires_at > new Date().toISOString() ? row.id : null;
}

/** Web UI previews: true while session `id` of `userId` is neither signed out nor expired (a disabled user is the permission check's). */
export async function sessionStillValid(store: Store, userId: string, id: string): Promise<boolean> {
  const row = await store.db.selectFrom('web_sessions').select('expires_at').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return !!row && row.expires_at > new Date().toISOString();
}
