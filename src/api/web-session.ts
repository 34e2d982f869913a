/**
 * The web UI's sign-in: one-time sign-in links minted with an API token, browser sessions
 * kept in an HTTP-only cookie, and the CSRF header cookie-authenticated changes must carry.
 */
import { z } from 'zod';
import { userSchema } from './users.js';

/** The cookie that carries a browser session. */
export const WEB_SESSION_COOKIE = 'berth_session';
/** The header every cookie-authenticated request must carry, equal to the session's `csrf`. */
export const CSRF_HEADER = 'x-berth-csrf';
/** Web UI previews: the query parameter a cookie-authenticated WebSocket handshake carries the CSRF value in (a browser cannot add headers to one). */
export const CSRF_QUERY_PARAM = 'berth_csrf';
/** Web UI previews: the meta element of index.html that holds the CSRF value, served only to a browser's navigation to the page. */
export const CSRF_META = 'berth-csrf';
/** The page that redeems a sign-in link (outside /api/v1: it answers with a redirect, not JSON). */
export const WEB_SIGN_IN_PATH = '/sign-in';
/** Longest a secret (API token, sign-in link token, session token) may be, at the edge. */
export const MAX_SECRET_LENGTH = 512;

/** Body of POST /web/sign-in-links. */
export const signInLinksPostSchema = z.strictObject({
  ttlSeconds: z.number().int().min(10).max(3600).default(300),
});
export type SignInLinksPost = z.input<typeof signInLinksPostSchema>;

/** A freshly minted sign-in link: `path` (with its token) is shown once and works once. */
export const signInLinkSchema = z.object({ path: z.string(), expiresAt: z.string() });
export type SignInLink = z.infer<typeof signInLinkSchema>;

/** Body of POST /session: trade an API token typed into the page for a browser session. */
export const sessionPostSchema = z.strictObject({ token: z.string().min(1).max(MAX_SECRET_LENGTH) });

/** The caller's session, as the page sees it; `csrf` is what it sends in the CSRF header. */
export const webSessionSchema = z.object({
  user: userSchema,
  /** How this request was authenticated. */
  via: z.enum(['cookie', 'token']),
  /** The value for the CSRF header; null when the caller used a bearer token. */
  csrf: z.string().nullable(),
  expiresAt: z.string().nullable(),
});
export type WebSession = z.infer<typeof webSessionSchema>;
