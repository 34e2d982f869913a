/**
 * SSH public keys: parsing what users paste, OpenSSH-style fingerprints, and finding the user
 * a key belongs to (the SSH gateway's authentication).
 */
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { BerthError, type User } from '../../api/index.js';
import { userToApi } from '../convert/to-api.js';
import type { Store } from '../store/open.js';

/** OpenSSH's `SHA256:` fingerprint of a key blob (base64 without padding). */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** A validated public key. */
export interface ParsedPublicKey {
  algorithm: string;
  blob: Buffer;
  fingerprint: string;
  /** Normalised `type base64 [comment]` line. */
  line: string;
}

/** Parses one OpenSSH public key line, refusing private keys and garbage with INVALID_ARGUMENT. */
export function parsePublicKey(text: string): ParsedPublicKey {
  const line = text.trim();
  if (line.includes('PRIVATE KEY')) {
    throw new BerthError('INVALID_ARGUMENT', 'That is a private key: register the public half (the .pub file) and keep the private key to yourself.', {
      field: 'publicKey',
    });
  }
  const parsed = ssh2.utils.parseKey(line);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey()) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `That is not a valid OpenSSH public key${key instanceof Error ? ` (${key.message})` : ''}; paste the whole line of your .pub file.`,
      { field: 'publicKey' },
    );
  }
  const blob = key.getPublicSSH();
  const parts = line.split(/\s+/);
  return { algorithm: key.type, blob, fingerprint: fingerprintOf(blob), line: parts.slice(0, 3).join(' ') };
}

/** The user who registered this key, or null. */
export async function userForPublicKey(store: Store, _algo: string, keyBlob: Buffer): Promise<User | null> {
  const row = await store.db
    .selectFrom('ssh_keys')
    .innerJoin('users', 'users.id', 'ssh_keys.user_id')
    .selectAll('users')
    .where('ssh_keys.fingerprint', '=', fingerprintOf(keyBlob))
    .executeTakeFirst();
  return row && !row.disabled_at ? userToApi(row) : null;
}
