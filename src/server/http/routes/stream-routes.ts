/**
 * The streaming routes: operation events as newline-delimited JSON, exec sessions, port
 * forwards and agent connections as WebSockets.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { frameBytes } from '../../../api/frame-bytes.js';
import { API_PREFIX, BerthError, type ExecClientFrame, type ExecServerFrame, execClientFrameSchema, streams, toApiError } from '../../../api/index.js';
// Teams and sharing: an exec is a join by the caller, under their own name (BERTH_USER).
import { joinWorkspace } from '../../access/join.js';
import type { ExecChannel } from '../../agents/hub.js';
import { releaseUpgrade } from '../../agents/release-upgrade.js';
import type { Services } from '../../services/index.js';
import { sessionRequest } from '../../services/spec/session-defaults.js';
import type { Store } from '../../store/open.js';
import { authenticate, bearerToken } from '../app.js';
import { execOutputSender } from './exec-output.js';
// Web UI: terminals that outlive their socket.
import { handleReattachable } from './exec-reattach.js';
import { handlePortConnect } from './port-route.js';
import { registerServiceLogsRoute } from './service-logs-route.js';

/** Adds the streaming routes. */
export function registerStreamRoutes(app: FastifyInstance, store: Store, s: Services): void {
  app.get(API_PREFIX + streams.operationEvents, async (req, reply) => {
    const user = await authenticate(store, req);
    const { id } = req.params as { id: string };
    await s.opAccess.get(user, id, { sourceIp: req.ip }); // NOT_FOUND (someone else's, or missing) before any streaming starts
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    await new Promise<void>((resolve) => {
      let stop: (() => void) | undefined;
      let finished = false;
      const finish = () => {
        finished = true;
        stop?.();
        resolve();
      };
      req.raw.on('close', finish);
      s.ops
        .watch(id, (e) => {
          if (finished) return;
          reply.raw.write(JSON.stringify(e) + '\n');
          if (e.type === 'done') {
            reply.raw.end();
            finish();
          }
        })
        .then(
          (unsubscribe) => {
            // The client may have gone while the watch was being set up.
            if (finished) unsubscribe();
            else stop = unsubscribe;
          },
          (err: unknown) => {
            // The 200 is already sent: end the stream without `done`, which clients report as cut off.
            req.log.error({ err, op: id }, 'watching an operation failed');
            reply.raw.end();
            finish();
          },
        );
    });
    return reply;
  });

  app.get(
    API_PREFIX + streams.workspaceExec,
    {
      websocket: true,
      preValidation: async (req) => {
        await authenticate(store, req);
      },
    },
    (socket, req) => handleExec(socket, req.user!, (req.params as { name: string }).name, s, store, req.ip),
  );

  app.get(
    API_PREFIX + streams.workspacePortConnect,
    {
      websocket: true,
      preValidation: async (req) => {
        await authenticate(store, req);
      },
    },
    (socket, req) => handlePortConnect(socket, req.user!, req.params as { name: string; port: string }, s),
  );

  registerServiceLogsRoute(app, store, s);

  app.get(
    API_PREFIX + streams.agentConnect,
    {
      websocket: true,
      preValidation: async (req) => {
        const credential = bearerToken(req);
        const node = credential ? await s.credentials.authenticate(credential) : null;
        if (!node)
          throw new BerthError(
            'UNAUTHENTICATED',
            'The node credential is not valid (revoked, or the node was removed); rejoin the node with a new join token.',
          );
        (req as unknown as { node: { id: string; name: string } }).node = node;
      },
    },
    (socket, req) => {
      s.hub.attach(socket, (req as unknown as { node: { id: string; name: string } }).node);
      // Scale: the socket keeps nothing of the upgrade request (agents/release-upgrade.ts).
      releaseUpgrade(socket, req.raw.socket, app.log as unknown as Logger);
    },
  );
}

