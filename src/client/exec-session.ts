/**
 * One `berth ws exec` session over the exec WebSocket: sends the request, streams stdin,
 * writes stdout/stderr to their sinks and settles with the command's exit code.
 */

import type { Writable } from 'node:stream';
import { type RawData, WebSocket } from 'ws';
import { frameBytes, zeroMask } from '../api/frame-bytes.js';
import {
  BerthError,
  EXEC_BINARY_STDERR,
  EXEC_BINARY_STDOUT,
  type ExecClientFrame,
  type ExecRequest,
  type ExecServerFrame,
  execServerFrameSchema,
} from '../api/index.js';
import { tlsTrust } from './extra-ca.js';
import { errorFromResponse, isCertError, isNetworkError, unreachableError } from './failures.js';

/** Where an exec session reads input and writes output. */
export interface ExecIO {
  /** Streamed to the command as stdin, then `eof`; null or absent means the command gets no input. */
  stdin?: NodeJS.ReadableStream | null;
  stdout: Writable;
  stderr: Writable;
  /** Registers a callback for terminal size changes; may return a function that unregisters it. */
  onResize?: (fn: (cols: number, rows: number) => void) => void | (() => void);
}

/** Everything an exec session needs to know about the server. */
export interface ExecTarget {
  /** Full ws:// or wss:// URL of the exec endpoint. */
  url: string;
  /** Server address for error messages. */
  server: string;
  token?: string;
  /** The pinned CA (PEM) for a wss:// server. */
  ca?: string;
  /** Builds the error for a certificate that did not verify. */
  onCertError?: (err: unknown) => Promise<BerthError>;
}

/** Runs one exec session; resolves with the exit code, rejects with a BerthError. */
export async function runExecSession(target: ExecTarget, request: ExecRequest, io: ExecIO): Promise<number> {
  // Read before the socket is made: with no pinned CA it may load deferred extra roots.
  const tls = await tlsTrust(target.url, target.ca);
  return new Promise<number>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    // Exec frames are small and on loopback or a LAN; compression would cost a zlib load and a
    // negotiation on every session for nothing.
    const socket = new WebSocket(target.url, { headers, perMessageDeflate: false, generateMask: zeroMask, ...tls });
    const cleanups: Array<() => void> = [];
    let settled = false;
    let stdinStarted = false;
    // Set once the server shows it speaks binary frames (a server of an older version does not).
    let binaryStdin = false;

    const finish = (outcome: { code: number } | { error: BerthError }): void => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups.splice(0)) cleanup();
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(1000);
      if ('code' in outcome) resolve(outcome.code);
      else reject(outcome.error);
    };

    const send = (frame: ExecClientFrame, done?: () => void): void => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify(frame), done ? () => done() : undefined);
    };

    const startStdin = (): void => {
      // stdin flows only after the server said `started`, so no input can arrive at a server
      // that has not attached the command yet.
      if (stdinStarted) return;
      stdinStarted = true;
      const stdin = io.stdin;
      if (!stdin) {
        send({ type: 'eof' });
        return;
      }
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        // One chunk in flight at a time: a fast producer (a big file piped in) waits for the
        // socket instead of filling memory.
        stdin.pause();
        const resume = () => {
          if (!settled) stdin.resume();
        };
        if (!binaryStdin) send({ type: 'stdin', data: bytes.toString('base64') }, resume);
        else if (socket.readyState === WebSocket.OPEN) socket.send(bytes, { binary: true }, resume);
      };
      const onEnd = (): void => send({ type: 'eof' });
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      });
      stdin.resume();
    };

    const writeTo = (sink: Writable, bytes: Buffer): void => {
      const ok = sink.write(bytes);
      // Respect a slow terminal or pipe: stop reading frames until the sink drains.
      if (!ok && !socket.isPaused) {
        socket.pause();
        sink.once('drain', () => socket.resume());
      }
    };

    const handleFrame = (frame: ExecServerFrame): void => {
      switch (frame.type) {
        case 'started':
          if (frame.binary) binaryStdin = true;
          startStdin();
          return;
        case 'stdout':
          startStdin();
          writeTo(io.stdout, Buffer.from(frame.data, 'base64'));
          return;
        case 'stderr':
          startStdin();
          writeTo(io.stderr, Buffer.from(frame.data, 'base64'));
          return;
        case 'exit':
          finish({ code: frame.code });
          return;
        case 'error':
          finish({ error: BerthError.fromApi(frame.error) });
          return;
      }
    };

    socket.on('open', () => {
      // Output as binary messages, input likewise: no base64 or JSON for the bytes (api/exec.ts).
      send({ type: 'start', request, binary: true });
      if (io.onResize) {
        const unregister = io.onResize((cols, rows) => send({ type: 'resize', cols, rows }));
        if (typeof unregister === 'function') cleanups.push(unregister);
      }
    });

    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const bytes = frameBytes(data);
        const sink = bytes[0] === EXEC_BINARY_STDOUT ? io.stdout : bytes[0] === EXEC_BINARY_STDERR ? io.stderr : null;
        if (!sink) {
          finish({
            error: new BerthError('PROTOCOL_MISMATCH', 'The server sent an exec output frame for no known stream; are client and server the same version?'),
          });
          return;
        }
        binaryStdin = true;
        startStdin();
        writeTo(sink, bytes.subarray(1));
        return;
      }
      const parsed = execServerFrameSchema.safeParse(safeJson(rawToString(data)));
      if (!parsed.success) {
        finish({
          error: new BerthError('PROTOCOL_MISMATCH', 'The server sent an exec frame this client does not understand; are client and server the same version?', {
            detail: rawToString(data).slice(0, 200),
          }),
        });
        return;
      }
      handleFrame(parsed.data);
    });

    // The upgrade was refused (401, 404, 409, ...): the body carries the server's error.
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ error: errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), 'exec endpoint') }));
      res.on('error', (err) => finish({ error: unreachableError(target.server, err) }));
    });

    // Explaining a certificate that did not verify asks the server for its CA first; the
    // socket's 'close' comes meanwhile and must not answer before that explanation does.
    let explainingCert = false;
    socket.on('error', (err) => {
      if (isCertError(err) && target.onCertError) {
        explainingCert = true;
        void target.onCertError(err).then((error) => finish({ error }));
        return;
      }
      if (isNetworkError(err)) finish({ error: unreachableError(target.server, err) });
      else finish({ error: new BerthError('INTERNAL', 'The exec connection failed unexpectedly.', { detail: err.message, cause: err }) });
    });

    socket.on('close', (code, reason) => {
      if (explainingCert) return;
      finish({
        error: new BerthError('INTERNAL', 'The connection to the server closed before the command finished; the server or its node may have restarted.', {
          detail: `websocket close ${code}${reason.length ? `: ${reason.toString('utf8')}` : ''}`,
        }),
      });
    });
  });
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
