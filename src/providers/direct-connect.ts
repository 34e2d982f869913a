/**
 * A TCP connection straight to a workspace's own address, from the node's process: no child
 * process and no pipe in between. It reaches services that listen on every interface (or on
 * the workspace's address), which is most servers; a service bound to the workspace's
 * loopback refuses it, and the caller then goes through the workspace's network namespace
 * instead (netns-connect.ts).
 */
import { connect, type Socket } from 'node:net';

/** How long a connect to an address on the node's own bridge may take: it answers at once, or the address is gone. */
const CONNECT_TIMEOUT_MS = 1500;

/** The connected socket (half-close kept, as a forwarded connection needs), or null when nothing accepted it. */
export function connectDirect(address: string, port: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const fail = (): void => {
      clearTimeout(timer);
      resolve(null);
    };
    socket.once('error', fail);
    socket.once('close', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('close', fail);
      resolve(socket);
    });
  });
}
