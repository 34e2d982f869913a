/**
 * Passing one preview request to the service and its answer back. Plain requests go through
 * Node's HTTP client over pooled connections to the workspace port (PortSocket), so
 * keep-alive, chunking and bodies are Node's; a request that asks to switch protocols
 * (WebSocket) gets its head written by hand and then raw bytes both ways.
 */
import { Agent, type ClientRequest, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { BerthError, type toApiError } from '../../../api/index.js';
import { type ForwardContext, headersToClient, headersToService, requestHead } from './headers.js';
import type { PortSocket } from './port-socket.js';

/** Idle pooled connections close after this (below the 5 s keep-alive of Node's own servers, so the service seldom closes one under a request). */
const FREE_IDLE_MS = 4000;

/** A keep-alive pool of connections to one workspace port. */
export class PortAgent extends Agent {
  constructor(private readonly open: () => Promise<PortSocket>) {
    super({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' });
  }

  /** Called by Agent for each new connection; answers through `cb` once the node has connected. */
  override createConnection(_opts: unknown, cb?: (err: Error | null, socket: Duplex) => void): Duplex {
    this.open().then(
      (s) => cb?.(null, s),
      (err: Error) => cb?.(err, undefined as unknown as Duplex),
    );
    // Agent waits for the callback when nothing is returned.
    return undefined as unknown as Duplex;
  }

  override keepSocketAlive(socket: Duplex): void {
    // Node's Agent returns whether it kept the socket; the types say void.
    const kept = (super.keepSocketAlive as (s: Duplex) => unknown).call(this, socket);
    const s = socket as PortSocket;
    if (!s.timeout || s.timeout > FREE_IDLE_MS) s.setTimeout(FREE_IDLE_MS);
    return kept as void;
  }

  override reuseSocket(socket: Duplex, req: ClientRequest): void {
    super.reuseSocket(socket, req);
    (socket as PortSocket).setTimeout(0);
  }
}

/** What went wrong before the service answered: the node's error (connecting), or the connection's. */
export type ForwardFailure = { connectError?: ReturnType<typeof toApiError>; error: BerthError };

/** Methods that may be sent again when a pooled connection turned out to be closed. */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Sends `req` to the service through `agent` and streams the answer to `res`. Resolves when the
 * answer has started (null) or with why it could not, when nothing has been sent to the client.
 */
export function forwardRequest(agent: PortAgent, req: IncomingMessage, res: ServerResponse, rest: string, ctx: ForwardContext): Promise<ForwardFailure | null> {
  const headers = headersToService(req.rawHeaders, ctx);
  const chunked = /\bchunked\b/i.test(String(req.headers['transfer-encoding'] ?? ''));
  if (chunked) headers['transfer-encoding'] = 'chunked';
  const bodiless = !chunked && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  const method = req.method ?? 'GET';

  return new Promise((resolve) => {
    const attempt = (retry: boolean) => {
      let answered = false;
      const out = request({ agent, method, path: rest, headers });
      out.on('response', (pres) => {
        answered = true;
        resolve(null);
        try {
          res.writeHead(pres.statusCode ?? 502, pres.statusMessage, headersToClient(pres.rawHeaders, ctx));
        } catch {
          // A status or header Node's server will not send (the client's parser took it): end the exchange.
          pres.destroy();
          return void res.destroy();
        }
        pipeline(pres, res, () => {});
      });
      out.on('error', (err) => {
        if (answered) return void res.destroy();
        // A pooled connection the service had closed: send again, once, when nothing was lost.
        if (retry && out.reusedSocket && bodiless && RETRYABLE.has(method) && !(err instanceof BerthError)) return attempt(false);
        if (err instanceof BerthError) resolve({ connectError: err.toJSON(), error: err });
        else
          resolve({
            error: new BerthError(
              'UNAVAILABLE',
              `The service on port ${ctx.port} closed the connection without answering (${(err as NodeJS.ErrnoException).code ?? err.message}); check its log.`,
              { field: 'port' },
            ),
          });
      });
      // The client going away ends the request to the service too.
      res.once('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      if (bodiless) out.end();
      else req.pipe(out);
    };
    attempt(true);
  });
}

/** Passes an upgrade request to the service over `port` and joins the two sockets. */
export function forwardUpgrade(port: PortSocket, req: IncomingMessage, client: Duplex, head: Buffer, rest: string, ctx: ForwardContext): void {
  port.write(requestHead(req.method ?? 'GET', rest, headersToService(req.rawHeaders, ctx)));
  if (head.length > 0) port.write(head);
  port.on('error', () => client.destroy());
  client.on('error', () => port.destroy());
  port.on('close', () => client.destroy());
  client.on('close', () => port.destroy());
  client.pipe(port);
  port.pipe(client);
}
