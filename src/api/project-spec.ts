/**
 * The project spec (the "workspace spec" of the docs; named so to tell it from the provider-level
 * WorkspaceSpec): what a project declares in `berth.yaml` (or in `.devcontainer/devcontainer.json`,
 * translated by src/workspace-spec) — image, provider, resources,
 * environment, forwarded ports, lifecycle hooks and services. Services follow compose's shape
 * and semantics (depends_on conditions, healthcheck defaults, restart policies) so that a
 * compose user reads a berth.yaml without a manual. Keys are snake_case as in compose; the
 * schema is strict, so a misspelt key is an error that names it rather than a silent no-op.
 */
import { z } from 'zod';
import { imageRefSchema } from './image-ref.js';
import { providerKindSchema } from './resources.js';
import { findCycle, unknownDependencies } from './service-graph.js';
import { specDurationSchema } from './spec-durations.js';
import { argSchema, envSchema, memorySchema, nameSchema } from './values.js';

/** Service names: compose's rule (letters, digits, `.`, `_`, `-`), bounded. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** The most services one workspace may declare. */
export const MAX_SERVICES = 64;
/** The most ports one workspace or service may declare. */
export const MAX_SPEC_PORTS = 256;

const serviceNameSchema = z.string().regex(SERVICE_NAME_PATTERN, 'use 1-63 letters, digits, dots, dashes and underscores, starting with a letter or digit');

/** A command: a string run by `/bin/sh -c`, or an argv list run as it is. */
export const specCommandSchema = z.union([
  argSchema.refine((s) => s.trim().length > 0, { message: 'give a command to run' }),
  z.array(argSchema).min(1, 'give at least the program to run').max(256, 'use at most 256 arguments'),
]);
export type SpecCommand = z.infer<typeof specCommandSchema>;

const portNumberSchema = z.number().int('use a whole port number').min(1, 'use a port from 1 to 65535').max(65535, 'use a port from 1 to 65535');

/** What a client does when a port starts listening (devcontainer's onAutoForward, kept in its words). */
export const autoForwardSchema = z.enum(['notify', 'open-browser', 'open-preview', 'silent', 'ignore']);

/** A port: `8080`, `"5353/udp"`, or the long form with a label. */
export const specPortSchema = z.union([
  portNumberSchema,
  z
    .string()
    .regex(/^\d{1,5}(\/(tcp|udp))?$/, 'use PORT or PORT/tcp or PORT/udp')
    .refine((s) => {
      const n = Number(s.split('/')[0]);
      return n >= 1 && n <= 65535;
    }, 'use a port from 1 to 65535'),
  z.strictObject({
    port: portNumberSchema,
    protocol: z.enum(['tcp', 'udp']).optional(),
    label: z.string().max(128, 'use a label of at most 128 characters').optional(),
    on_auto_forward: autoForwardSchema.optional(),
  }),
]);
export type SpecPort = z.infer<typeof specPortSchema>;

/** Compose's depends_on conditions, in its long names and berth's short ones. */
export const dependencyConditionSchema = z.enum(['started', 'healthy', 'completed', 'service_started', 'service_healthy', 'service_completed_successfully']);

const dependencySchema = z.strictObject({
  condition: dependencyConditionSchema.optional(),
  /** Restart this service when the dependency restarts (compose's `restart: true`). */
  restart: z.boolean().optional(),
});

/** A health check: exactly one of a command, an HTTP GET or a TCP connect, with compose's timing knobs. */
export const healthcheckSchema = z
  .strictObject({
    cmd: specCommandSchema.optional(),
    http: z
      .union([
        portNumberSchema,
        z.strictObject({
          port: portNumberSchema,
          path: z
            .string()
            .max(2048, 'use a path of at most 2048 characters')
            .regex(/^\/[\x21-\x7e]*$/, 'use a path starting with / and without spaces')
            .optional(),
          /** The statuses that count as healthy; by default any 2xx or 3xx. */
          status: z.array(z.number().int().min(100).max(599)).min(1).max(32).optional(),
        }),
      ])
      .optional(),
    tcp: portNumberSchema.optional(),
    interval: specDurationSchema.optional(),
    timeout: specDurationSchema.optional(),
    retries: z.number().int().min(1, 'use at least 1 retry').max(1000, 'use at most 1000 retries').optional(),
    start_period: specDurationSchema.optional(),
    start_interval: specDurationSchema.optional(),
  })
  .refine((h) => [h.cmd, h.http, h.tcp].filter((x) => x !== undefined).length === 1, { message: 'give exactly one of cmd, http or tcp' });
export type Healthcheck = z.infer<typeof healthcheckSchema>;

/** Compose's restart policies; `on-failure:N` caps the retries. */
export const restartPolicySchema = z.union([
  z.enum(['no', 'on-failure', 'always', 'unless-stopped']),
  z.string().regex(/^on-failure:\d{1,4}$/, 'use no, on-failure, on-failure:N, always or unless-stopped'),
]);

