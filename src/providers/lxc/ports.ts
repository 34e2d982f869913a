/**
 * Reaching a workspace's ports from the node through loopback: a TCP listener on 127.0.0.1
 * relays each connection to the container's address on the node's own bridge. Nothing listens
 * on an outside interface, and nobody off the node needs to know the bridge's addresses.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BerthError } from '../../api/index.js';

/** A loopback port that leads into a workspace. */
export interface PortForward {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** The loopback port to connect to. */
  readonly port: number;
  /** Stops listening and cuts the connections it relays. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`localPort` (0 picks a free one) and relays every connection to target:targetPort. */
export function forwardLoopback(target: string, targetPort: number, localPort = 0): Promise<PortForward> {
  if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) {
    return Promise.reject(new BerthError('INVALID_ARGUMENT', `Port ${targetPort} is not a TCP port: give a number from 1 to 65535.`, { field: 'port' }));
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: target, port: targetPort });
    sockets.add(inbound).add(outbound);
    const forget = (): void => {
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    // Either side failing ends both: a half-open relay would hang the client forever.
    inbound.once('error', () => outbound.destroy());
    outbound.once('error', () => inbound.destroy());
    inbound.once('close', () => {
      outbound.destroy();
      forget();
    });
    outbound.once('close', () => {
      inbound.destroy();
      forget();
    });
    inbound.pipe(outbound).pipe(inbound);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new BerthError('FAILED_PRECONDITION', `Cannot listen on 127.0.0.1:${localPort}: ${err.message}.`, { field: 'port', cause: err })),
    );
    server.listen(localPort, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        host: '127.0.0.1',
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
