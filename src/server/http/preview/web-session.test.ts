/**
 * Web UI previews through the real HTTP server (fastify, the preview front door, real SQLite):
 * a browser session mints a preview link only with its CSRF header and for a workspace it may
 * use; the link's cookie is bound to that session, so signing out, the session expiring or the
 * user being disabled turns the preview into the same 404 as a stranger's. No node is
 * connected, so a request that gets past access answers the node's state (not 404).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../auth/secrets.js';
import { csrfFor } from '../../auth/web/credentials.js';
import { createServices } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { openSqliteStore } from '../../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../../store/seed.test-support.js';
import { createApp } from '../app.js';
import { registerJsonRoutes } from '../routes/json-routes.js';
import { registerWebRoutes } from '../routes/web-routes.js';
import { loadPreviewKey, PreviewCredentials } from './credentials.js';
import { startPreview } from './index.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let base: string;
const ALICE = 'berth_alice-web-token';
const BOB = 'berth_bob-web-token';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-web-preview-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const now = new Date().toISOString();
  await seedUsers(
    store,
    [
      { id: 'ua', name: 'alice', role: 'member' },
      { id: 'ub', name: 'bob', role: 'member' },
    ],
    now,
  );
  await store.db
    .insertInto('api_tokens')
    .values([
      { id: 'ta', user_id: 'ua', name: 'a', token_hash: hashSecret(ALICE), created_at: now, last_used_at: null, revoked_at: null, expires_at: null },
      { id: 'tb', user_id: 'ub', name: 'b', token_hash: hashSecret(BOB), created_at: now, last_used_at: null, revoked_at: null, expires_at: null },
    ])
    .execute();
  await seedNode(store, 'n1', now);
  await store.db
    .insertInto('workspaces')
    .values(workspaceRow('w-app', 'app', 'ua', now))
    .execute();
  const log = pino({ level: 'silent' });
  const services = createServices(store, log, { heartbeatMs: 1000 });
  app = await createApp(log);
  registerJsonRoutes(app, store, services);
  registerWebRoutes(app, store, services);
  await startPreview(app, store, services, { dataDir: dir, tls: false }, log);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Signs in with a typed API token: the session cookie pair and its CSRF value. */
async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
}

async function mint(session: { cookie: string; csrf?: string }, body: unknown, name = 'app'): Promise<Response> {
  const headers: Record<string, string> = { cookie: session.cookie, 'content-type': 'application/json' };
  if (session.csrf !== undefined) headers['x-berth-csrf'] = session.csrf;
  return fetch(`${base}/api/v1/workspaces/${name}/previews`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Redeems a minted path: the preview cookie pair it sets. */
async function redeem(path: string): Promise<string> {
  const res = await fetch(base + path, { redirect: 'manual' });
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(path.slice(0, path.indexOf('?')));
  const set = res.headers.get('set-cookie')!;
  expect(set).toMatch(/^berth_preview=v1\.[^;]+; Path=\/w\/app\/; HttpOnly; SameSite=Lax/);
  return set.split(';')[0]!;
}

/** The status of a preview request with `cookie`. */
async function open(cookie: string): Promise<number> {
  const res = await fetch(`${base}/w/app/p/3000/`, { headers: { cookie, accept: 'application/json' } });
  await res.arrayBuffer();
  return res.status;
}

describe('web UI previews: minting from a browser session', () => {
  it('needs the session’s CSRF header and a valid port, then binds the link to the session', async () => {
    const alice = await signIn(ALICE);
    const noCsrf = await mint({ cookie: alice.cookie }, { port: 3000 });
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.json()).toMatchObject({ code: 'PERMISSION_DENIED' });
    const wrongCsrf = await mint({ cookie: alice.cookie, csrf: csrfFor('bsess_other') }, { port: 3000 });
    expect(wrongCsrf.status).toBe(403);
    for (const body of [{}, { port: 0 }, { port: 65536 }, { port: 3000.5 }, { port: '3000' }, { port: 3000, extra: 1 }]) {
      const bad = await mint(alice, body);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    const ok = await mint(alice, { port: 3000 });
    expect(ok.status).toBe(201);
    const minted = (await ok.json()) as { path: string; workspace: string; port: number };
    expect(minted).toMatchObject({ workspace: 'app', port: 3000 });
    expect(minted.path).toMatch(/^\/w\/app\/p\/3000\/\?berth_token=bprev_/);
    const cookie = await redeem(minted.path);
    // The cookie names the browser session (by its id), not an API token.
    const grant = new PreviewCredentials(await loadPreviewKey(dir)).verifyCookie(cookie.slice('berth_preview='.length));
    const row = await store.db
      .selectFrom('web_sessions')
      .select('id')
      .where('token_hash', '=', hashSecret(alice.cookie.split('=')[1]!))
      .executeTakeFirstOrThrow();
    expect(grant).toEqual({ userId: 'ua', workspaceId: 'w-app', sessionId: row.id });
    // Past access: no node is connected, so the answer is the node's state, not 404.
    expect(await open(cookie)).toBe(503);
  });

  it('answers 404 once the session is signed out, as for a stranger', async () => {
    const alice = await signIn(ALICE);
    const cookie = await redeem(((await (await mint(alice, { port: 3000 })).json()) as { path: string }).path);
    expect(await open(cookie)).toBe(503);
    const out = await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie: alice.cookie, 'x-berth-csrf': alice.csrf } });
    expect(out.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100)); // past the access cache
    expect(await open(cookie)).toBe(404);
  });

  it('answers 404 once the session expires or the user is disabled', async () => {
    const alice = await signIn(ALICE);
    const cookie = await redeem(((await (await mint(alice, { port: 3000 })).json()) as { path: string }).path);
    const hash = hashSecret(alice.cookie.split('=')[1]!);
    await store.db
      .updateTable('web_sessions')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('token_hash', '=', hash)
      .execute();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await open(cookie)).toBe(404);

    const again = await signIn(ALICE);
    const second = await redeem(((await (await mint(again, { port: 3000 })).json()) as { path: string }).path);
    expect(await open(second)).toBe(503);
    await store.db.updateTable('users').set({ disabled_at: new Date().toISOString() }).where('id', '=', 'ua').execute();
    await new Promise((r) => setTimeout(r, 1100));
    try {
      expect(await open(second)).toBe(404);
    } finally {
      await store.db.updateTable('users').set({ disabled_at: null }).where('id', '=', 'ua').execute();
    }
  });

  it('gives another member no link to a workspace not shared with them, and her cookie nothing', async () => {
    const bob = await signIn(BOB);
    const res = await mint(bob, { port: 3000 });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    const named = await mint(bob, { port: 3000 }, 'alice%2Fapp');
    expect(named.status).toBe(404);
  });
});
