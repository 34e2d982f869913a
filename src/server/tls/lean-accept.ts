/**
 * Scale (fleet memory): a TLS server that hands each accepted connection to TLS only once its
 * first bytes (the ClientHello) have been read in JavaScript.
 *
 * Why: Node's TLS socket reads the network into a ring of buffers (its "enc_in" BIO) whose
 * first buffer is sized by the first read into it. When TLS takes the raw socket at once, that
 * first read is libuv's, which offers 64 KiB: every TLS connection then keeps a 64 KiB buffer
 * for as long as it lives, of which glibc's heap ends up holding ~20 KB resident (measured:
 * 75 → ~55 KB of RSS per connected agent). When the socket already holds bytes, TLS takes them
 * through its `receive` path instead ("Socket already has some buffered data" in Node's
 * _tls_wrap.js), sized to what arrived: the ring starts at 1 KiB and grows by one 16 KiB
 * buffer only if a larger burst ever arrives. Handshakes and traffic are otherwise unchanged.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/** What Node's tls.Server waits for a handshake by default; a client that sends nothing is dropped as late. */
const DEFAULT_FIRST_BYTES_TIMEOUT_MS = 120_000;

/**
 * Defers `server`'s TLS takeover of each connection until its first bytes arrived (see the file
 * comment). Call once, right after the server is made and before it accepts.
 */
export function tlsAfterFirstBytes(server: TlsServer, timeoutMs = DEFAULT_FIRST_BYTES_TIMEOUT_MS): void {
  // tls.Server's own listener (it wraps the socket in a TLSSocket); any added later run as usual.
  const takeOver = server.listeners('connection') as Array<(this: TlsServer, socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (raw: Socket) => {
    // Until TLS has the socket, nothing else listens on it: a reset or silence must not escape.
    const drop = () => raw.destroy();
    raw.on('error', drop);
    // A plain timer, not the socket's idle timeout: that would leave its cleared timer and a
    // listener on every connection for its life.
    const late = setTimeout(drop, timeoutMs).unref();
    const closed = () => clearTimeout(late);
    raw.once('close', closed);
    raw.once('data', (chunk: Buffer) => {
      raw.pause();
      // Nothing of this stays on the socket once TLS has it.
      raw.removeListener('error', drop);
      raw.removeListener('close', closed);
      clearTimeout(late);
      // Back into the socket's buffer, where TLS reads it (with anything else that came).
      raw.unshift(chunk);
      for (const listener of takeOver) listener.call(server, raw);
    });
  });
}
