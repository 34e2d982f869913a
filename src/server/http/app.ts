/**
 * The HTTP edge: fastify with one error handler that turns every failure into the API error
 * shape and maps its code to a status, and bearer-token authentication.
 */
import type { Duplex } from 'node:stream';
import type { Server as TlsServer } from 'node:tls';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { API_PREFIX, BerthError, ERROR_CODES, fromZodError, toApiError, type User } from '../../api/index.js';
import { userForToken } from '../auth/users.js';
import { authenticateBrowser } from '../auth/web/authenticate.js';
import { isDiskFull } from '../store/errors.js';
import type { Store } from '../store/open.js';
import { tlsAfterFirstBytes } from '../tls/lean-accept.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by `authenticate`. */
    user?: User;
    /** The route-table name of the route serving this request, for the audit log. */
    routeName?: string;
    /** What the request acts on (a name or id), for the audit log. */
    auditTarget?: string;
    /** The error code the request ended with, for the audit log. */
    errorCode?: string;
    /** Web UI: the browser session that authenticated the request (its token), when a cookie did. */
    webSession?: { token: string; expiresAt: string };
  }
}

/** Reads the bearer token of a request, or null. */
export function bearerToken(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : null;
}

/**
 * Resolves the caller from the bearer token or, without one, the web UI's session cookie
 * (whose state-changing requests must carry the CSRF header); else throws UNAUTHENTICATED.
 */
export async function authenticate(store: Store, req: FastifyRequest): Promise<User> {
  const token = bearerToken(req);
  // Web UI: every route that authenticates accepts a browser session, checked in one place.
  if (!token) {
    const browser = await authenticateBrowser(store, req);
    if (browser) return (req.user = browser);
  }
  if (!token)
    throw new BerthError('UNAUTHENTICATED', 'This request needs an API token: run `berth login URL --token T` or send `Authorization: Bearer <token>`.');
  const user = await userForToken(store, token);
  if (!user) throw new BerthError('UNAUTHENTICATED', 'That API token is not valid (unknown or revoked); log in again with a current token.');
  req.user = user;
  return user;
}

/**
 * Answers a connection whose bytes node's HTTP parser refused, with berth's error shape, then
 * closes it: after a parse error nothing more on that connection can be trusted.
 */
export function answerClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    code: 'INVALID_ARGUMENT',
    message: tooLarge
      ? 'The request line or headers are too large; send a shorter URL or fewer headers.'
      : 'The request is not valid HTTP; check the client that sent it.',
  });
  // An answer to HEAD has no body, even when the rest of the request could not be read.
  const head = Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/** Builds the fastify app with error handling and WebSocket support; routes are added by the caller. */
export async function createApp(log: Logger, https?: { cert: string; key: string }): Promise<FastifyInstance> {
  // With `https` the same app serves TLS (the agent socket too, as wss); its type is the
  // HTTP one for the routes, which do not care.
  const app = Fastify({
    ...(https ? { https: { cert: https.cert, key: https.key } } : {}),
    loggerInstance: log as unknown as FastifyBaseLogger,
    // Per-request lines would drown the log; the audit log records what matters.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // A URL that cannot be decoded never reaches a route: answer it in berth's error shape too.
    frameworkErrors: (err, req, reply) => {
      req.errorCode = 'INVALID_ARGUMENT';
      void (reply as unknown as FastifyReply).status(400).send({ code: 'INVALID_ARGUMENT', message: `The request could not be read: ${err.message}.` });
    },
    // Bytes that are not HTTP at all (or headers too large) end the connection, answered in berth's error shape.
    clientErrorHandler: answerClientError,
  }) as unknown as FastifyInstance;
  // Scale: TLS takes each connection once its first bytes are in, so it keeps no 64 KiB read buffer per agent (tls/lean-accept.ts).
  if (https) tlsAfterFirstBytes(app.server as unknown as TlsServer);
  await app.register(websocket, { options: { maxPayload: 8 * 1024 * 1024 } });

  app.setErrorHandler((err, req, reply) => {
    let api = toApiError(err);
    if (err instanceof ZodError) api = fromZodError(err).toJSON();
    else if (isDiskFull(err)) {
      // SQLite rolled the write back: nothing changed, and the database file is intact.
      req.log.error({ err }, 'the disk holding the data dir is full');
      api = {
        code: 'UNAVAILABLE',
        message: 'The server cannot record this change: the disk holding its data dir is full. Nothing was changed; free space there and retry.',
      };
    } else if (!(err instanceof BerthError) && typeof (err as { statusCode?: number }).statusCode === 'number') {
      // fastify's own errors (bad JSON, too large, wrong content type) are the caller's fault.
      const status = (err as { statusCode: number }).statusCode;
      if (status >= 400 && status < 500) api = { code: 'INVALID_ARGUMENT', message: `The request could not be read: ${(err as Error).message}.` };
    }
    if (api.code === 'INTERNAL') req.log.error({ err }, 'request failed');
    req.errorCode = api.code;
    void reply.status(ERROR_CODES[api.code]).send(api);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `No such endpoint: ${req.method} ${req.url.split('?')[0]}. The API lives under ${API_PREFIX}.` });
  });
  return app;
}
