/**
 * The resources berth shows to its users: nodes, providers, workspaces, operations, images.
 * These are API views, not database rows (the server converts in one place).
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';
import { workspaceLinksSchema } from './gateway.js';
import { imageRefSchema } from './image-ref.js';
import { constraintsSchema } from './placement.js';
import { memorySchema, nameSchema } from './values.js';

// --- provider kinds (built-ins and plugins; see docs/plugins.md) ---
/** The providers built into every agent. */
export const builtinProviderKindSchema = z.enum(['docker', 'lxc', 'qemu']);
export type BuiltinProviderKind = z.infer<typeof builtinProviderKindSchema>;
/** A kind a plugin may add: 2-32 of a-z, 0-9 and `-`, starting with a letter (bounded: it is a label and a DB value). */
export const pluginKindSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,31}$/, 'a provider kind is docker, lxc, qemu or a plugin kind: 2-32 lower-case letters, digits or dashes, starting with a letter');
/** The kind of a provider: a built-in one, or one a plugin on some node adds. */
export const providerKindSchema = pluginKindSchema;
/** A provider kind; the built-ins are spelled out for editors, any plugin kind is a string. */
export type ProviderKind = BuiltinProviderKind | (string & {});
// --- end provider kinds ---

/** What a node's probe found out about one provider: usable or not, and why. */
export const providerInfoSchema = z.object({
  kind: providerKindSchema,
  usable: z.boolean(),
  /** Why it is not usable and what to do about it; absent when usable. */
  reason: z.string().optional(),
  version: z.string().optional(),
  /** Free-form facts worth showing (socket path, accelerator, storage backend, ...). */
  details: z.record(z.string(), z.string()).default({}),
});
export type ProviderInfo = z.infer<typeof providerInfoSchema>;

/** What a machine has, as reported by its agent. */
export const nodeResourcesSchema = z.object({
  cpus: z.number().int().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  memoryFreeBytes: z.number().nonnegative(),
  diskBytes: z.number().nonnegative(),
  diskFreeBytes: z.number().nonnegative(),
});
export type NodeResources = z.infer<typeof nodeResourcesSchema>;

export const nodeStatusSchema = z.enum(['online', 'offline']);
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

/** A node as users see it. */
export const nodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: nodeStatusSchema,
  agentVersion: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  resources: nodeResourcesSchema.nullable(),
  providers: z.array(providerInfoSchema),
  workspaces: z.number().int().nonnegative(),
  createdAt: z.string(),
  // Placement: labels for `--constraint`, and whether new workspaces are kept off it.
  labels: z.record(z.string(), z.string()),
  cordoned: z.boolean(),
});
export type Node = z.infer<typeof nodeSchema>;

/** Lifecycle states of a workspace; transitional ones end in -ing. */
export const workspaceStatusSchema = z.enum(['creating', 'starting', 'running', 'stopping', 'stopped', 'restarting', 'deleting', 'failed', 'unknown']);
export type WorkspaceStatus = z.infer<typeof workspaceStatusSchema>;

/** A workspace as users see it. */
export const workspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  /** How the caller names it (names are unique per owner): NAME for their own, OWNER/NAME for anyone else's. */
  ref: z.string(),
  nodeId: z.string(),
  nodeName: z.string(),
  provider: providerKindSchema,
  image: z.string(),
  status: workspaceStatusSchema,
  cpus: z.number().nullable(),
  memoryBytes: z.number().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The last failure, when status is `failed`. */
  error: apiErrorSchema.nullable(),
  /** Editor deep links through the SSH gateway; null when the gateway is off. */
  links: workspaceLinksSchema.nullable(),
  /** Teams and sharing: the team the workspace belongs to (absent from older servers). */
  team: z.string().nullable().optional(),
});
export type Workspace = z.infer<typeof workspaceSchema>;

/** Most CPUs a workspace may ask for; a node's own count is checked on the node. */
export const MAX_CPUS = 1024;

/**
 * Body of POST /workspaces. Strict: a key berth does not know (a misspelt `memroy`, an `env`
 * it does not take yet) is refused rather than silently dropped.
 */
export const workspacesPostSchema = z.strictObject({
  name: nameSchema,
  provider: providerKindSchema.default('docker'),
  image: imageRefSchema.optional(),
  node: nameSchema.optional(),
  cpus: z.number().positive().max(MAX_CPUS).optional(),
  memory: memorySchema.optional(),
  /** Placement constraints on node labels: `k=v` or `k!=v`. */
  constraints: constraintsSchema.optional(),
  /** Configuration as code: a workspace template whose defaults and limits apply (config.ts). */
  template: nameSchema.optional(),
  /** Teams and sharing: the team the workspace belongs to (its quotas apply). */
  team: nameSchema.optional(),
});
export type WorkspacesPost = z.input<typeof workspacesPostSchema>;

