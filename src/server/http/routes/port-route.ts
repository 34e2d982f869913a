/**
 * `berth port-forward`'s WebSocket: one TCP connection to a port on a workspace's loopback,
 * opened by its node (hub.openPort), its bytes as binary frames both ways. Output the client
 * does not read fast enough pauses the connection at the node; input the node cannot take
 * pauses this socket, so neither side piles bytes up in the server's memory.
 */
import type { FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { frameBytes } from '../../../api/frame-bytes.js';
import { BerthError, type PortServerFrame, parsePortParam, portClientFrameSchema, toApiError } from '../../../api/index.js';
// Teams and sharing: the forward is a join, ended when access is revoked.
import { joinWorkspace } from '../../access/join.js';
import type { ExecChannel } from '../../agents/hub.js';
import type { Services } from '../../services/index.js';

/** Output to the client pauses above this many queued bytes and resumes below the low mark. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

/** Bridges one client WebSocket to a port in the workspace. */
export function handlePortConnect(socket: WebSocket, user: NonNullable<FastifyRequest['user']>, params: { name: string; port: string }, s: Services): void {
  const sendText = (f: PortServerFrame) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
  };
  const fail = (err: unknown) => {
    sendText({ type: 'error', error: toApiError(err) });
    socket.close(1000);
  };
  let channel: ExecChannel | null = null;
  const early: Buffer[] = [];
  let eofEarly = false;
  let held = false;
  const releaseWhenDrained = () => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > LOW_WATER) return void setTimeout(releaseWhenDrained, 5);
    held = false;
    channel?.resumeOutput();
  };

  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      const bytes = frameBytes(data);
      if (channel) channel.stdin(bytes);
      else early.push(bytes);
      return;
    }
    let parsed: ReturnType<typeof portClientFrameSchema.safeParse>;
    try {
      parsed = portClientFrameSchema.safeParse(JSON.parse(data.toString()));
    } catch {
      return fail(new BerthError('INVALID_ARGUMENT', 'Port-forward control frames must be JSON.'));
    }
    if (!parsed.success) return fail(new BerthError('INVALID_ARGUMENT', `Invalid port-forward frame: ${parsed.error.issues[0]?.message}.`, { field: 'type' }));
    if (channel) channel.eof();
    else eofEarly = true;
  });
  let leave = () => {};
  socket.on('close', () => {
    leave();
    channel?.close();
  });

  void (async () => {
    try {
      const port = parsePortParam(params.port);
      if (port === null) throw new BerthError('INVALID_ARGUMENT', `"${params.port.slice(0, 16)}" is not a TCP port; use 1 to 65535.`, { field: 'port' });
      const ws = await s.workspaces.forExec(user, params.name);
      channel = await s.hub.openPort(ws.nodeId, ws.id, port, {
        output: (_stream, data) => {
          if (socket.readyState !== socket.OPEN) return;
          socket.send(data, { binary: true });
          if (!held && socket.bufferedAmount > HIGH_WATER) {
            held = true;
            channel?.pauseOutput();
            setTimeout(releaseWhenDrained, 5);
          }
        },
        exit: (_code, error) => {
          if (error) sendText({ type: 'error', error });
          else sendText({ type: 'end' });
          socket.close(1000);
        },
        inputPaused: (paused) => (paused ? socket.pause() : socket.resume()),
      });
      // The client may have gone while the node was connecting: end it there too.
      if (socket.readyState !== socket.OPEN) return channel.close();
      leave = joinWorkspace(s, { workspace: ws, user, kind: 'port-forward', detail: `port ${port}` }, (message) =>
        fail(new BerthError('PERMISSION_DENIED', message)),
      );
      sendText({ type: 'connected' });
      for (const bytes of early.splice(0)) channel.stdin(bytes);
      if (eofEarly) channel.eof();
    } catch (err) {
      fail(err);
    }
  })();
}
