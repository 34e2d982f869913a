/**
 * Output of an exec session to its client WebSocket: as binary messages tagged with the stream
 * (when the client asked for them at start) or as base64 inside JSON, and held at the node
 * while the socket has more queued than a client reading at its own pace needs, so a command
 * with much output never piles it up in the server's memory.
 */
import type WebSocket from 'ws';
import { EXEC_BINARY_STDERR, EXEC_BINARY_STDOUT } from '../../../api/index.js';
import type { ExecChannel } from '../../agents/hub.js';

/** Output pauses at the node above this many queued bytes and resumes below the low mark. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

/** How an exec session's output reaches its client. */
export interface ExecOutputSender {
  binary(stream: 'stdout' | 'stderr', data: Buffer): void;
  text(stream: 'stdout' | 'stderr', data: Buffer): void;
}

/** A binary output message: the stream's tag byte, then the bytes. */
export function binaryOutputFrame(stream: 'stdout' | 'stderr', data: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(data.length + 1);
  frame[0] = stream === 'stdout' ? EXEC_BINARY_STDOUT : EXEC_BINARY_STDERR;
  data.copy(frame, 1);
  return frame;
}

/** The sender for `socket`; `channel` is the session's once the node has started it. */
export function execOutputSender(socket: WebSocket, channel: () => ExecChannel | null): ExecOutputSender {
  let held = false;
  const releaseWhenDrained = (): void => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > LOW_WATER) return void setTimeout(releaseWhenDrained, 5);
    held = false;
    channel()?.resumeOutput();
  };
  const send = (message: Buffer | string): void => {
    if (socket.readyState !== socket.OPEN) return;
    socket.send(message);
    if (!held && socket.bufferedAmount > HIGH_WATER) {
      held = true;
      channel()?.pauseOutput();
      setTimeout(releaseWhenDrained, 5);
    }
  };
  return {
    binary: (stream, data) => send(binaryOutputFrame(stream, data)),
    text: (stream, data) => send(JSON.stringify({ type: stream, data: data.toString('base64') })),
  };
}
