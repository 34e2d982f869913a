/**
 * The paged lists through the real HTTP layer (fastify inject, real SQLite): pages cover every
 * row exactly once, filters filter, and no query string, however hostile, gets anything but a
 * page or a coded INVALID_ARGUMENT naming the field.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdmin } from '../auth/users.js';
import { createServices, type Services } from '../services/index.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { createApp } from './app.js';
import { registerJsonRoutes } from './routes/json-routes.js';

let dir: string;
let store: Store;
let services: Services;
let app: FastifyInstance;
let token: string;
const WORKSPACES = 137;
const NODES = 23;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-lists-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await ensureAdmin(store, join(dir, 'admin-token'));
  token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim();
  const admin = await store.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
  const now = new Date().toISOString();
  await store.db.insertInto('users').values({ id: 'u2', name: 'bob', role: 'member', email: null, created_at: now }).execute();
  for (let i = 0; i < NODES; i++) {
    await store.db
      .insertInto('nodes')
      .values({
        id: `n${i}`,
        name: `node-${String(i).padStart(2, '0')}`,
        credential_hash: `h${i}`,
        created_at: now,
        last_seen_at: null,
        agent_version: null,
        resources_json: null,
        providers_json: '[]',
        labels_json: JSON.stringify(i % 3 === 0 ? { zone: 'eu' } : { zone: 'us' }),
      })
      .execute();
  }
  for (let i = 0; i < WORKSPACES; i++) {
    await store.db
      .insertInto('workspaces')
      .values({
        id: `w${i}`,
        name: `ws-${i}`,
        owner_id: i % 4 === 0 ? 'u2' : admin.id,
        node_id: `n${i % NODES}`,
        provider: i % 5 === 0 ? 'lxc' : 'docker',
        image: 'base',
        status: i % 2 ? 'running' : 'stopped',
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }
  services = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  app = await createApp(pino({ level: 'silent' }));
  registerJsonRoutes(app, store, services);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method: 'GET', url: `/api/v1${path}`, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() };
}

/** Every page of a list, following nextCursor. */
async function pages(route: 'workspaces' | 'nodes', query: string, limit: number): Promise<string[][]> {
  const out: string[][] = [];
  let cursor: string | null = null;
  do {
    const res = await get(`/${route}?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status).toBe(200);
    out.push(res.body[route].map((x: { name: string }) => x.name));
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

describe('paged lists', () => {
  it('pages of any size cover every workspace exactly once, in name order', async () => {
    const everything = (await get('/workspaces?limit=1000')).body.workspaces.map((w: { name: string }) => w.name);
    expect(everything).toHaveLength(WORKSPACES);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), async (limit) => {
        const got = await pages('workspaces', '', limit);
        expect(got.flat()).toEqual(everything);
        expect(got.every((p) => p.length <= limit)).toBe(true);
      }),
      { numRuns: 15 },
    );
    // A default page is 100.
    expect((await get('/workspaces')).body.workspaces).toHaveLength(100);
  });

  it('filters workspaces by node, owner, status and provider, and pages the filtered list', async () => {
    const names = async (q: string) => (await pages('workspaces', q, 7)).flat();
    const expected = (keep: (i: number) => boolean) =>
      Array.from({ length: WORKSPACES }, (_, i) => i)
        .filter(keep)
        .map((i) => `ws-${i}`)
        .sort();
    expect(await names('&node=node-05')).toEqual(expected((i) => i % NODES === 5));
    expect(await names('&owner=bob')).toEqual(expected((i) => i % 4 === 0));
    expect(await names('&status=running&provider=lxc')).toEqual(expected((i) => i % 2 === 1 && i % 5 === 0));
    expect(await names('&owner=nobody')).toEqual([]);
  });

  it('filters nodes by status and label, with counts of their workspaces', async () => {
    const all = (await pages('nodes', '', 5)).flat();
    expect(all).toHaveLength(NODES);
    expect((await pages('nodes', '&label=zone%3Deu', 3)).flat()).toEqual(all.filter((_, i) => i % 3 === 0));
    expect((await pages('nodes', '&label=zone!%3Deu', 100)).flat()).toEqual(all.filter((_, i) => i % 3 !== 0));
    expect((await pages('nodes', '&label=gpu!%3Da100', 100)).flat()).toEqual(all);
    expect((await pages('nodes', '&status=online', 100)).flat()).toEqual([]);
    const first = (await get('/nodes?limit=1')).body.nodes[0];
    expect(first).toMatchObject({ name: 'node-00', workspaces: 6 });
  });

  it('answers a bad cursor, limit or filter with INVALID_ARGUMENT naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['/workspaces?cursor=nonsense', 'cursor'],
      ['/workspaces?cursor=c1.%2F%2F', 'cursor'],
      ['/workspaces?limit=0', 'limit'],
      ['/workspaces?limit=1001', 'limit'],
      ['/workspaces?limit=ten', 'limit'],
      ['/workspaces?status=sleeping', 'status'],
      ['/workspaces?node=Bad_Name', 'node'],
      ['/workspaces?color=red', 'color'],
      ['/workspaces?limit=1&limit=2', 'limit'],
      ['/nodes?label=zone', 'label'],
      ['/nodes?status=maybe', 'status'],
    ];
    for (const [path, field] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body, path).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    }
  });

  it('answers any query string with a page or a coded INVALID_ARGUMENT naming a field, never anything else', async () => {
    const key = fc.constantFrom('limit', 'cursor', 'node', 'owner', 'status', 'provider', 'label', 'x', '', '__proto__', 'constructor', 'limit[]', 'cursor[a]');
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('1', '1000', '-1', '1e3', 'c1.bm9kZS0wMQ', 'c1.', 'running', 'zone=eu', '%', '%00', '&', '='),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('workspaces', 'nodes'), fc.array(fc.tuple(key, value), { maxLength: 4 }), fc.boolean(), async (route, pairs, raw) => {
        const qs = pairs.map(([k, v]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&');
        const res = await app.inject({ method: 'GET', url: `/api/v1/${route}?${qs}`, headers: { authorization: `Bearer ${token}` } });
        if (res.statusCode === 200) return Array.isArray(res.json()[route]);
        const body = res.json();
        return res.statusCode === 400 && body.code === 'INVALID_ARGUMENT' && typeof body.field === 'string' && body.field.length > 0;
      }),
      { numRuns: 300 },
    );
  });
});
