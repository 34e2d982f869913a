/**
 * The web UI's sign-in through the real HTTP layer (fastify inject, real SQLite): one-time
 * links, the session cookie and its attributes, CSRF on cookie-authenticated changes (and
 * none needed with a bearer token), the Origin check, sign-out, and fuzzed headers that
 * must never get past authentication or crash it.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdmin } from '../../auth/users.js';
import { createServices } from '../../services/index.js';
import { openSqliteStore, type Store } from '../../store/open.js';
import { createApp } from '../app.js';
import { registerWebStatic } from '../web-static.js';
import { registerJsonRoutes } from './json-routes.js';
import { registerWebRoutes, sessionCookie } from './web-routes.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let token: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-web-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await ensureAdmin(store, join(dir, 'admin-token'));
  token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim();
  const services = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  app = await createApp(pino({ level: 'silent' }));
  registerJsonRoutes(app, store, services);
  registerWebRoutes(app, store, services);
  // Web UI previews: the page itself is where a session's CSRF value comes from.
  await mkdir(join(dir, 'web', 'assets'), { recursive: true });
  await writeFile(join(dir, 'web', 'index.html'), '<!doctype html><html><head><title>berth</title></head><body></body></html>');
  await registerWebStatic(app, join(dir, 'web'));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const bearer = () => ({ authorization: `Bearer ${token}` });

/** Mints a link with the admin's token and redeems it; returns the cookie pair and the Set-Cookie line. */
async function signIn(): Promise<{ cookie: string; setCookie: string; link: string }> {
  const minted = await app.inject({ method: 'POST', url: '/api/v1/web/sign-in-links', headers: bearer(), payload: {} });
  expect(minted.statusCode).toBe(201);
  const link = minted.json().path as string;
  const res = await app.inject({ method: 'GET', url: link });
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/');
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, setCookie, link };
}

/** The headers a browser's own navigation to a page sends (no script can set Sec-Fetch-*). */
const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

/** The CSRF value of a session as the page gets it: in the page the browser navigated to. */
async function csrfOf(cookie: string): Promise<string> {
  const page = await app.inject({ method: 'GET', url: '/', headers: { cookie, ...NAVIGATION } });
  expect(page.statusCode).toBe(200);
  expect(page.headers['cache-control']).toBe('no-store');
  const csrf = /<meta name="berth-csrf" content="([A-Za-z0-9_-]+)">/.exec(page.body)?.[1];
  expect(csrf).toBeDefined();
  const res = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie, 'x-berth-csrf': csrf! } });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ via: 'cookie', user: { name: 'admin' }, csrf });
  return csrf!;
}

