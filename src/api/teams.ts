/**
 * Teams and sharing: teams with quotas and members, shares of a workspace with a user or a
 * team, and the server's sharing policy. Bounds here are the edge's: every body is strict.
 */
import { z } from 'zod';
import { MAX_CPUS } from './resources.js';
import { memorySchema, nameSchema } from './values.js';

/** A member's role in a team: `admin` manages the team's members and workspaces. */
export const teamRoleSchema = z.enum(['member', 'admin']);
export type TeamRole = z.infer<typeof teamRoleSchema>;

/** A share's role: `use` (exec, ssh, ports, previews, start/stop, logs) or `admin` (also share and change resources). */
export const shareRoleSchema = z.enum(['use', 'admin']);
export type ShareRole = z.infer<typeof shareRoleSchema>;

/** Who may share workspaces: everyone, server admins only, or nobody (shares then grant nothing). */
export const sharingPolicySchema = z.enum(['everyone', 'admins', 'off']);
export type SharingPolicyValue = z.infer<typeof sharingPolicySchema>;

/** A team as listed. */
export const teamSchema = z.object({
  name: z.string(),
  maxWorkspaces: z.number().nullable(),
  maxCpus: z.number().nullable(),
  maxMemoryBytes: z.number().nullable(),
  members: z.array(z.object({ user: z.string(), role: teamRoleSchema })),
  /** What the team's workspaces hold now. */
  usage: z.object({ workspaces: z.number(), cpus: z.number(), memoryBytes: z.number() }),
  createdAt: z.string(),
});
export type Team = z.infer<typeof teamSchema>;

/** Body of POST /teams (admins): the name and optional quotas. */
export const teamsPostSchema = z.strictObject({
  name: nameSchema,
  maxWorkspaces: z.number().int().min(0).max(100_000).optional(),
  maxCpus: z
    .number()
    .positive()
    .max(MAX_CPUS * 1000)
    .optional(),
  maxMemory: memorySchema.optional(),
});
export type TeamsPost = z.input<typeof teamsPostSchema>;

/** Body of POST /teams/:name/members. */
export const teamMembersPostSchema = z.strictObject({ user: nameSchema, role: teamRoleSchema.default('member') });
export type TeamMembersPost = z.input<typeof teamMembersPostSchema>;

/** Longest a share may be given for: a year. */
export const MAX_SHARE_TTL_SECONDS = 366 * 24 * 3600;

/** Exactly one grantee: a user or a team. */
const oneGrantee = <T extends { user?: string; team?: string }>(v: T) => (v.user === undefined) !== (v.team === undefined);
const oneGranteeMessage = { message: 'name exactly one of user or team', path: ['user'] };

/** Body of POST /workspaces/:name/shares: share with a user or a team, as use or admin, for a while or until unshared. Sharing again replaces the role and expiry. */
export const sharesPostSchema = z
  .strictObject({
    user: nameSchema.optional(),
    team: nameSchema.optional(),
    role: shareRoleSchema.default('use'),
    ttlSeconds: z.number().int().min(1).max(MAX_SHARE_TTL_SECONDS).optional(),
  })
  .refine(oneGrantee, oneGranteeMessage);
export type SharesPost = z.input<typeof sharesPostSchema>;

/** Body of DELETE /workspaces/:name/shares: whose share ends. */
export const shareDeleteSchema = z.strictObject({ user: nameSchema.optional(), team: nameSchema.optional() }).refine(oneGrantee, oneGranteeMessage);
export type ShareDelete = z.input<typeof shareDeleteSchema>;

/** A share as listed. */
export const shareSchema = z.object({
  workspace: z.string(),
  user: z.string().nullable(),
  team: z.string().nullable(),
  role: shareRoleSchema,
  expiresAt: z.string().nullable(),
  /** True once expiresAt has passed (the share then grants nothing; it is kept until unshared). */
  expired: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type Share = z.infer<typeof shareSchema>;

/** The sharing policy, as read and as set. */
export const sharingPolicyBodySchema = z.strictObject({ policy: sharingPolicySchema });
