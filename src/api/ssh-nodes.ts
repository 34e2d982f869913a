/**
 * Adding a node over SSH (`berth node add ssh://USER@HOST[:PORT]`): the target syntax, the
 * request body of POST /nodes/ssh, and the host facts the server's check reports.
 */
import { z } from 'zod';
import { BerthError } from './errors.js';
import { labelKeySchema, labelValueSchema, nodeLabelsSchema } from './placement.js';
import { nameSchema } from './values.js';

/** Where `node add` logs in: a user, a host (name, IPv4, or IPv6 in brackets) and a port. */
export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

/**
 * POSIX-portable user names, bounded; without the trailing `$` useradd also allows (machine
 * accounts, never an SSH login), so no name can reach a shell as `$@` or `$1`.
 */
export const SSH_USER_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/i;
/** Host names (RFC 1123 labels), IPv4 addresses, or IPv6 addresses (given in brackets in the URL). */
export const SSH_HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|(?=[0-9A-Fa-f:.]{2,45}$)[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$/;

const TARGET_HINT = 'write it as ssh://USER@HOST or ssh://USER@HOST:PORT, for example ssh://root@10.0.0.5';

/** Parses `ssh://USER@HOST[:PORT]`; INVALID_ARGUMENT with a corrected example otherwise. */
export function parseSshTarget(text: string): SshTarget {
  const bad = (why: string): BerthError =>
    new BerthError('INVALID_ARGUMENT', `"${text.slice(0, 200)}" is not an SSH address (${why}); ${TARGET_HINT}.`, { field: 'target' });
  if (text.length > 300) throw bad('too long');
  const m = /^ssh:\/\/([^@/?#]+)@(\[[^\]]*\]|[^:/?#[\]]+)(?::([0-9]{1,5}))?\/?$/.exec(text);
  if (!m) throw bad('not of the form ssh://USER@HOST[:PORT]');
  const [, user, rawHost, rawPort] = m as unknown as [string, string, string, string | undefined];
  if (!SSH_USER_PATTERN.test(user)) throw bad(`the user "${user.slice(0, 40)}" is not a valid user name`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') !== host.includes(':') || !SSH_HOST_PATTERN.test(host)) throw bad(`"${rawHost.slice(0, 80)}" is not a host name or address`);
  const port = rawPort === undefined ? 22 : Number(rawPort);
  if (!(port >= 1 && port <= 65535)) throw bad(`port ${rawPort} is outside 1-65535`);
  return { user, host, port };
}

/** The target back as `ssh://user@host:port` (IPv6 in brackets). */
export function formatSshTarget(t: SshTarget): string {
  return `ssh://${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/** An OpenSSH SHA256 host key fingerprint as `ssh-keygen -lf` prints it. */
export const sshFingerprintSchema = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'give the fingerprint as ssh-keygen -lf prints it: SHA256: and 43 base64 characters');

/** Parses one `--label k=v`. */
export function parseNodeLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  const value = eq < 0 ? '' : text.slice(eq + 1);
  const k = labelKeySchema.safeParse(key);
  const v = labelValueSchema.safeParse(value);
  if (eq < 0 || !k.success || !v.success) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Label "${text.slice(0, 100)}" is not key=value (${eq < 0 ? 'no =' : (k.error ?? v.error)?.issues[0]?.message}).`,
      { field: 'label' },
    );
  }
  return [key, value];
}

/** Largest private key the server takes (an RSA 16384-bit key in OpenSSH format is about 12 KiB). */
export const MAX_PRIVATE_KEY_BYTES = 16 * 1024;

/**
 * Body of POST /nodes/ssh. The private key is used for this one operation and never stored
 * (docs/security.md). Without `hostKeyFingerprint` the host key is accepted on first use and
 * shown; once a host was added, its key is pinned.
 */
export const nodesSshPostSchema = z.strictObject({
  user: z.string().regex(SSH_USER_PATTERN, 'use a valid user name'),
  host: z.string().max(253).regex(SSH_HOST_PATTERN, 'use a host name or an IP address'),
  port: z.number().int().min(1).max(65535).default(22),
  privateKey: z.string().min(1).max(MAX_PRIVATE_KEY_BYTES, `use a private key file of at most ${MAX_PRIVATE_KEY_BYTES} bytes`),
  passphrase: z.string().max(1024).optional(),
  hostKeyFingerprint: sshFingerprintSchema.optional(),
  name: nameSchema.optional(),
  labels: nodeLabelsSchema.default({}),
  /** The server URL the node's agent dials; the CLI sends the one it reached the server at. */
  serverUrl: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s/?#]+\/?$/, 'use http(s)://HOST[:PORT]'),
});
export type NodesSshPost = z.input<typeof nodesSshPostSchema>;

/** What the host check found, as the operation reports it. */
export interface SshHostFacts {
  os: string;
  arch: string;
  /** `node --version`, or null when there is no node on the PATH of a non-interactive login. */
  nodeVersion: string | null;
  diskFreeBytes: number | null;
  hostname: string;
  uid: number;
  /** `systemctl is-system-running` says the system runs systemd (running or degraded). */
  systemd: boolean;
  cron: boolean;
  dockerSocket: boolean;
  lxcTools: boolean;
  qemu: boolean;
  kvm: boolean;
  /** The agent's saved credential's node id when the host already joined a server. */
  joinedNodeId: string | null;
}
