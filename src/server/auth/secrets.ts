/**
 * Secrets berth hands out (API tokens, join tokens, node credentials): random, prefixed so a
 * leaked one is recognisable, and stored only as a sha256 hash.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Prefixes that say what a secret is for. */
export const SECRET_PREFIX = { apiToken: 'berth_', joinToken: 'bjoin_', nodeCredential: 'bnode_', webSignInLink: 'blink_', webSession: 'bsess_' } as const;

/** A new random secret with the given prefix (256 bits of entropy). */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** The stored form of a secret. A fast hash is right here: the secrets are random, not passwords. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
