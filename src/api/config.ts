/**
 * Configuration as code: everything an admin configures that is not a start-up flag, as
 * resources of the form `{ kind, name, spec }` (one per YAML file in a folder, see
 * docs/config.md). The same schemas check a file on the CLI and a push on the server.
 * Image recipes are here as what to build (`from` and `packages`); the images themselves live
 * on nodes and are built by `berth image build`, never by a push.
 */
import { z } from 'zod';
import { nodeLabelsSchema, placementStrategySchema } from './placement.js';
import { projectSpecSchema } from './project-spec.js';
import { imageSourceSchema, MAX_CPUS, MAX_PACKAGES, packageNameSchema } from './resources.js';
import { sharingPolicySchema } from './teams.js';
import { memorySchema, nameSchema } from './values.js';

/** The kinds of configuration resources, in the order pull writes and diff lists them. */
export const CONFIG_KINDS = ['ServerSettings', 'Node', 'WorkspaceTemplate', 'UserQuota', 'TeamQuota', 'ImageRecipe'] as const;
export const configKindSchema = z.enum(CONFIG_KINDS);
export type ConfigKind = z.infer<typeof configKindSchema>;

/** The one ServerSettings resource is named this. */
export const SERVER_SETTINGS_NAME = 'server';

/** Most resources one push may carry: far more than a fleet's nodes, templates and users. */
export const MAX_CONFIG_RESOURCES = 5000;

/** Server settings that are not start-up flags; a field left out keeps the flag's (or built-in) value. */
export const serverSettingsSpecSchema = z.strictObject({
  /** How the scheduler picks among fitting nodes; overrides `berth server --placement`. */
  placement: placementStrategySchema.optional(),
  /** Who may share workspaces (`berth sharing-policy set` writes the same field); left out is everyone. */
  sharing: sharingPolicySchema.optional(),
});
export type ServerSettingsSpec = z.infer<typeof serverSettingsSpecSchema>;

/** A node's placement settings (the node itself joins with a token; config cannot create one). */
export const nodeConfigSpecSchema = z.strictObject({
  labels: nodeLabelsSchema.default({}),
  cordoned: z.boolean().default(false),
});

/** The most a workspace made from a template may ask for. */
export const templateLimitsSchema = z.strictObject({
  cpus: z.number().positive('use a positive number of CPUs').max(1024).optional(),
  memory: memorySchema.optional(),
});

/** A named workspace spec: the defaults of `ws create --template NAME` and its limits. */
export const workspaceTemplateSpecSchema = z.strictObject({
  description: z.string().max(500, 'use a description of at most 500 characters').optional(),
  /** A workspace spec (berth.yaml's schema): what the workspace gets unless the create says otherwise. */
  defaults: projectSpecSchema.default({}),
  limits: templateLimitsSchema.optional(),
});
export type WorkspaceTemplateSpec = z.infer<typeof workspaceTemplateSpecSchema>;

/** A user's quota; a field left out is unlimited. */
export const userQuotaSpecSchema = z.strictObject({
  workspaces: z.number().int('use a whole number of workspaces').min(0).max(100_000).optional(),
  cpus: z.number().min(0).max(1_000_000).optional(),
  memory: memorySchema.optional(),
});
export type UserQuotaSpec = z.infer<typeof userQuotaSpecSchema>;

/** A team's quotas on what its workspaces hold together; a field left out is unlimited (the team itself is made by `berth team create`). */
export const teamQuotaSpecSchema = z.strictObject({
  workspaces: z.number().int('use a whole number of workspaces').min(0).max(100_000).optional(),
  cpus: z
    .number()
    .positive('use a positive number of CPUs')
    .max(MAX_CPUS * 1000)
    .optional(),
  memory: memorySchema.optional(),
});
export type TeamQuotaSpec = z.infer<typeof teamQuotaSpecSchema>;

