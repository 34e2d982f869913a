import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIX, routes, streams, textRoutes } from '../../api/index.js';
import { parsePromText, samples } from '../../testing/prom-text.js';
import { createApp } from '../http/app.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { instrumentApp, methodLabel, routeLabel, UNMATCHED_ROUTE } from './http.js';
import { ServerMetrics } from './server-metrics.js';

let dir: string;
let store: Store;
let app: FastifyInstance;
let metrics: ServerMetrics;
/** Every route pattern the app serves: the only route labels there may be, besides `unmatched`. */
const patterns = new Set<string>([
  ...Object.values(routes).map((r) => API_PREFIX + r.path),
  ...Object.values(streams).map((p) => API_PREFIX + p),
  ...Object.values(textRoutes).map((r) => API_PREFIX + r.path),
]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-http-metrics-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  metrics = new ServerMetrics(store, { processMetrics: false });
  app = await createApp(pino({ level: 'silent' }));
  instrumentApp(app, store, metrics);
  // The real route table's patterns, each answering at once: what is measured here is the label, not the work.
  for (const r of Object.values(routes)) app.route({ method: r.method, url: API_PREFIX + r.path, handler: async () => ({}) });
  for (const p of Object.values(streams)) app.get(API_PREFIX + p, async () => ({}));
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});

let port = 0;

/** Sends one raw request over a real socket to the app on loopback; resolves with the status line once the server answers or hangs up. */
function rawRequest(method: string, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(got.split('\r\n')[0]));
    socket.end(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1');
  });
}

afterAll(async () => {
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The route labels the histogram holds now. */
async function routeLabels(): Promise<Set<string>> {
  const all = parsePromText(await metrics.registry.metrics());
  return new Set(samples(all, 'berth_http_request_duration_seconds_count').map((s) => s.labels.route));
}

/** A path that fills a route pattern's parameters with arbitrary text. */
const filledPattern = fc
  .tuple(fc.constantFrom(...patterns), fc.string({ maxLength: 30 }))
  .map(([p, v]) => p.replace(/:[a-zA-Z]+/g, encodeURIComponent(v) || 'x'));
/** Arbitrary request targets: web paths, filled patterns, raw text (bad escapes, dots, unicode), with or without a query. */
const anyPath = fc
  .tuple(
    fc.oneof(
      fc.webPath().map((p) => '/' + p),
      filledPattern,
      fc.string({ maxLength: 80, unit: 'binary' }).map((s) => '/' + s),
      fc.constantFrom('/api/v1/%zz', '/api/v1/../api/v1/nodes', '//api/v1/nodes', '/api/v1/nodes/', '/API/V1/NODES'),
    ),
    fc.option(fc.string({ maxLength: 20 }).map(encodeURIComponent), { nil: undefined }),
  )
  .map(([p, q]) => (q === undefined ? p : `${p}?${q}`));

describe('HTTP request metrics', () => {
  it('labels a request by its route pattern, never its URL', async () => {
    await app.inject({ method: 'GET', url: '/api/v1/workspaces/some-name-123' });
    await app.inject({ method: 'GET', url: '/no/such/thing' });
    const all = parsePromText(await metrics.registry.metrics());
    const route = (r: string) => samples(all, 'berth_http_request_duration_seconds_count', { route: r });
    expect(route('/api/v1/workspaces/:name').map((s) => s.labels)).toEqual([{ method: 'GET', route: '/api/v1/workspaces/:name', status_code: '200' }]);
    expect(route(UNMATCHED_ROUTE).map((s) => s.labels.status_code)).toEqual(['404']);
    expect(samples(all, 'berth_http_request_duration_seconds_count').some((s) => s.labels.route.includes('some-name-123'))).toBe(false);
  });

  it('gives any request path a label from the fixed set of route patterns or unmatched', async () => {
    await fc.assert(
      fc.asyncProperty(anyPath, fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'), async (url, method) => {
        // Raw bytes on a real socket: what the parser refuses outright (spaces, control bytes) never reaches a route at all.
        await rawRequest(method, Buffer.from(url, 'utf8').toString('latin1'));
        for (const label of await routeLabels()) expect(patterns.has(label) || label === UNMATCHED_ROUTE, `label ${label} from ${method} ${url}`).toBe(true);
      }),
      { numRuns: 400 },
    );
    // Hooks of the last requests may run after their sockets closed: look once more at the end.
    await new Promise((r) => setTimeout(r, 50));
    const labels = await routeLabels();
    expect([...labels].filter((l) => !patterns.has(l) && l !== UNMATCHED_ROUTE)).toEqual([]);
    expect(labels.has(UNMATCHED_ROUTE)).toBe(true);
  });

  it('routeLabel and methodLabel map anything unknown to a fixed value', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.string(), (pattern, method) => {
        const r = routeLabel(pattern, patterns);
        expect(patterns.has(r) || r === UNMATCHED_ROUTE).toBe(true);
        const m = methodLabel(method);
        expect(m === 'other' || /^[A-Z-]+$/.test(m)).toBe(true);
      }),
    );
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('get')).toBe('other');
  });

  it('serves the registry at GET /api/v1/metrics to an admin only', async () => {
    const none = await app.inject({ method: 'GET', url: '/api/v1/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('UNAUTHENTICATED');
  });
});
