/**
 * A TCP connection into a workspace, dressed as an exec session so it rides the same
 * machinery (binary frames, flow control both ways, eof as a half-close, exit when it ends):
 * the server's port forwards are exec sessions whose "command" is a connection.
 */
import { type Duplex, PassThrough } from 'node:stream';
import type { ExecSession } from '../../transport/index.js';

/** Wraps a connection; it "exits" 0 when it has closed cleanly, 1 when it broke. */
export function streamSession(conn: Duplex): ExecSession {
  // Output is a stream of its own so that its end does not wait for our side's end (a
  // server that closes first must reach the client even while the client keeps sending).
  const stdout = new PassThrough();
  conn.pipe(stdout);
  const stderr = new PassThrough();
  stderr.end();
  let failed = false;
  conn.on('error', () => {
    failed = true;
    stdout.end();
  });
  const closed = new Promise<number>((resolve) => conn.once('close', () => resolve(failed ? 1 : 0)));
  return {
    stdin: conn,
    stdout,
    stderr,
    resize: async () => {},
    wait: () => closed,
    close: () => conn.destroy(),
  };
}