/** What `berth image build NAME` builds when given no other arguments: the base and the Debian packages to add. */
export const imageRecipeSpecSchema = z.strictObject({
  from: imageSourceSchema,
  packages: z.array(packageNameSchema).max(MAX_PACKAGES, `give at most ${MAX_PACKAGES} packages`).default([]),
});
export type ImageRecipeSpec = z.infer<typeof imageRecipeSpecSchema>;

/** Optional `apiVersion` of a config file; only v1 exists. */
export const CONFIG_API_VERSION = 'berth/v1';
const apiVersion = z.literal(CONFIG_API_VERSION, { error: `use apiVersion: ${CONFIG_API_VERSION} (or leave it out)` }).optional();

/** One configuration resource, as a file holds it. */
export const configResourceSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      apiVersion,
      kind: z.literal('ServerSettings'),
      name: z.literal(SERVER_SETTINGS_NAME, { error: `the server settings resource is named ${SERVER_SETTINGS_NAME}` }),
      spec: serverSettingsSpecSchema.default({}),
    }),
    z.strictObject({ apiVersion, kind: z.literal('Node'), name: nameSchema, spec: nodeConfigSpecSchema.default({ labels: {}, cordoned: false }) }),
    z.strictObject({ apiVersion, kind: z.literal('WorkspaceTemplate'), name: nameSchema, spec: workspaceTemplateSpecSchema }),
    z.strictObject({ apiVersion, kind: z.literal('UserQuota'), name: nameSchema, spec: userQuotaSpecSchema.default({}) }),
    z.strictObject({ apiVersion, kind: z.literal('TeamQuota'), name: nameSchema, spec: teamQuotaSpecSchema.default({}) }),
    z.strictObject({ apiVersion, kind: z.literal('ImageRecipe'), name: nameSchema, spec: imageRecipeSpecSchema }),
  ],
  { error: `use kind: one of ${CONFIG_KINDS.join(', ')}` },
);
export type ConfigResource = z.infer<typeof configResourceSchema>;
export type ConfigResourceInput = z.input<typeof configResourceSchema>;

/** GET /config: the live configuration and its revision. */
export const configDocumentSchema = z.object({
  /** Bumped by every write that changes configuration (a push, `node label`, `node cordon`, ...). */
  revision: z.number().int().nonnegative(),
  resources: z.array(configResourceSchema),
});
export type ConfigDocument = z.infer<typeof configDocumentSchema>;

/** Body of POST /config: a push (or, with dryRun, the diff of one). */
export const configPushSchema = z.strictObject({
  /** The revision the folder was pulled at; a push on anything else is refused as stale. */
  baseRevision: z.number().int().nonnegative(),
  resources: z.array(configResourceSchema).max(MAX_CONFIG_RESOURCES, `push at most ${MAX_CONFIG_RESOURCES} resources`),
  /** Remove (or, for nodes, reset) live resources the folder does not hold. */
  prune: z.boolean().default(false),
  /** Only say what a push would change. */
  dryRun: z.boolean().default(false),
});
export type ConfigPush = z.input<typeof configPushSchema>;

/** One resource a push adds, changes or removes, with the fields that differ. */
export const configChangeSchema = z.object({
  kind: configKindSchema,
  name: z.string(),
  action: z.enum(['added', 'changed', 'removed']),
  /** Dotted paths under spec that differ (empty for added and removed). */
  fields: z.array(z.string()),
});
export type ConfigChange = z.infer<typeof configChangeSchema>;

/** What POST /config did (or, with dryRun, would do). */
export const configPushResultSchema = z.object({
  applied: z.boolean(),
  /** The revision after the push (the same as before when nothing changed or on a dry run). */
  revision: z.number().int().nonnegative(),
  changes: z.array(configChangeSchema),
});
export type ConfigPushResult = z.infer<typeof configPushResultSchema>;

/** A canonical key for a resource: `Kind/name`. */
export function configKey(r: { kind: string; name: string }): string {
  return `${r.kind}/${r.name}`;
}
