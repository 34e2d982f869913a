/**
 * `berth svc logs`: GET /workspaces/:name/services/:service/logs as newline-delimited
 * ServiceLogsFrame JSON, for as long as `berth-in ctl logs` runs in the workspace (with
 * `follow=true`, until the caller hangs up). Errors before the first line answer as JSON.
 */
import type { FastifyInstance } from 'fastify';
import { API_PREFIX, fromZodError, type ServiceLogsFrame, serviceLogsQuerySchema, streams } from '../../../api/index.js';
import type { Services } from '../../services/index.js';
import { auditRef } from '../../services/workspace-resolve.js';
import type { Store } from '../../store/open.js';
import { authenticate } from '../app.js';

/** Adds the service logs route. */
export function registerServiceLogsRoute(app: FastifyInstance, store: Store, s: Services): void {
  app.get(API_PREFIX + streams.workspaceServiceLogs, async (req, reply) => {
    const user = await authenticate(store, req);
    const params = req.params as { name: string; service: string };
    req.auditTarget = auditRef(params.name, user);
    const query = serviceLogsQuerySchema.safeParse(req.query ?? {});
    if (!query.success) throw fromZodError(query.error);
    const closed = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
    const write = (f: ServiceLogsFrame) => {
      if (!reply.raw.headersSent) reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      if (!reply.raw.writableEnded) reply.raw.write(JSON.stringify(f) + '\n');
    };
    try {
      await s.services.logs(user, params.name, params.service, query.data, write, closed, { sourceIp: req.ip });
    } catch (err) {
      // Nothing sent yet (not the owner, no such service, not running): the usual JSON error.
      if (!reply.raw.headersSent) throw err;
      req.log.warn({ err }, 'service logs failed midway');
    }
    if (!reply.raw.headersSent) write({ type: 'end' });
    reply.raw.end();
    return reply;
  });
}
