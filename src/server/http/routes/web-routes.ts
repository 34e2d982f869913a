/**
 * The web UI's sign-in routes: minting a one-time link (`berth ui`), redeeming it at
 * /sign-in (which sets the session cookie and redirects to / without the token), the
 * session the page reads its CSRF value from, signing in with a typed API token, and signing
 * out. The cookie is HTTP-only and SameSite=Strict, and Secure when the server speaks HTTPS.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  API_PREFIX,
  BerthError,
  fromZodError,
  MAX_SECRET_LENGTH,
  routes,
  sessionPostSchema,
  type User,
  WEB_SESSION_COOKIE,
  WEB_SIGN_IN_PATH,
  type WebSession,
} from '../../../api/index.js';
import { userForToken } from '../../auth/users.js';
import { csrfFor } from '../../auth/web/credentials.js';
import { createSession, deleteSession, mintSignInLink, type NewSession, redeemSignInLink } from '../../auth/web/sessions.js';
import type { Services } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { authenticate } from '../app.js';
import { registerRoute } from './register.js';

/** The Set-Cookie value that stores `session` (or, with null, clears the cookie). */
export function sessionCookie(session: NewSession | null, secure: boolean): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (!session) return [`${WEB_SESSION_COOKIE}=`, 'Max-Age=0', ...attrs].join('; ');
  const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
  return [`${WEB_SESSION_COOKIE}=${session.token}`, `Max-Age=${maxAge}`, ...attrs].join('; ');
}

/** What GET /session answers for an authenticated request. */
function sessionView(req: FastifyRequest, user: User): WebSession {
  const web = req.webSession;
  return { user, via: web ? 'cookie' : 'token', csrf: web ? csrfFor(web.token) : null, expiresAt: web?.expiresAt ?? null };
}

/** Adds the sign-in routes. */
export function registerWebRoutes(app: FastifyInstance, store: Store, s: Services): void {
  registerRoute(app, store, 'signInLinksPost', async ({ user, body }) => mintSignInLink(store, user, body.ttlSeconds));

  const url = (name: 'sessionGet' | 'sessionPost' | 'sessionDelete') => API_PREFIX + routes[name].path;
  const secure = (req: FastifyRequest) => req.protocol === 'https';

  app.get(url('sessionGet'), async (req) => {
    req.routeName = 'sessionGet';
    return sessionView(req, await authenticate(store, req));
  });

  app.post(url('sessionPost'), async (req, reply) => {
    req.routeName = 'sessionPost';
    const parsed = sessionPostSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw fromZodError(parsed.error);
    const user = await userForToken(store, parsed.data.token);
    if (!user)
      throw new BerthError(
        'UNAUTHENTICATED',
        'That API token is not valid (unknown, revoked or expired); create one with `berth token create`, or sign in with a link from `berth ui`.',
        { field: 'token' },
      );
    req.user = user;
    const session = await createSession(store, user);
    req.webSession = session;
    void reply.header('set-cookie', sessionCookie(session, secure(req))).header('cache-control', 'no-store');
    return reply.status(201).send(sessionView(req, user));
  });

  app.delete(url('sessionDelete'), async (req, reply) => {
    req.routeName = 'sessionDelete';
    await authenticate(store, req);
    const signedOut = req.webSession ? await deleteSession(store, req.webSession.token) : false;
    return reply.header('set-cookie', sessionCookie(null, secure(req))).send({ signedOut });
  });

  // Redeeming a link is a GET (it is opened from a terminal), so the audit hook does not see
  // it: it is recorded here, a failure as a denial.
  app.get(WEB_SIGN_IN_PATH, async (req, reply: FastifyReply) => {
    req.routeName = 'webSignIn';
    const token = (req.query as { token?: unknown }).token;
    const user = typeof token === 'string' && token.length <= MAX_SECRET_LENGTH ? await redeemSignInLink(store, token) : null;
    await s.audit.record({
      actorId: user?.id ?? null,
      actorName: user?.name ?? 'anonymous',
      action: 'webSignIn',
      outcome: user ? 'ok' : 'denied',
      sourceIp: req.ip,
    });
    void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (!user) return reply.redirect('/?sign-in=failed', 303);
    const session = await createSession(store, user);
    return reply.header('set-cookie', sessionCookie(session, secure(req))).redirect('/', 303);
  });
}
