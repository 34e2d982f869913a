/**
 * Wire shapes of the server's CA and of node credentials (rotation, revocation). Kept apart
 * from resources.ts so the fleet's TLS work reads in one place.
 */
import { z } from 'zod';
import { fingerprintSchema } from './connect-string.js';
import { MAX_PRIVATE_KEY_BYTES } from './ssh-nodes.js';
import { nameSchema } from './values.js';

/** Longest PEM the CA route may answer with; a P-256 CA is under 1 KiB, an operator's chain more. */
export const MAX_CA_PEM = 64 * 1024;

/**
 * GET /ca: the certificate clients pin (PEM) and its fingerprint. Clients never trust the
 * fingerprint field: they hash the PEM themselves and compare with the one they pinned.
 */
export const caSchema = z.object({ certificate: z.string().min(1).max(MAX_CA_PEM), fingerprint: fingerprintSchema });
export type CaInfo = z.infer<typeof caSchema>;

/** Body of DELETE /nodes/:name. */
export const nodeDeleteSchema = z.strictObject({
  force: z.boolean().default(false),
  /**
   * For a node added with `berth node add`: the SSH key that logs in there, so the server
   * stops and uninstalls its agent before revoking it. Used for this request only, never stored.
   */
  privateKey: z.string().min(1).max(MAX_PRIVATE_KEY_BYTES).optional(),
  passphrase: z.string().max(1024).optional(),
});

/** Answer of DELETE /nodes/:name: what was removed with the node. */
export const nodeDeletedSchema = z.object({ node: nameSchema, deletedWorkspaces: z.array(z.string()), uninstalled: z.boolean().default(false) });
export type NodeDeleted = z.infer<typeof nodeDeletedSchema>;

/** Answer of POST /nodes/:name/rotate-credential. */
export const credentialRotatedSchema = z.object({ node: nameSchema, rotatedAt: z.string() });
export type CredentialRotated = z.infer<typeof credentialRotatedSchema>;

/** A node credential as the server hands it to a connected agent (`credential.rotate`). */
export const nodeCredentialSecretSchema = z
  .string()
  .min(16)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/);

/**
 * TLS error codes (as Node reports them) that mean the server's certificate failed the check
 * against the trusted, pinned CA, as opposed to the network failing.
 */
export const TLS_CERT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);
