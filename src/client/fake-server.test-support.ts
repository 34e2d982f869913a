/**
 * A tiny real HTTP + WebSocket server on 127.0.0.1 for unit tests of the client and the CLI.
 * Each test supplies handlers that answer the way the contract says the server would, so
 * the code under test talks to a real socket rather than a mock.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** One request as the fake server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Handlers for the fake server; anything unhandled answers 404 with a berth error body. */
export interface FakeServerHandlers {
  /** Answers an HTTP request; return false to fall through to the default 404. */
  http?: (req: RecordedRequest, res: ServerResponse) => boolean | void | Promise<boolean | void>;
  /** Decides whether a WebSocket upgrade is refused: return a status and body to refuse it. */
  refuseUpgrade?: (req: IncomingMessage) => { status: number; body: unknown } | undefined;
  /** Takes over an accepted WebSocket. */
  ws?: (socket: WebSocket, req: IncomingMessage) => void;
}

/** A running fake server. */
export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Starts a fake server on an ephemeral loopback port. */
export async function startFakeServer(handlers: FakeServerHandlers): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const handled = await handlers.http?.(recorded, res);
      if (handled === false || (handled === undefined && !res.headersSent && !res.writableEnded)) {
        if (!res.headersSent) sendJson(res, 404, { code: 'NOT_FOUND', message: `no route ${recorded.method} ${recorded.path}` });
      }
    });
  });
  server.on('upgrade', (req, socket, head) => {
    requests.push({ method: 'UPGRADE', path: req.url ?? '/', headers: req.headers, body: '' });
    const refusal = handlers.refuseUpgrade?.(req) ?? (handlers.ws ? undefined : { status: 404, body: { code: 'NOT_FOUND', message: 'no exec here' } });
    if (refusal) {
      const text = JSON.stringify(refusal.body);
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => handlers.ws?.(ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
