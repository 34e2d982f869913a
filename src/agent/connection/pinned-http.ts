/**
 * JSON over HTTP(S) for the agent's join, on Node's http/https modules so the pinned CA can
 * be handed to the TLS layer: with `ca` the server's chain must end at exactly that CA
 * (Node's `ca` replaces the system roots), and the host name must be in its certificate.
 */
import type { IncomingMessage } from 'node:http';
import { BerthError, TLS_CERT_ERROR_CODES } from '../../api/index.js';

/** True when an error is a failed check of the server's certificate. */
export function isCertError(err: unknown): boolean {
  return TLS_CERT_ERROR_CODES.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** The clear error for a server whose certificate the pinned CA does not vouch for. */
export function certMismatchError(server: string, err: unknown): BerthError {
  return new BerthError(
    'UNAUTHENTICATED',
    `The server at ${server} presented a certificate that the CA this node pinned does not vouch for (${(err as NodeJS.ErrnoException).code}); nothing was sent to it. If the server's CA was replaced on purpose, join this node again with a new join token; otherwise something is intercepting the connection.`,
    { field: 'server', cause: err },
  );
}

/** Sends one JSON request; `ca` pins the server's CA, `insecure` skips verification (only for fetching the CA to compare). */
export async function requestJson(
  url: string,
  opts: { method: string; body?: unknown; ca?: string; insecure?: boolean },
): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const https = target.protocol === 'https:';
  const { request } = https ? await import('node:https') : await import('node:http');
  const tlsOpts = https ? (opts.insecure ? { rejectUnauthorized: false } : { ca: opts.ca, rejectUnauthorized: true }) : {};
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(target, { method: opts.method, headers, timeout: 30_000, ...tlsOpts }, resolve);
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', reject);
    req.end(payload);
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    // Nothing the agent asks for is large; a server that sends more is cut off.
    if (size > 1024 * 1024) {
      res.destroy();
      throw new BerthError('PROTOCOL_MISMATCH', `The server at ${target.origin} sent an answer over 1 MiB; is that a berth server?`, { field: 'server' });
    }
    chunks.push(chunk as Buffer);
  }
  let body: unknown = null;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    body = null;
  }
  return { status: res.statusCode ?? 0, body };
}
