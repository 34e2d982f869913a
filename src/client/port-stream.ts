/**
 * One TCP connection to a port in a workspace, through the server's port-forward WebSocket,
 * as a Node Duplex: what is written reaches the service, what the service sends is read; end()
 * half-closes. Resolves once the node has connected, so nothing listening is an error here.
 */
import { Duplex } from 'node:stream';
import { type RawData, WebSocket } from 'ws';
import { frameBytes, zeroMask } from '../api/frame-bytes.js';
import { BerthError, portServerFrameSchema } from '../api/index.js';
import type { ExecTarget } from './exec-session.js';
import { tlsTrust } from './extra-ca.js';
import { errorFromResponse, isCertError, isNetworkError, unreachableError } from './failures.js';

/** Opens the connection; rejects with a BerthError (NOT_FOUND, FAILED_PRECONDITION: nothing listens, ...). */
export async function openPortStream(target: ExecTarget): Promise<Duplex> {
  // Read before the socket is made: with no pinned CA it may load deferred extra roots.
  const tls = await tlsTrust(target.url, target.ca);
  return new Promise<Duplex>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    const socket = new WebSocket(target.url, { headers, perMessageDeflate: false, generateMask: zeroMask, ...tls });
    let stream: Duplex | null = null;
    let explainingCert = false;
    const failBefore = (error: BerthError) => {
      if (stream) return stream.destroy(error);
      socket.terminate();
      reject(error);
    };

    socket.on('message', (data: RawData, isBinary) => {
      const bytes = frameBytes(data);
      if (isBinary) {
        // Reading pauses the socket until the consumer asks for more (read() below).
        if (stream && !stream.push(bytes)) socket.pause();
        return;
      }
      const parsed = portServerFrameSchema.safeParse(safeJson(bytes.toString('utf8')));
      if (!parsed.success)
        return failBefore(
          new BerthError('PROTOCOL_MISMATCH', 'The server sent a port-forward frame this client does not understand; are client and server the same version?'),
        );
      const frame = parsed.data;
      if (frame.type === 'error') return failBefore(BerthError.fromApi(frame.error));
      if (frame.type === 'end') return void stream?.push(null);
      stream = new Duplex({
        read: () => socket.resume(),
        write: (chunk: Buffer, _enc, done) => {
          if (socket.readyState !== WebSocket.OPEN) return done(new BerthError('UNAVAILABLE', 'The port-forward connection to the server closed.'));
          // The callback fires once the bytes are on the wire: a fast writer waits for the socket.
          socket.send(chunk, { binary: true }, (err) => done(err ?? null));
        },
        final: (done) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'eof' }), () => done());
          else done();
        },
        destroy: (err, done) => {
          if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
          done(err);
        },
      });
      resolve(stream);
    });
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => failBefore(errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), 'port-forward endpoint')));
      res.on('error', (err) => failBefore(unreachableError(target.server, err)));
    });
    socket.on('error', (err) => {
      if (isCertError(err) && target.onCertError) {
        // The explanation asks the server for its CA; the 'close' that comes meanwhile waits for it.
        explainingCert = true;
        return void target.onCertError(err).then(failBefore);
      }
      if (isNetworkError(err)) return failBefore(unreachableError(target.server, err));
      failBefore(new BerthError('INTERNAL', 'The port-forward connection failed unexpectedly.', { detail: err.message, cause: err }));
    });
    socket.on('close', () => {
      if (explainingCert) return;
      if (!stream) return reject(new BerthError('UNAVAILABLE', 'The server closed the port-forward connection before it was made; retry.'));
      // A close without `end` cuts the stream short rather than pretending the service ended it.
      if (!stream.readableEnded)
        stream.destroy(new BerthError('UNAVAILABLE', 'The connection to the server closed mid-forward; the server or its node may have restarted.'));
    });
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
