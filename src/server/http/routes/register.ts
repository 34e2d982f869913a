/**
 * Registers one JSON route from the table in src/api/routes.ts: authentication by the route's
 * `auth`, the body parsed by its zod schema, and the handler's result sent as is.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { API_PREFIX, BerthError, fromZodError, type RouteName, type RouteResponse, routes, successStatus, type User } from '../../../api/index.js';
import { auditRef } from '../../services/workspace-resolve.js';
import type { Store } from '../../store/open.js';
import { authenticate } from '../app.js';

type Query<R extends RouteName> = (typeof routes)[R] extends { query: z.ZodType } ? z.output<(typeof routes)[R]['query']> : undefined;
type Body<R extends RouteName> = (typeof routes)[R]['body'] extends z.ZodType ? z.output<(typeof routes)[R]['body']> : undefined;

/** What a route handler receives. */
export interface RouteContext<R extends RouteName> {
  user: User;
  params: Record<string, string>;
  body: Body<R>;
  query: Query<R>;
  ip: string;
}

/**
 * A route's answer as newline-delimited JSON, for callers that ask with `accept:
 * application/x-ndjson`: `write` sends one line, `closed` settles when the caller hangs up.
 * Throwing before the first line answers with the error like any JSON route.
 */
export type NdjsonHandler<R extends RouteName> = (ctx: RouteContext<R>, write: (line: unknown) => void, closed: Promise<void>) => Promise<void>;

/** Adds the route `name` to the app; with `ndjson`, callers may also ask for a streamed answer. */
export function registerRoute<R extends RouteName>(
  app: FastifyInstance,
  store: Store,
  name: R,
  handler: (ctx: RouteContext<R>) => Promise<RouteResponse<R>>,
  ndjson?: NdjsonHandler<R>,
): void {
  const def = routes[name];
  app.route({
    method: def.method,
    url: API_PREFIX + def.path,
    handler: async (req, reply) => {
      req.routeName = name;
      let user: User = { id: '', name: 'anonymous', email: null, role: 'member', createdAt: '' };
      if (def.auth !== 'none') {
        user = await authenticate(store, req);
        if (def.auth === 'admin' && user.role !== 'admin') {
          throw new BerthError('PERMISSION_DENIED', 'Only an admin may do this; ask an admin of this berth server.');
        }
      }
      let body: unknown;
      if (def.body) {
        const parsed = (def.body as z.ZodType).safeParse(req.body ?? {});
        if (!parsed.success) throw fromZodError(parsed.error);
        body = parsed.data;
      }
      let query: unknown;
      if ('query' in def) {
        const parsed = (def.query as z.ZodType).safeParse(req.query ?? {});
        if (!parsed.success) throw fromZodError(parsed.error);
        query = parsed.data;
      }
      const params = req.params as Record<string, string>;
      req.auditTarget = params.name ?? params.id ?? (body as { name?: string } | undefined)?.name;
      // Names per owner: a workspace is audited as OWNER/NAME (a bare name is the caller's own).
      if (req.auditTarget !== undefined && (def.path.startsWith('/workspaces/:name') || name === 'workspacesPost'))
        req.auditTarget = auditRef(req.auditTarget, user);
      const ctx: RouteContext<R> = { user, params, body: body as Body<R>, query: query as Query<R>, ip: req.ip };
      if (ndjson && String(req.headers.accept ?? '').includes('application/x-ndjson')) {
        // The response's close, not the request's: a request with a body has already closed
        // once it was read, while the response closes when the caller hangs up.
        const closed = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
        try {
          await ndjson(
            ctx,
            (line) => {
              // The head goes out with the first line, so an error before it still gets its status.
              if (!reply.raw.headersSent) reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
              reply.raw.write(JSON.stringify(line) + '\n');
            },
            closed,
          );
        } catch (err) {
          if (!reply.raw.headersSent) throw err;
          req.log.warn({ err }, 'streamed answer failed midway');
        }
        reply.raw.end();
        return reply;
      }
      const result = await handler(ctx);
      return reply.status(successStatus(name)).send(result);
    },
  });
}
