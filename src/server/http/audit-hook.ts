/**
 * Records every mutating API call in the audit log once its response is sent: who (the
 * authenticated user, if any), what (the route), on what, from where, and how it ended.
 * Refusals of authentication or permission are recorded as denials.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/audit.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Routes that write their own entry when they succeed (a config push lists what it changed, in its transaction). */
const SELF_AUDITED = new Set(['configPush']);

/** Adds the audit hook to the app. */
export function registerAuditHook(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('onResponse', async (req, reply) => {
    if (!MUTATING.has(req.method)) return;
    const status = reply.statusCode;
    if (status < 400 && SELF_AUDITED.has(req.routeName ?? '')) return;
    const outcome = status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : 'error';
    await audit.record({
      actorId: req.user?.id ?? null,
      actorName: req.user?.name ?? (req.routeName === 'nodesJoinPost' ? 'agent' : 'anonymous'),
      action: req.routeName ?? `${req.method} ${req.url.split('?')[0]}`,
      target: req.auditTarget,
      outcome,
      sourceIp: req.ip,
      detail: status >= 400 ? `${status} ${req.errorCode ?? ''}`.trim() : undefined,
    });
  });
}
