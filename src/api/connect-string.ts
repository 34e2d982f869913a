/**
 * Pinned trust in one string. A CA fingerprint is `sha256:` and the lowercase hex SHA-256 of
 * the CA certificate's DER bytes (what `openssl x509 -fingerprint -sha256` prints, without
 * colons). A connect string (`berth node join-token`, `berth user invite`) carries the server
 * URL, the secret and that fingerprint, as `berth1.` + base64url(JSON), so one paste is all a
 * new node or user needs, and nobody has to trust the network for the first contact: the
 * kubeadm discovery-hash idea.
 */
import { z } from 'zod';
import { BerthError } from './errors.js';

/** The version prefix of connect strings; a later format gets `berth2.`. */
export const CONNECT_STRING_PREFIX = 'berth1.';

/** Longest connect string accepted: a URL (2 KiB), a secret (512) and a fingerprint fit well within it. */
export const MAX_CONNECT_STRING = 4096;

const FINGERPRINT_RE = /^sha256:[0-9a-f]{64}$/;

/** A CA fingerprint in canonical form. */
export const fingerprintSchema = z.string().regex(FINGERPRINT_RE, 'use sha256: followed by 64 hex digits');

/**
 * Reads a fingerprint as people paste it: `sha256:` + 64 hex digits, any case, colons between
 * byte pairs allowed (openssl's form). Returns the canonical form, or null.
 */
export function normalizeFingerprint(text: string): string | null {
  if (typeof text !== 'string' || text.length > 200) return null;
  const m = /^sha256:([0-9a-fA-F:]+)$/i.exec(text.trim());
  if (!m) return null;
  const hex = m[1].replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : null;
}

/** The canonical fingerprint for a SHA-256 digest given as hex. */
export function fingerprintFromSha256Hex(hex: string): string {
  return `sha256:${hex.toLowerCase()}`;
}

/** What a connect string is for: a node joining, or a person registering. */
export const connectKindSchema = z.enum(['join', 'invite']);
export type ConnectKind = z.infer<typeof connectKindSchema>;

const serverUrlSchema = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'use an http:// or https:// URL');

/** The decoded content of a connect string. */
export const connectStringSchema = z.strictObject({
  kind: connectKindSchema,
  server: serverUrlSchema,
  secret: z.string().min(1).max(512),
  /** Absent only for a plain-HTTP server (loopback, or one run with --insecure-http). */
  fingerprint: fingerprintSchema.optional(),
});
export type ConnectString = z.infer<typeof connectStringSchema>;

/** The outcome of reading a connect string: never a throw. */
export type ConnectStringResult = { ok: true; value: ConnectString } | { ok: false; error: BerthError };

function toBase64Url(text: string): string {
  let bin = '';
  for (const byte of new TextEncoder().encode(text)) bin += String.fromCharCode(byte);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Writes a connect string (the value is checked first, so only valid ones are ever printed). */
export function formatConnectString(value: ConnectString): string {
  const parsed = connectStringSchema.parse(value);
  // Fixed key order, so the same value always gives the same string.
  const ordered: ConnectString = { kind: parsed.kind, server: parsed.server, secret: parsed.secret };
  if (parsed.fingerprint) ordered.fingerprint = parsed.fingerprint;
  return CONNECT_STRING_PREFIX + toBase64Url(JSON.stringify(ordered));
}

/** True when the text looks like a connect string rather than a bare secret. */
export function isConnectString(text: string): boolean {
  return typeof text === 'string' && text.startsWith(CONNECT_STRING_PREFIX);
}

/**
 * Reads a connect string of the expected kind. Whatever the input, this returns: garbage gives
 * INVALID_ARGUMENT with `field` (the option the string came in) and a sentence saying what to do.
 */
export function tryParseConnectString(text: unknown, kind: ConnectKind, field: string): ConnectStringResult {
  const what = kind === 'join' ? 'join token' : 'invite code';
  const again = kind === 'join' ? 'ask an admin for a new one (`berth node join-token`)' : 'ask an admin for a new one (`berth user invite`)';
  const fail = (why: string): ConnectStringResult => ({
    ok: false,
    error: new BerthError('INVALID_ARGUMENT', `That ${what} ${why}; copy it again whole, or ${again}.`, { field }),
  });
  if (typeof text !== 'string') return fail('is not text');
  const trimmed = text.trim();
  if (trimmed.length > MAX_CONNECT_STRING) return fail(`is longer than ${MAX_CONNECT_STRING} characters`);
  if (!trimmed.startsWith(CONNECT_STRING_PREFIX)) return fail(`does not start with ${CONNECT_STRING_PREFIX}`);
  const json = fromBase64Url(trimmed.slice(CONNECT_STRING_PREFIX.length));
  if (json === null) return fail('is not valid base64url after its prefix');
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return fail('does not hold valid JSON');
  }
  const parsed = connectStringSchema.safeParse(data);
  if (!parsed.success) return fail(`is malformed (${parsed.error.issues[0]?.path.join('.') || 'value'}: ${parsed.error.issues[0]?.message})`);
  if (parsed.data.kind !== kind)
    return fail(`is ${parsed.data.kind === 'join' ? 'a node join token' : 'a user invite code'}, not the ${what} this command needs`);
  return { ok: true, value: parsed.data };
}

/** Reads a connect string of the expected kind, throwing the coded error for anything else. */
export function parseConnectString(text: string, kind: ConnectKind, field: string): ConnectString {
  const r = tryParseConnectString(text, kind, field);
  if (!r.ok) throw r.error;
  return r.value;
}
