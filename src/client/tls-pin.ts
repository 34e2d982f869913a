/**
 * Pinning a server's CA from the client's side. Loaded only for https servers, so commands
 * that talk plain HTTP never load TLS or hashing code.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { API_PREFIX, BerthError, caSchema, fingerprintFromSha256Hex, routes } from '../api/index.js';
import { httpRequest } from './http-request.js';

/** A pinned CA: its PEM and `sha256:` fingerprint. */
export interface PinnedCa {
  pem: string;
  fingerprint: string;
}

/** `sha256:` + hex of a PEM certificate's DER. */
export function fingerprintOfPem(pem: string): string {
  return fingerprintFromSha256Hex(createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'));
}

/**
 * Fetches the CA a server hands out, WITHOUT verifying the connection: the caller must
 * compare the fingerprint computed here (never the one the server states) with one it
 * trusts before using the PEM.
 */
export async function fetchServerCa(server: string): Promise<PinnedCa> {
  const res = await httpRequest(new URL(API_PREFIX + routes.caGet.path, server).toString(), {
    method: 'GET',
    headers: { accept: 'application/json' },
    insecure: true,
    timeoutMs: 30_000,
  });
  // The server is not trusted yet: read at most what a CA certificate needs.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += c.length;
    if (size > 256 * 1024) {
      await res.body.cancel();
      break;
    }
    chunks.push(Buffer.from(c));
  }
  let body: unknown = null;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    body = null;
  }
  const parsed = caSchema.safeParse(body);
  if (res.status !== 200 || !parsed.success) {
    throw new BerthError('FAILED_PRECONDITION', `${server} did not hand out a CA certificate (HTTP ${res.status}); is it a berth server serving TLS?`, {
      field: 'server',
    });
  }
  try {
    return { pem: parsed.data.certificate, fingerprint: fingerprintOfPem(parsed.data.certificate) };
  } catch {
    throw new BerthError('FAILED_PRECONDITION', `${server} handed out a CA certificate that cannot be read.`, { field: 'server' });
  }
}

/** Reads a pinned CA from a PEM file (BERTH_CA_FILE). */
export async function readCaFile(file: string): Promise<PinnedCa> {
  const { readFile } = await import('node:fs/promises');
  try {
    const pem = await readFile(file, 'utf8');
    return { pem, fingerprint: fingerprintOfPem(pem) };
  } catch (err) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Cannot use ${file} as the server's CA (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point BERTH_CA_FILE at the PEM from \`GET /api/v1/ca\`.`,
      {
        field: 'BERTH_CA_FILE',
      },
    );
  }
}

/** The error for a mismatch between a server's CA and the fingerprint the user trusts, naming both. */
export function fingerprintMismatch(server: string, expected: string, actual: string, field: string): BerthError {
  return new BerthError(
    'UNAUTHENTICATED',
    `${server} presents CA ${actual}, but the fingerprint you trust is ${expected}. Nothing was sent. If the server's CA was replaced on purpose, log in again with \`berth login ${server} --fingerprint ${actual}\` after checking that value with its admin; otherwise something may be intercepting the connection.`,
    { field },
  );
}

/**
 * Turns a failed certificate check into a clear error: asks the server (unverified) which CA
 * it now presents, so the message can name both fingerprints.
 */
export async function certificateFailure(server: string, pinned: string | undefined, cause: unknown): Promise<BerthError> {
  const actual = await fetchServerCa(server).then(
    (ca) => ca.fingerprint,
    () => undefined,
  );
  if (!pinned) {
    return new BerthError(
      'UNAUTHENTICATED',
      `${server} presents a certificate this client cannot verify${actual ? ` (its CA is ${actual})` : ''}, and no CA is pinned for it. Run \`berth login ${server} --fingerprint sha256:…\` (or set BERTH_CA_FINGERPRINT / BERTH_CA_FILE) with the fingerprint its admin gives you.`,
      { field: 'server', cause },
    );
  }
  if (actual && actual !== pinned) return fingerprintMismatch(server, pinned, actual, 'server');
  return new BerthError(
    'UNAUTHENTICATED',
    `${server} presents a certificate that the pinned CA ${pinned} does not vouch for (${(cause as NodeJS.ErrnoException).code ?? 'TLS failure'}); the certificate may not name this host. Nothing was sent.`,
    { field: 'server', cause },
  );
}
