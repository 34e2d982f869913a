/** An agent socket keeps nothing of its upgrade request: a real fastify + @fastify/websocket server, and the garbage collector. */
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { releaseUpgrade } from './release-upgrade.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** A WebSocket route that hands each socket to `kept` (as the hub keeps agent sockets), releasing the upgrade or not. */
async function serve(release: boolean) {
  const app = Fastify();
  apps.push(app);
  await app.register(websocket);
  const kept: WebSocket[] = [];
  const requests: WeakRef<object>[] = [];
  app.get('/agent', { websocket: true }, (socket, req) => {
    kept.push(socket);
    requests.push(new WeakRef(req.raw));
    if (release) releaseUpgrade(socket, req.raw.socket, pino({ level: 'silent' }));
    socket.on('message', (d) => socket.send(d));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as AddressInfo).port, kept, requests };
}

async function connect(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const echoed = new Promise((r) => ws.once('message', r));
  ws.send('hi');
  await echoed;
  return ws;
}

async function collected(refs: WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return refs.filter((r) => r.deref() === undefined).length;
}

describe('releaseUpgrade', () => {
  it('lets the upgrade request go while the socket stays open and working', async () => {
    const { port, kept, requests } = await serve(true);
    const clients = await Promise.all([1, 2, 3].map(() => connect(port)));
    expect(await collected(requests)).toBe(3);
    // The sockets still carry messages both ways.
    const back = new Promise((r) => clients[0]!.once('message', (d) => r(String(d))));
    clients[0]!.send('still here');
    expect(await back).toBe('still here');
    expect(kept.every((s) => s.readyState === WebSocket.OPEN)).toBe(true);
    for (const c of clients) c.close();
  });

  it('is needed: without it every open socket keeps its request', async () => {
    const { port, requests } = await serve(false);
    const clients = await Promise.all([1, 2, 3].map(() => connect(port)));
    expect(await collected(requests)).toBe(0);
    for (const c of clients) c.close();
  });

  it('ends the socket on an error, as the default handler did', async () => {
    const { port, kept } = await serve(true);
    const client = await connect(port);
    const closed = new Promise((r) => client.once('close', r));
    expect(kept[0]!.listenerCount('error')).toBe(1);
    kept[0]!.emit('error', new Error('boom'));
    await closed;
    expect(kept[0]!.readyState).toBe(WebSocket.CLOSED);
  });
});
