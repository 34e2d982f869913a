/** TLS taken over after the first bytes: real HTTPS and WebSocket traffic through it, and the connections that never send a first byte. */
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type CertAndKey, createCa, issueServerCert } from './certs.js';
import { tlsAfterFirstBytes } from './lean-accept.js';

let ca: CertAndKey;
let served: CertAndKey;
beforeAll(async () => {
  ca = await createCa('lean-accept test');
  served = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
});

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** An HTTPS server answering `ok <path>`, with an echoing WebSocket server on it, TLS taken over after the first bytes. */
async function start(timeoutMs?: number): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert: served.cert + ca.cert, key: served.key }, (req, res) => res.end(`ok ${req.url}`));
  tlsAfterFirstBytes(server, timeoutMs);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: ca.cert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('tlsAfterFirstBytes', () => {
  it('serves HTTPS requests, many in a row, each on a new connection', async () => {
    const { port } = await start();
    for (let i = 0; i < 20; i++) expect(await get(port, `/n${i}`)).toBe(`ok /n${i}`);
  });

  it('carries WebSocket messages of every size both ways', async () => {
    const { port } = await start();
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: ca.cert, perMessageDeflate: false });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    // Small frames like heartbeats, then ones larger than the first read buffer and than 64 KiB.
    for (const size of [10, 700, 1024, 1500, 16_384, 70_000, 1_000_000, 300]) {
      const sent = Buffer.alloc(size, size % 251);
      const back = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
      ws.send(sent);
      expect((await back).equals(sent)).toBe(true);
    }
    ws.close();
  });

  it('completes a handshake whose ClientHello arrives a few bytes at a time', async () => {
    const { port } = await start();
    const tcp = netConnect(port, '127.0.0.1');
    await new Promise((r) => tcp.once('connect', r));
    // A transport that dribbles what TLS writes in 7-byte pieces, a tick apart.
    const dribble = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        let at = 0;
        const next = () => {
          if (at >= chunk.length) return done();
          tcp.write(chunk.subarray(at, at + 7));
          at += 7;
          setTimeout(next, 1);
        };
        next();
      },
    });
    tcp.on('data', (d) => dribble.push(d));
    tcp.on('end', () => dribble.push(null));
    const tls = tlsConnect({ socket: dribble, ca: ca.cert, servername: 'localhost' });
    await new Promise((r, j) => tls.once('secureConnect', r).once('error', j));
    tls.write('GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const chunks: Buffer[] = [];
    tls.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => tls.once('end', r));
    expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1\.1 200[\s\S]*ok \/slow$/);
    tcp.destroy();
  });

  it('leaves no timer or timeout listener on a connection TLS has taken', async () => {
    const { server, port } = await start();
    const raws: Socket[] = [];
    // Added after the hook, so it sees each raw socket at once.
    server.on('connection', (raw: Socket) => raws.push(raw));
    expect(await get(port, '/x')).toBe('ok /x');
    expect(raws).toHaveLength(1);
    expect(raws[0]!.listenerCount('timeout')).toBe(0);
    expect((raws[0] as Socket & { timeout?: number }).timeout).toBeUndefined();
  });

  it('drops a connection that sends nothing within the timeout', async () => {
    const { port } = await start(300);
    const startedAt = Date.now();
    const silent = netConnect(port, '127.0.0.1');
    const closedAt = await new Promise<number>((r) => silent.once('close', () => r(Date.now())));
    expect(closedAt - startedAt).toBeGreaterThanOrEqual(250);
    expect(closedAt - startedAt).toBeLessThan(5000);
  });

  it('survives connections reset or ended before their first byte, and keeps serving', async () => {
    const { port } = await start();
    const closing: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const s: Socket = netConnect(port, '127.0.0.1');
      s.on('error', () => {});
      closing.push(new Promise((r) => s.once('close', r)));
      s.once('connect', () => (i % 2 ? s.resetAndDestroy() : s.end()));
    }
    await Promise.all(closing);
    expect(await get(port, '/after')).toBe('ok /after');
  });
});
