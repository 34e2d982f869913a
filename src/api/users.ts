/**
 * People and their credentials: users and roles, invites, API tokens, SSH keys, and the audit
 * log that records who did what.
 */
import { z } from 'zod';
import { nameSchema } from './values.js';

export const roleSchema = z.enum(['admin', 'member']);
export type Role = z.infer<typeof roleSchema>;

/** A user as the API shows it. */
export const userSchema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().nullable().default(null),
  role: roleSchema,
  createdAt: z.string().default(''),
  /** Disabled by an admin: no token, key or browser session of theirs works until enabled. */
  disabled: z.boolean().optional(),
});
export type User = z.infer<typeof userSchema>;

const emailSchema = z
  .string()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'use an address like dev@example.com');

/** Body of POST /users/invites. */
export const invitesPostSchema = z.strictObject({
  email: emailSchema,
  role: roleSchema.default('member'),
  ttlSeconds: z
    .number()
    .int()
    .min(5)
    .max(30 * 86400)
    .default(7 * 86400),
});
export type InvitesPost = z.input<typeof invitesPostSchema>;
/** A freshly minted invite; `code` is shown once. */
export const inviteSchema = z.object({ code: z.string(), email: z.string(), role: roleSchema, expiresAt: z.string() });
export type Invite = z.infer<typeof inviteSchema>;

/** An SSH public key line as OpenSSH writes it (`ssh-ed25519 AAAA... comment`). */
export const publicKeyLineSchema = z
  .string()
  .min(16)
  .max(16_384)
  .regex(/^(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?\s*$/, 'use an OpenSSH public key line such as "ssh-ed25519 AAAA... me@laptop"');

/** Body of POST /register: trade an invite for an account and a first API token. */
export const registerPostSchema = z.object({
  invite: z.string().min(1).max(512),
  name: nameSchema,
  sshPublicKey: publicKeyLineSchema.optional(),
});
export type RegisterPost = z.input<typeof registerPostSchema>;

/** An API token's metadata (never the token itself). */
export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

/** Body of POST /tokens. */
export const tokensPostSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dots, dashes and underscores'),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(366 * 86400)
    .optional(),
});
export type TokensPost = z.input<typeof tokensPostSchema>;
/** A newly created token: `token` is shown this once. */
export const tokenCreatedSchema = z.object({ token: z.string(), info: apiTokenSchema });

/** Answer of POST /register. */
export const registeredSchema = z.object({ user: userSchema, token: z.string() });

/** A registered SSH public key. */
export const sshKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  algorithm: z.string(),
  /** OpenSSH style `SHA256:...`. */
  fingerprint: z.string(),
  publicKey: z.string(),
  createdAt: z.string(),
});
export type SshKey = z.infer<typeof sshKeySchema>;

/** Body of POST /ssh-keys. */
export const sshKeysPostSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._@-]+$/, 'use letters, digits, dots, dashes, @ and underscores'),
  publicKey: publicKeyLineSchema,
});
export type SshKeysPost = z.input<typeof sshKeysPostSchema>;

/** What to do with a removed user's workspaces: the caller must say. */
export const userDeleteSchema = z.strictObject({
  workspaces: z.enum(['refuse', 'delete', 'transfer']).default('refuse'),
  transferTo: nameSchema.optional(),
});
export type UserDelete = z.input<typeof userDeleteSchema>;

export const auditOutcomeSchema = z.enum(['ok', 'denied', 'error']);
/** One audit log entry. */
export const auditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: auditOutcomeSchema,
  sourceIp: z.string().nullable(),
  detail: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** Query of GET /audit. */
export const auditQuerySchema = z.object({
  user: nameSchema.optional(),
  since: z.string().datetime({ offset: true, message: 'use an ISO time such as 2026-11-21T08:00:00Z' }).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});
