/**
 * Scale (fleet memory): an agent's WebSocket lives for days, and so does whatever its HTTP
 * upgrade left attached to it. @fastify/websocket's 'error' listener on the socket closes over
 * the fastify request and reply, and the TLS socket still points at the upgrade's
 * ServerResponse: together they keep the IncomingMessage with its headers (the node's bearer
 * credential among them), the request's logger and the reply, per connected agent. This lets
 * them go once the hub has the socket (what it needs is the node, taken beforehand).
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type WebSocket from 'ws';

/** Detaches an agent's long-lived WebSocket from its upgrade request; errors on it are then logged to `log` and end it. */
export function releaseUpgrade(socket: WebSocket, rawSocket: Socket, log: Logger): void {
  (rawSocket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.detachSocket(rawSocket);
  // The same handling as @fastify/websocket's default (log it, end the socket), without the request.
  socket.removeAllListeners('error');
  socket.on('error', (err) => {
    log.warn({ err: err.message }, 'agent socket error');
    socket.terminate();
  });
}