/** Body of POST /workspaces/:name/stop (and restart). */
export const workspaceStopPostSchema = z.strictObject({
  timeoutSeconds: z.number().int().min(0).max(3600).optional(),
  force: z.boolean().optional(),
});
export type WorkspaceStopPost = z.infer<typeof workspaceStopPostSchema>;

/** Body of DELETE /workspaces/:name: `force` drops the record of a workspace whose node is offline. */
export const workspaceDeleteSchema = z.strictObject({ force: z.boolean().optional() });
export type WorkspaceDelete = z.infer<typeof workspaceDeleteSchema>;

export const operationKindSchema = z.enum([
  'workspace.create',
  'workspace.start',
  'workspace.stop',
  'workspace.restart',
  'workspace.delete',
  'image.build',
  'node.drain',
  // Nodes added over SSH.
  'node.add',
]);
export type OperationKind = z.infer<typeof operationKindSchema>;

export const operationStatusSchema = z.enum(['running', 'succeeded', 'failed']);
export type OperationStatus = z.infer<typeof operationStatusSchema>;

/** A long mutation: returned at once, its progress and logs stream until it is done. */
export const operationSchema = z.object({
  id: z.string(),
  kind: operationKindSchema,
  /** What it acts on, e.g. `workspace/demo` or `image/base`. */
  target: z.string(),
  status: operationStatusSchema,
  stage: z.string().nullable(),
  progress: z.number().min(0).max(1).nullable(),
  error: apiErrorSchema.nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type Operation = z.infer<typeof operationSchema>;

/** One line of GET /operations/:id/events (newline-delimited JSON). */
export const operationEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), stage: z.string(), fraction: z.number().min(0).max(1).nullable() }),
  z.object({ type: z.literal('log'), line: z.string() }),
  z.object({ type: z.literal('done'), operation: operationSchema }),
]);
export type OperationEvent = z.infer<typeof operationEventSchema>;

/**
 * One line of POST /workspaces answered as newline-delimited JSON (asked for with `accept:
 * application/x-ndjson`): `accepted` with what a plain POST returns, the operation's
 * progress and log lines, and `done` with the final operation and, when it succeeded, the
 * workspace as it then is. One request creates the workspace and follows it until it runs.
 */
export const workspaceCreateEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('accepted'), workspace: workspaceSchema, operation: operationSchema }),
  z.object({ type: z.literal('progress'), stage: z.string(), fraction: z.number().min(0).max(1).nullable() }),
  z.object({ type: z.literal('log'), line: z.string() }),
  z.object({ type: z.literal('done'), operation: operationSchema, workspace: workspaceSchema.nullable() }),
]);
export type WorkspaceCreateEvent = z.infer<typeof workspaceCreateEventSchema>;

/** A base image present on a node. */
export const imageSchema = z.object({
  name: z.string(),
  /** Engine reference the provider runs, e.g. `berth/base:latest`. */
  ref: z.string(),
  from: z.string(),
  packages: z.array(z.string()),
  sizeBytes: z.number().nonnegative(),
  createdAt: z.string(),
  nodeName: z.string(),
});
export type Image = z.infer<typeof imageSchema>;

/** Where a berth base image is built from. */
export const imageSourceSchema = z.string().regex(/^(busybox|debian:[a-z]{1,32})$/, 'use busybox or debian:<suite>, for example debian:bookworm');

/** Most packages one image build may name. */
export const MAX_PACKAGES = 200;

/** A Debian package name (Debian policy 5.6.1), bounded; it becomes a debootstrap argument. */
export const packageNameSchema = z
  .string()
  .max(128, 'use a Debian package name of at most 128 characters')
  .regex(/^[a-z0-9][a-z0-9+.-]*$/, 'use Debian package names');

/** Body of POST /images; without `from` (and `packages`) the stored ImageRecipe of that name is built (docs/config.md). */
export const imagesPostSchema = z.strictObject({
  name: nameSchema,
  from: imageSourceSchema.optional(),
  packages: z.array(packageNameSchema).max(MAX_PACKAGES, `give at most ${MAX_PACKAGES} packages`).optional(),
  node: nameSchema.optional(),
});
export type ImagesPost = z.input<typeof imagesPostSchema>;

/** Body of POST /nodes/join-tokens. */
export const joinTokensPostSchema = z.strictObject({
  ttlSeconds: z
    .number()
    .int()
    .min(10)
    .max(30 * 86400)
    .default(1800),
});
export const joinTokenSchema = z.object({ token: z.string(), expiresAt: z.string() });
export type JoinToken = z.infer<typeof joinTokenSchema>;

/** Body of POST /nodes/join: an agent trades a join token for a node credential. */
export const nodesJoinPostSchema = z.object({
  token: z.string().min(1).max(512),
  name: nameSchema,
});
export const nodeCredentialSchema = z.object({ nodeId: z.string(), nodeName: z.string(), credential: z.string() });
export type NodeCredential = z.infer<typeof nodeCredentialSchema>;

export const healthSchema = z.object({ status: z.literal('ok'), version: z.string() });
