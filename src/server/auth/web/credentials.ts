/**
 * The pure parts of browser authentication: reading the session cookie from a Cookie header,
 * the CSRF value a session's page must echo, and the checks a cookie-authenticated request
 * passes. Hostile input ends as null/false, never as a throw.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_SECRET_LENGTH } from '../../../api/index.js';

/** Methods that change nothing, so they need no CSRF header. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A session token as berth mints them: prefix and base64url, nothing a cookie must quote. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/;

/**
 * The value of cookie `name` in a Cookie header, or null. The first occurrence wins (RFC 6265
 * orders the more specific path first); a value that is not a well-formed token is ignored.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  if (typeof header !== 'string' || header.length > 16_384) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length > 0 && value.length <= MAX_SECRET_LENGTH && TOKEN_SHAPE.test(value) ? value : null;
  }
  return null;
}

/** The CSRF value of a session: derived from its token, so it needs no storage and no other session's value fits. */
export function csrfFor(sessionToken: string): string {
  return createHash('sha256').update('berth-web-csrf\0').update(sessionToken).digest('base64url');
}

/** Whether a request with this method must carry the CSRF header when it comes with a cookie. */
export function needsCsrf(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/** Whether the CSRF header sent equals the session's value (in constant time; a repeated header never matches). */
export function csrfMatches(sessionToken: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || header.length > 128) return false;
  const want = Buffer.from(csrfFor(sessionToken));
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Whether a browser's Origin header names the host it sent the request to. Browsers send
 * Origin with every WebSocket handshake and cross-origin request; a page on another origin
 * cannot forge it, so a cookie-authenticated WebSocket from elsewhere is refused.
 */
export function originMatchesHost(origin: string | string[] | undefined, host: string | string[] | undefined): boolean {
  if (origin === undefined) return true; // not a browser (curl, the CLI): no cookie came from a page
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  try {
    // Both through URL with the origin's scheme, so a default port written out (`:80`) or left off compares equal.
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && new URL(`${o.protocol}//${host}`).host === o.host;
  } catch {
    return false;
  }
}
