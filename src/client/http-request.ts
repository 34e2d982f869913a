/**
 * One HTTP request on Node's own http/https modules. The CLI starts a new process per
 * command, and Node's built-in fetch loads its HTTP engine (undici, with a WebAssembly
 * parser) on first use, which costs more than the request itself; this does not.
 */
import type { IncomingMessage } from 'node:http';
import { tlsTrust } from './extra-ca.js';

/** The parts of an answer the client reads. */
export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The body as it arrives, for streamed answers. */
  body: AsyncIterable<Uint8Array> & { cancel(): Promise<void> };
}

/** Sends one request and resolves once the answer's head has arrived. */
export async function httpRequest(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: string; ca?: string; insecure?: boolean; timeoutMs?: number },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  // node:https (and TLS) is loaded only for https URLs: plain-HTTP commands never pay for it.
  const { request } = https ? await import('node:https') : await import('node:http');
  const headers = { ...opts.headers };
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  // With a pinned CA the server's chain must end at exactly that CA (`ca` replaces the system roots).
  // `insecure` skips verification: only for fetching a CA whose fingerprint the caller then checks.
  const tls = https && opts.insecure ? { rejectUnauthorized: false } : await tlsTrust(url, opts.ca);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(target, { method: opts.method, headers, ...tls, ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}) }, resolve);
    // Only a caller's own deadline ends the request. Node's global agent gives every socket a
    // 5 s idle timeout and reports it as the request's 'timeout' too: destroying on that cut
    // every event stream that went quiet for 5 s (a long build step, a followed log).
    if (opts.timeoutMs) req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(opts.body);
  });
  const status = res.statusCode ?? 0;
  const body = Object.assign(res as AsyncIterable<Uint8Array>, {
    cancel: async (): Promise<void> => {
      res.destroy();
    },
  });
  return {
    status,
    ok: status >= 200 && status < 300,
    text: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    body,
  };
}
