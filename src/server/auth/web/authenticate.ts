/**
 * Authentication by the web UI's session cookie, for requests without a bearer token: the
 * session must be live, a state-changing request must carry the CSRF header, and a WebSocket
 * handshake must come from a page of this server's own origin.
 */
import type { FastifyRequest } from 'fastify';
import { BerthError, CSRF_HEADER, CSRF_QUERY_PARAM, type User, WEB_SESSION_COOKIE } from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { csrfMatches, needsCsrf, originMatchesHost, readCookie } from './credentials.js';
import { sessionUser } from './sessions.js';

/** The user of the request's browser session; null when it has no session cookie. Throws when the cookie does not authenticate. */
export async function authenticateBrowser(store: Store, req: FastifyRequest): Promise<User | null> {
  const token = readCookie(req.headers.cookie, WEB_SESSION_COOKIE);
  if (!token) return null;
  const session = await sessionUser(store, token);
  if (!session)
    throw new BerthError(
      'UNAUTHENTICATED',
      'Your browser session has ended (signed out or expired); sign in again with a link from `berth ui`, or with an API token.',
    );
  // The user is known from here on, so a refusal below is audited as theirs.
  req.user = session.user;
  // Web UI previews: every request, reads included, must carry the CSRF value, which only the
  // UI's own page gets (web-static.ts): a workspace's preview is served from this origin in
  // path mode, and its scripts must not use the viewer's session at all. A WebSocket handshake
  // cannot carry a header, so it brings the value in the query.
  const sent = req.headers[CSRF_HEADER] ?? (isUpgrade(req) ? (req.query as Record<string, unknown> | undefined)?.[CSRF_QUERY_PARAM] : undefined);
  if (!csrfMatches(token, sent as string | string[] | undefined)) {
    throw new BerthError(
      'PERMISSION_DENIED',
      needsCsrf(req.method)
        ? `This change came with the session cookie but without the page's ${CSRF_HEADER} header, so it may come from another site or a workspace's preview; reload the berth page and retry.`
        : `This request came with the session cookie but without the page's ${CSRF_HEADER} value, so it may come from a workspace's preview or another page; reload the berth page and retry.`,
    );
  }
  if (!originMatchesHost(req.headers.origin, req.headers.host)) {
    throw new BerthError('PERMISSION_DENIED', 'This request came with the session cookie from a page of another origin; open berth at its own address.');
  }
  req.webSession = { token, expiresAt: session.expiresAt };
  return session.user;
}

/** Whether the request is a WebSocket handshake. */
function isUpgrade(req: FastifyRequest): boolean {
  const up = req.headers.upgrade;
  return typeof up === 'string' && up.toLowerCase() === 'websocket';
}