/** One service: a long-running process (or a one-shot job others wait to complete). */
export const serviceSpecSchema = z.strictObject({
  command: specCommandSchema,
  env: envSchema.optional(),
  workdir: z.string().max(4096).regex(/^\//, 'use an absolute path inside the workspace').optional(),
  depends_on: z.union([z.array(serviceNameSchema).max(MAX_SERVICES), z.record(serviceNameSchema, dependencySchema)]).optional(),
  healthcheck: healthcheckSchema.optional(),
  restart: restartPolicySchema.optional(),
  ports: z.array(specPortSchema).max(MAX_SPEC_PORTS, `use at most ${MAX_SPEC_PORTS} ports`).optional(),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

/** Commands run once after the workspace is made (`post_create`) or at every start (`post_start`); a map runs its commands side by side. */
const hookSchema = z.union([specCommandSchema, z.record(z.string().max(64), specCommandSchema)]);

/** The whole spec, as berth.yaml holds it. */
export const projectSpecSchema = z
  .strictObject({
    /** The name `berth ws create --spec` gives the workspace when the command line names none. */
    name: nameSchema.optional(),
    image: imageRefSchema.optional(),
    provider: providerKindSchema.optional(),
    cpus: z.number().positive('use a positive number of CPUs').max(1024).optional(),
    memory: memorySchema.optional(),
    env: envSchema.optional(),
    /** The user sessions and services run as (devcontainer's remoteUser). */
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'use a Linux user name')
      .optional(),
    /** Where sessions start (devcontainer's workspaceFolder). */
    workdir: z.string().max(4096).regex(/^\//, 'use an absolute path inside the workspace').optional(),
    ports: z.array(specPortSchema).max(MAX_SPEC_PORTS, `use at most ${MAX_SPEC_PORTS} ports`).optional(),
    hooks: z.strictObject({ post_create: hookSchema.optional(), post_start: hookSchema.optional() }).optional(),
    services: z
      .record(serviceNameSchema, serviceSpecSchema)
      .refine((s) => Object.keys(s).length <= MAX_SERVICES, { message: `declare at most ${MAX_SERVICES} services` })
      .optional(),
  })
  .superRefine((spec, ctx) => {
    for (const issue of serviceGraphIssues(spec.services)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type ProjectSpec = z.infer<typeof projectSpecSchema>;

/** Each service's dependencies by name (the list form and the map form alike). */
export function dependencyMap(services: Record<string, Pick<ServiceSpec, 'depends_on'>>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(services).map(([name, s]) => [name, Array.isArray(s.depends_on) ? [...s.depends_on] : Object.keys(s.depends_on ?? {})]),
  );
}

/**
 * The problems of the services' dependency graph: unknown dependencies, a wait for `healthy` on
 * a service without a health check, a cycle. Tolerates any input (it also runs on a file that
 * failed the schema, so a user sees these problems in the same run as the others).
 */
export function serviceGraphIssues(services: unknown): Array<{ path: PropertyKey[]; message: string }> {
  if (services === null || typeof services !== 'object' || Array.isArray(services)) return [];
  const entries = Object.entries(services as Record<string, unknown>).map(([name, s]) => {
    const raw = s !== null && typeof s === 'object' ? (s as { depends_on?: unknown; healthcheck?: unknown }) : {};
    const deps = raw.depends_on;
    const depends: Record<string, unknown> = Array.isArray(deps)
      ? Object.fromEntries(deps.filter((d): d is string => typeof d === 'string').map((d) => [d, {}]))
      : deps !== null && typeof deps === 'object'
        ? (deps as Record<string, unknown>)
        : {};
    return { name, depends, hasHealthcheck: raw.healthcheck !== undefined };
  });
  const graph = Object.fromEntries(entries.map((e) => [e.name, Object.keys(e.depends)]));
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const [service, dep] of unknownDependencies(graph)) {
    out.push({ path: ['services', service, 'depends_on', dep], message: `service ${service} depends on ${dep}, which is not declared under services` });
  }
  // Waiting for `healthy` on a service that has no health check would wait forever (compose refuses it too).
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const e of entries) {
    for (const [dep, d] of Object.entries(e.depends)) {
      const condition = d !== null && typeof d === 'object' ? (d as { condition?: unknown }).condition : undefined;
      const target = byName.get(dep);
      if (target && !target.hasHealthcheck && (condition === 'healthy' || condition === 'service_healthy')) {
        out.push({
          path: ['services', e.name, 'depends_on', dep, 'condition'],
          message: `service ${e.name} waits for ${dep} to be healthy, but ${dep} has no healthcheck; add one to ${dep} or wait for started`,
        });
      }
    }
  }
  const cycle = findCycle(graph);
  if (cycle) out.push({ path: ['services', cycle[0], 'depends_on'], message: `services depend on each other in a cycle: ${cycle.join(' → ')}` });
  return out;
}
