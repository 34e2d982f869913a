/**
 * Workspace services on the wire: the create body with its project spec, the workspace detail
 * that shows the stored spec, the supervisor's state as `berth-in ctl watch` prints it (carried
 * to the server in `services.changed`), and what `berth svc ls|logs|start|stop|restart` send
 * and receive. Apart from resources.ts because the project spec imports from there.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';
import { MAX_SERVICES, projectSpecSchema, SERVICE_NAME_PATTERN } from './project-spec.js';
import { workspaceSchema, workspacesPostSchema } from './resources.js';

/**
 * Body of POST /workspaces: the plain create, plus the project spec the CLI read from a
 * berth.yaml or devcontainer.json. The server checks the spec again with the same schema.
 */
export const workspaceCreateSchema = workspacesPostSchema.extend({ spec: projectSpecSchema.optional() });
export type WorkspaceCreateBody = z.input<typeof workspaceCreateSchema>;

/** GET /workspaces/:name: the workspace and the spec it was created from (null when none). */
export const workspaceDetailSchema = workspaceSchema.extend({ spec: projectSpecSchema.nullable().default(null) });
export type WorkspaceDetail = z.infer<typeof workspaceDetailSchema>;

/** A service's name as the spec allows it (also what a URL path segment must match). */
export const serviceNameParamSchema = z.string().regex(SERVICE_NAME_PATTERN, 'use a service name from the spec (letters, digits, dots, dashes, underscores)');

/** The states of the supervisor's services (see the berth-in contract). */
export const serviceStateSchema = z.enum(['waiting', 'starting', 'running', 'healthy', 'unhealthy', 'completed', 'failed', 'backoff', 'stopped', 'blocked']);
export type ServiceState = z.infer<typeof serviceStateSchema>;

/** Text from inside the workspace, cut to a size the server keeps in memory. */
const boundedText = z.string().transform((s) => (s.length > 2048 ? s.slice(0, 2048) : s));

/** One service as `berth-in ctl status|watch` reports it. */
export const supervisedServiceSchema = z.object({
  name: serviceNameParamSchema,
  state: serviceStateSchema,
  pid: z.number().int().positive().nullable(),
  restarts: z.number().int().nonnegative(),
  exitCode: z.number().int().nullable(),
  startedAt: z.string().max(64).nullable(),
  healthFailures: z.number().int().nonnegative(),
  lastHealthOutput: boundedText.nullable(),
  message: boundedText.nullable(),
});
export type SupervisedService = z.infer<typeof supervisedServiceSchema>;

/** The supervisor's whole state: one line of `berth-in ctl watch`. */
export const supervisorStateSchema = z.object({
  supervisorPid: z.number().int().positive(),
  configVersion: z.string().max(64),
  // Go prints an empty list as null.
  services: z
    .array(supervisedServiceSchema)
    .max(MAX_SERVICES)
    .nullable()
    .transform((s) => s ?? []),
});
export type SupervisorState = z.infer<typeof supervisorStateSchema>;

/** A port a service declares in the spec, with its label. */
const servicePortSchema = z.object({ port: z.number().int(), protocol: z.enum(['tcp', 'udp']), label: z.string().nullable() });

/** One service as `berth svc ls` shows it: the spec's view and the supervisor's. */
export const workspaceServiceSchema = z.object({
  name: z.string(),
  /** null until the node has reported the supervisor's state (it is starting, or the node is away). */
  state: serviceStateSchema.nullable(),
  pid: z.number().int().nullable(),
  restarts: z.number().int().nonnegative(),
  exitCode: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  /** healthy / unhealthy / starting for a service with a health check, null without one. */
  health: z.enum(['healthy', 'unhealthy', 'starting']).nullable(),
  healthFailures: z.number().int().nonnegative(),
  lastHealthOutput: z.string().nullable(),
  message: z.string().nullable(),
  ports: z.array(servicePortSchema),
  dependsOn: z.array(z.string()),
});
export type WorkspaceService = z.infer<typeof workspaceServiceSchema>;

/** GET /workspaces/:name/services. `observedAt` is null until the node reported the supervisor's state. */
export const workspaceServicesSchema = z.object({
  workspace: z.string(),
  observedAt: z.string().nullable(),
  services: z.array(workspaceServiceSchema),
});
export type WorkspaceServices = z.infer<typeof workspaceServicesSchema>;

/** POST /workspaces/:name/services/:service/start|stop|restart answers the service as it then is. */
export const serviceActionResultSchema = z.object({ workspace: z.string(), service: z.string(), action: z.enum(['start', 'stop', 'restart']) });
export type ServiceActionResult = z.infer<typeof serviceActionResultSchema>;

/** `--since` of `svc logs`: a Go duration (`10m`, `1h30m`) or an RFC 3339 time; never something that reads as a flag. */
export const logsSinceSchema = z
  .string()
  .max(64)
  .regex(
    /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$|^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    'use a duration such as 10m or 1h30m, or a time such as 2026-01-02T15:04:05Z',
  );

/** Query of the service logs stream. */
export const serviceLogsQuerySchema = z.strictObject({
  follow: z.enum(['true', 'false']).optional(),
  since: logsSinceSchema.optional(),
  tail: z.coerce.number().int().min(0).max(100_000).optional(),
});
export type ServiceLogsQuery = z.infer<typeof serviceLogsQuerySchema>;

/** One line of the service logs stream (newline-delimited JSON): output, then `end` or `error`. */
export const serviceLogsFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('data'), data: z.string() }),
  z.object({ type: z.literal('end') }),
  z.object({ type: z.literal('error'), error: apiErrorSchema }),
]);
export type ServiceLogsFrame = z.infer<typeof serviceLogsFrameSchema>;

/** The argv of `berth-in ctl logs` for a validated service and query (never from raw user text). */
export function serviceLogsArgv(bin: string, service: string, q: ServiceLogsQuery): string[] {
  const argv = [bin, 'ctl', 'logs', service];
  if (q.follow === 'true') argv.push('--follow');
  if (q.since !== undefined) argv.push('--since', q.since);
  if (q.tail !== undefined) argv.push('--tail', String(q.tail));
  return argv;
}

/** Where berth puts the in-workspace helper and its services config (see the berth-in contract). */
export const BERTH_IN_ROOT = '/.berth';
export const BERTH_IN_PATH = `${BERTH_IN_ROOT}/bin/berth-in`;
export const SERVICES_CONFIG_PATH = `${BERTH_IN_ROOT}/services.json`;