describe('sign-in links', () => {
  it('set an HTTP-only SameSite=Strict session cookie and redirect to / without the token; work once', async () => {
    const { setCookie, link } = await signIn();
    expect(setCookie).toMatch(/^berth_session=bsess_[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    const again = await app.inject({ method: 'GET', url: link });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe('/?sign-in=failed');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('are stored hashed, and an expired one does not sign in', async () => {
    const minted = await app.inject({ method: 'POST', url: '/api/v1/web/sign-in-links', headers: bearer(), payload: { ttlSeconds: 10 } });
    const t = new URL(minted.json().path, 'http://x').searchParams.get('token')!;
    const rows = await store.db.selectFrom('web_sign_in_links').select('token_hash').execute();
    expect(rows.some((r) => r.token_hash.includes(t) || t.includes(r.token_hash))).toBe(false);
    await store.db
      .updateTable('web_sign_in_links')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    const res = await app.inject({ method: 'GET', url: minted.json().path });
    expect(res.headers.location).toBe('/?sign-in=failed');
  });

  it('cannot be minted without authentication, and refuse a silly lifetime', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/web/sign-in-links', payload: {} });
    expect(res.statusCode).toBe(401);
    const bad = await app.inject({ method: 'POST', url: '/api/v1/web/sign-in-links', headers: bearer(), payload: { ttlSeconds: 86400 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ttlSeconds' });
  });

  it('answer any token text with a redirect, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 600 }), async (t) => {
        const res = await app.inject({ method: 'GET', url: `/sign-in?token=${encodeURIComponent(t)}` });
        expect(res.statusCode).toBe(303);
        expect(res.headers.location).toBe('/?sign-in=failed');
      }),
      { numRuns: 50 },
    );
  });
});

describe('the session cookie', () => {
  it('authenticates reads and changes with the CSRF header (403 in berth’s error shape without it)', async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie, 'x-berth-csrf': csrf } })).json()).toMatchObject({ name: 'admin' });
    const without = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie }, payload: { name: 'web-a' } });
    expect(without.statusCode).toBe(403);
    expect(without.json()).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('x-berth-csrf') });
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, 'x-berth-csrf': csrf.slice(1) + 'A' },
      payload: { name: 'web-b' },
    });
    expect(wrong.statusCode).toBe(403);
    const right = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie, 'x-berth-csrf': csrf }, payload: { name: 'web-c' } });
    expect(right.statusCode).toBe(201);
    // Nothing was made by the refused requests.
    const names = (await store.db.selectFrom('api_tokens').select('name').execute()).map((r) => r.name);
    expect(names).toContain('web-c');
    expect(names).not.toContain('web-a');
    expect(names).not.toContain('web-b');
  });

  it('leaves bearer-token requests as they were: no CSRF header needed, and the bearer wins over a cookie', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(), payload: { name: 'cli' } });
    expect(res.statusCode).toBe(201);
    const both = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { ...bearer(), cookie: 'berth_session=bsess_nonsense' },
      payload: { name: 'cli2' },
    });
    expect(both.statusCode).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/api/v1/session', headers: bearer() })).json()).toMatchObject({ via: 'token', csrf: null });
  });

  it('refuses a request from a page of another origin', async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: { cookie, 'x-berth-csrf': csrf, origin: 'http://evil.example', host: 'localhost:80' },
    });
    expect(res.statusCode).toBe(403);
    const same = await app.inject({
      method: 'GET',
      url: '/api/v1/whoami',
      headers: { cookie, 'x-berth-csrf': csrf, origin: 'http://localhost:80', host: 'localhost:80' },
    });
    expect(same.statusCode).toBe(200);
  });

  it('never lets a fuzzed Cookie or CSRF header through, nor crashes on one', async () => {
    const { cookie } = await signIn();
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 80 }), async (junkCookie, junkCsrf) => {
        const read = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie: junkCookie } });
        expect([401, 400]).toContain(read.statusCode);
        const change = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie, 'x-berth-csrf': junkCsrf }, payload: { name: 'fuzz' } });
        const readJunk = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie, 'x-berth-csrf': junkCsrf } });
        expect(readJunk.statusCode).toBe(403);
        expect(change.statusCode).toBe(403);
      }),
      { numRuns: 60 },
    );
  });

  it('is marked Secure when the server speaks HTTPS', () => {
    expect(sessionCookie({ token: 'bsess_x', expiresAt: new Date(Date.now() + 60_000).toISOString() }, true)).toMatch(/; Secure$/);
    expect(sessionCookie(null, false)).toBe('berth_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict');
  });
});

describe('signing in with a typed token, and out', () => {
  it('trades a valid API token for a session; refuses an invalid one', async () => {
    const bad = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { token: 'berth_nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ code: 'UNAUTHENTICATED', field: 'token' });
    const res = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { token } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ via: 'cookie', user: { name: 'admin' }, csrf: expect.any(String) });
    expect(String(res.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('sign-out needs the CSRF header, deletes the session on the server, and the old cookie stops working', async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } })).statusCode).toBe(403);
    const out = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie, 'x-berth-csrf': csrf } });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ signedOut: true });
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    const after = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie, 'x-berth-csrf': csrf } });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('berth ui') });
  });

  it('an expired session no longer authenticates', async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    await store.db
      .updateTable('web_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie, 'x-berth-csrf': csrf } })).statusCode).toBe(401);
  });
});

describe('web UI previews: the session is the page’s alone', () => {
  it('gives the CSRF value only to a navigation to the page, never to a script’s fetch of it', async () => {
    const { cookie } = await signIn();
    for (const headers of [
      { cookie },
      { cookie, 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
      { cookie, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' },
      { cookie, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'document' },
    ]) {
      const page = await app.inject({ method: 'GET', url: '/workspaces/x', headers });
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain('berth-csrf');
    }
    const nav = await app.inject({ method: 'GET', url: '/workspaces/x', headers: { cookie, ...NAVIGATION } });
    expect(nav.body).toContain('<meta name="berth-csrf"');
    expect(nav.headers['cross-origin-opener-policy']).toBe('same-origin');
    // Without a session cookie there is nothing to give.
    expect((await app.inject({ method: 'GET', url: '/', headers: NAVIGATION })).body).not.toContain('berth-csrf');
  });

  it('refuses every cookie request without the value, reads included, and the session route too', async () => {
    const { cookie } = await signIn();
    for (const url of ['/api/v1/whoami', '/api/v1/session', '/api/v1/workspaces']) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'PERMISSION_DENIED', message: expect.stringContaining('preview') });
    }
  });

  it('takes the value from the query only on a WebSocket handshake', async () => {
    const { cookie } = await signIn();
    const csrf = await csrfOf(cookie);
    const plain = await app.inject({ method: 'GET', url: `/api/v1/whoami?berth_csrf=${csrf}`, headers: { cookie } });
    expect(plain.statusCode).toBe(403);
  });
});
