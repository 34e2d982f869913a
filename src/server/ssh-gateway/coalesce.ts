/**
 * ssh2 writes each outgoing packet to the socket in three or four pieces (length, ciphertext,
 * MAC; AES-GCM adds a final block), and the gateway's sockets have Nagle off for keystrokes,
 * so every piece was its own system call and its own TCP segment: a 4-byte write and a 16-byte
 * write around each 32 KiB of a forward. Corking the socket for the rest of the tick and
 * uncorking on the next one sends everything ssh2 wrote in that tick as one writev, at no cost
 * in latency (a tick, not a timer).
 */
import type { Socket } from 'node:net';

/** Coalesces the writes made to `socket` within one tick into one writev. */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const flush = (): void => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(flush);
    }
    return write.apply(this, args);
  } as Socket['write'];
}