/** Bridges one client exec WebSocket to the workspace's node. */
function handleExec(
  socket: WebSocket,
  user: NonNullable<import('fastify').FastifyRequest['user']>,
  name: string,
  s: Services,
  store: Store,
  source?: string,
): void {
  const send = (f: ExecServerFrame) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
  };
  const fail = (err: unknown) => {
    send({ type: 'error', error: toApiError(err) });
    socket.close(1000);
  };
  let channel: ExecChannel | null = null;
  let starting = false;
  let binary = false;
  const early: Array<(c: ExecChannel) => void> = [];
  let handedOver = false;
  const output = execOutputSender(socket, () => channel);
  socket.on('message', (data, isBinary) => {
    if (handedOver) return;
    if (isBinary) {
      if (!binary) return fail(new BerthError('INVALID_ARGUMENT', 'Binary exec frames need `binary: true` in the start frame.', { field: 'binary' }));
      const bytes = frameBytes(data);
      if (channel) channel.stdin(bytes);
      else early.push((c) => c.stdin(bytes));
      return;
    }
    let frame: ExecClientFrame;
    try {
      const parsed = execClientFrameSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success)
        return fail(
          new BerthError('INVALID_ARGUMENT', `Invalid exec frame: ${parsed.error.issues[0]?.message}.`, { field: parsed.error.issues[0]?.path.join('.') }),
        );
      frame = parsed.data;
    } catch {
      return fail(new BerthError('INVALID_ARGUMENT', 'Exec frames must be JSON.'));
    }
    if (frame.type === 'start' && frame.reattach && !starting) {
      // Web UI: a reattachable terminal is served by exec-reattach.ts from here on.
      handedOver = true;
      const request = { ...frame.request, env: { ...frame.request.env, BERTH_USER: user.name } };
      // Workspace specs: the terminal runs as the spec's user, in its workdir or home.
      return handleReattachable(socket, user, name, request, frame.reattach, s, (id, r) => sessionRequest(store, id, r, { home: true }));
    }
    if (frame.type === 'start') {
      if (starting) return fail(new BerthError('INVALID_ARGUMENT', 'An exec session takes exactly one start frame.'));
      starting = true;
      binary = frame.binary === true;
      // Teams and sharing: the session carries the caller's name, whoever owns the workspace.
      const request = { ...frame.request, env: { ...frame.request.env, BERTH_USER: user.name } };
      void (async () => {
        try {
          const ws = await s.workspaces.forExec(user, name);
          channel = await s.hub.openExec(ws.nodeId, ws.id, await sessionRequest(store, ws.id, request), {
            output: (stream, data) => (binary ? output.binary(stream, data) : output.text(stream, data)),
            // Input the node cannot take yet stays in the client, not in this server's memory.
            inputPaused: (paused) => (paused ? socket.pause() : socket.resume()),
            exit: (code, error) => {
              if (error) send({ type: 'error', error });
              else send({ type: 'exit', code });
              socket.close(1000);
            },
          });
          // The client may have gone while the node was starting the command: end it there too.
          if (socket.readyState !== socket.OPEN) return channel.close();
          const leave = joinWorkspace(s, { workspace: ws, user, kind: 'exec', source, detail: request.cmd.join(' ').slice(0, 200) }, (message) => {
            channel?.close();
            fail(new BerthError('PERMISSION_DENIED', message));
          });
          socket.once('close', leave);
          send(binary ? { type: 'started', binary: true } : { type: 'started' });
          for (const f of early.splice(0)) f(channel);
        } catch (err) {
          fail(err);
        }
      })();
      return;
    }
    if (!starting) return fail(new BerthError('INVALID_ARGUMENT', 'The first exec frame must be start.'));
    const apply = (c: ExecChannel) => {
      if (frame.type === 'stdin') c.stdin(Buffer.from(frame.data, 'base64'));
      else if (frame.type === 'eof') c.eof();
      else if (frame.type === 'resize') c.resize(frame.cols, frame.rows);
    };
    // Input that arrives before the node confirmed the session is queued, not lost.
    if (channel) apply(channel);
    else early.push(apply);
  });
  socket.on('close', () => channel?.close());
}
