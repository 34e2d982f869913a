/**
 * The API's side of the metrics: every response is timed into
 * berth_http_request_duration_seconds, labelled by the route's pattern (never the raw URL,
 * so a hostile URL cannot mint label values), and `GET /api/v1/metrics` serves the registry
 * to an admin.
 */
import { METHODS } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { API_PREFIX, BerthError, textRoutes } from '../../api/index.js';
import { authenticate } from '../http/app.js';
import type { Store } from '../store/open.js';
import type { ServerMetrics } from './server-metrics.js';

/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';
/** The method label of a method outside Node's list (which its HTTP parser enforces anyway). */
export const OTHER_METHOD = 'other';

const KNOWN_METHODS = new Set(METHODS);

/** The route label: the matched pattern when it is one of the app's routes, else `unmatched`. */
export function routeLabel(pattern: string | undefined, known: ReadonlySet<string>): string {
  return pattern !== undefined && known.has(pattern) ? pattern : UNMATCHED_ROUTE;
}

/** The method label: one of Node's HTTP methods, else `other`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

/**
 * Times every response of `app` and adds `GET /api/v1/metrics`. Call it right after createApp,
 * before any route is added: it learns the route patterns as they are registered.
 */
export function instrumentApp(app: FastifyInstance, store: Store, metrics: ServerMetrics): void {
  const known = new Set<string>();
  app.addHook('onRoute', (route) => {
    known.add(route.url);
  });
  app.addHook('onResponse', (req, reply, done) => {
    metrics.httpDuration.observe(
      { method: methodLabel(req.method), route: routeLabel(req.routeOptions.url, known), status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
  const def = textRoutes.metrics;
  app.route({
    method: def.method,
    url: API_PREFIX + def.path,
    handler: async (req, reply) => {
      req.routeName = 'metrics';
      const user = await authenticate(store, req);
      if (user.role !== 'admin') {
        throw new BerthError(
          'PERMISSION_DENIED',
          'Only an admin may read the metrics; scrape with an admin API token, or run the server with --metrics-listen for a private scraper.',
        );
      }
      const text = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(text);
    },
  });
}
