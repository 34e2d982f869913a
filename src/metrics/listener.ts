/**
 * The plain metrics listener of `berth server --metrics-listen` and `berth agent
 * --metrics-listen`: an HTTP server that answers only `GET /metrics` (and HEAD) with one
 * registry's Prometheus text, without authentication, for a scraper on a private network.
 * Everything else gets a coded JSON error; nothing a client sends can end the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { BerthError, formatHostPort, type HostPort, isLoopbackHost, parseListenAddress } from '../api/index.js';

/** The one path the listener serves. */
export const METRICS_PATH = '/metrics';

/** A started metrics listener. */
export interface MetricsListener {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Sends a JSON error in berth's shape (no body for HEAD). */
function sendError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The path of a request target without its query; '' when it is not origin-form (e.g. `*` or an absolute URL). */
function pathOf(url: string | undefined): string {
  if (!url?.startsWith('/')) return '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Answers one request: the registry's text at /metrics, a coded error for anything else. */
async function answer(registry: Registry, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  if (pathOf(req.url) !== METRICS_PATH) {
    return sendError(req, res, 404, 'NOT_FOUND', `This listener serves only GET ${METRICS_PATH} (Prometheus text); point the scraper there.`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendError(req, res, 400, 'INVALID_ARGUMENT', `${METRICS_PATH} answers only GET (and HEAD); the scraper must send GET.`, { allow: 'GET, HEAD' });
  }
  try {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (err) {
    log.error({ err }, 'collecting metrics failed');
    sendError(req, res, 500, 'INTERNAL', 'Collecting the metrics failed; the log of this process has the details.');
  }
}

/** Bytes that are not HTTP (or headers too large): answered 400 in berth's shape, then the connection ends. */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const body = JSON.stringify({ code: 'INVALID_ARGUMENT', message: 'The request is not valid HTTP; the metrics listener serves only GET /metrics.' });
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Starts the listener on `listen` (`HOST:PORT`, `[IPV6]:PORT`, or a bare port meaning
 * 127.0.0.1). A non-loopback address is the operator's explicit choice: it is served, with a
 * warning that anyone who reaches it reads the metrics. FAILED_PRECONDITION when the address
 * cannot be bound.
 */
export async function startMetricsListener(opts: { listen: string; registry: Registry; log: Logger; field?: string }): Promise<MetricsListener> {
  const field = opts.field ?? 'metricsListen';
  const address = parseListenAddress(opts.listen, field);
  const log = opts.log;
  // Node would answer a request without Host (or with an unknown Expect) itself, with an empty
  // 400/417; berth's handler answers those too, so every refusal carries a code.
  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, requireHostHeader: false }, (req, res) => {
    // A request body is never read: drain it so the connection can be reused, and never let a throw escape.
    req.resume();
    answer(opts.registry, req, res, log).catch((err: unknown) => {
      log.error({ err }, 'the metrics listener failed to answer');
      res.destroy();
    });
  });
  server.on('clientError', onClientError);
  server.on('checkExpectation', (req, res) => {
    req.resume();
    sendError(req, res, 400, 'INVALID_ARGUMENT', `Unsupported Expect header; the metrics listener serves only GET ${METRICS_PATH}.`);
  });
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 64;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The metrics listener cannot listen on ${formatHostPort(address)}${code ? ` (${code})` : ''}; pick another address with --metrics-listen HOST:PORT, or stop what uses it.`,
      {
        field,
        cause: err,
      },
    );
  }
  server.on('error', (err: Error) => log.error({ err }, 'metrics listener socket error'));
  const bound = server.address() as { address: string; port: number };
  const url = `http://${formatHostPort({ host: address.host, port: bound.port })}${METRICS_PATH}`;
  if (isLoopbackHost(address.host)) log.info({ url }, 'metrics listener serving');
  else
    log.warn(
      { url },
      'metrics listener serving on a non-loopback address WITHOUT authentication: anyone who can reach it reads these metrics; keep it on a private network',
    );
  return {
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
