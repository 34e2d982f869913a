/**
 * The HTTP layer fuzzed in this process, for many cases quickly: the real fastify app with the
 * real services and a real SQLite store, driven with fastify's inject instead of a socket.
 * No agent is connected, so this layer covers routing, authentication, validation and the
 * services up to the hub; the real-process suite (server.fuzz.test.ts) covers the rest.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdmin } from '../../src/server/auth/users.js';
import { createApp } from '../../src/server/http/app.js';
import { registerJsonRoutes } from '../../src/server/http/routes/json-routes.js';
import { registerStreamRoutes } from '../../src/server/http/routes/stream-routes.js';
import { registerTrustRoutes } from '../../src/server/http/routes/trust-routes.js';
import { createServices } from '../../src/server/services/index.js';
import { openSqliteStore, type Store } from '../../src/server/store/open.js';
import { httpCases, offTableCases, runHttpCase, runOffTableCase } from './http-cases.js';
import { type Answer, counts, type HttpTarget, RUNS, type Who } from './world.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let target: HttpTarget;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-fuzz-inproc-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  const services = createServices(store, log, { heartbeatMs: 1000 });
  await ensureAdmin(store, join(dir, 'admin-token'));
  const adminToken = (await readFile(join(dir, 'admin-token'), 'utf8')).trim();
  app = await createApp(log);
  registerJsonRoutes(app, store, services);
  registerStreamRoutes(app, store, services);
  registerTrustRoutes(app, store, services, null);
  await app.ready();
  const tokens: Record<Who, string | null> = { admin: adminToken, member: null, none: null, bogus: 'berth_not_a_real_token' };
  target = {
    knownNames: ['admin', 'fuzz-member'],
    asked: new Map(),
    async call(method, path, who, body, headers = {}): Promise<Answer> {
      const auth = tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {};
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...auth, ...headers },
        payload: body,
      });
      return { status: res.statusCode, headers: res.headers as Answer['headers'], text: res.body };
    },
    // In this process an uncaught exception or unhandled rejection fails the vitest run itself.
    async assertAlive() {},
  };
  const invite = JSON.parse((await target.call('POST', '/api/v1/users/invites', 'admin', JSON.stringify({ email: 'm@example.com' }))).text);
  const reg = await target.call('POST', '/api/v1/register', 'none', JSON.stringify({ invite: invite.code, name: 'fuzz-member' }));
  expect(reg.status, reg.text).toBe(201);
  tokens.member = JSON.parse(reg.text).token;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`in-process fuzz: ${JSON.stringify(counts)}`);
});

describe('fuzz: the HTTP layer in this process', () => {
  it('JSON routes, many cases', async () => {
    await fc.assert(
      fc.asyncProperty(httpCases(target), (c) => runHttpCase(target, c)),
      { numRuns: RUNS * 10 },
    );
  }, 1_800_000);

  it('requests outside the route table, many cases', async () => {
    await fc.assert(
      fc.asyncProperty(offTableCases(), async (c) => {
        try {
          await runOffTableCase(target, c);
        } catch (err) {
          // inject parses the URL itself and refuses some that a socket carries as they are; those
          // cases never reach the app (the real-process suite sends them over a socket).
          if (err instanceof TypeError && err.message === 'Invalid URL') return fc.pre(false);
          throw err;
        }
      }),
      { numRuns: RUNS * 3 },
    );
  }, 1_800_000);
});
