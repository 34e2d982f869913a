/**
 * First contact with a TLS server: fetch its CA without verifying (there is nothing to verify
 * against yet), hash it, and keep it only when the hash is the fingerprint the join token
 * pinned. From then on every connection verifies against exactly that CA.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { API_PREFIX, BerthError, caSchema, fingerprintFromSha256Hex, routes } from '../../api/index.js';
import { requestJson } from './pinned-http.js';

/** `sha256:` + hex of a PEM certificate's DER. */
export function fingerprintOf(pem: string): string {
  return fingerprintFromSha256Hex(createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'));
}

/** Fetches the server's CA and returns its PEM when it matches `fingerprint`; throws FAILED_PRECONDITION otherwise. */
export async function fetchPinnedCa(server: string, fingerprint: string): Promise<string> {
  let answer: { status: number; body: unknown };
  try {
    answer = await requestJson(new URL(API_PREFIX + routes.caGet.path, server).toString(), { method: 'GET', insecure: true });
  } catch (err) {
    throw new BerthError(
      'UNAVAILABLE',
      `Cannot reach the berth server at ${server} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the URL in the join token (or --server) and that the server runs.`,
      {
        field: 'server',
        cause: err,
      },
    );
  }
  const parsed = caSchema.safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The server at ${server} did not hand out a CA certificate (HTTP ${answer.status}); is it a berth server serving TLS?`,
      { field: 'server' },
    );
  }
  let actual: string;
  try {
    actual = fingerprintOf(parsed.data.certificate);
  } catch {
    throw new BerthError('FAILED_PRECONDITION', `The server at ${server} handed out a CA certificate that cannot be read; nothing was joined.`, {
      field: 'server',
    });
  }
  if (actual !== fingerprint) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The server at ${server} presents CA ${actual}, but the join token pins ${fingerprint}; nothing was joined. Check that the URL reaches your berth server, or mint a new token there (\`berth node join-token\`).`,
      { field: 'join-token' },
    );
  }
  return parsed.data.certificate;
}
