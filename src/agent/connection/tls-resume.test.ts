/** The agent's redials resume the last TLS session: real TLS 1.3 and WebSockets against a server with berth's own certificates. */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createCa, issueServerCert } from '../../server/tls/certs.js';
import { resumingTlsAgent } from './tls-resume.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(): Promise<{ port: number; ca: string; reused: boolean[] }> {
  const ca = await createCa('tls-resume test');
  const leaf = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  const server = createServer({ cert: leaf.cert + ca.cert, key: leaf.key });
  const reused: boolean[] = [];
  server.on('secureConnection', (s: TLSSocket) => reused.push(s.isSessionReused()));
  new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, ca: ca.cert, reused };
}

/** One WebSocket round trip through `agent`; resolves with the echo, or rejects with the connection's error. */
function roundTrip(port: number, ca: string, agent: ReturnType<typeof resumingTlsAgent>): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca, agent, perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('open', () => ws.send('ping'));
    ws.once('message', (d) => {
      // Closed only once the server's session tickets have arrived (they follow the handshake).
      ws.close();
      ws.once('close', () => resolve(String(d)));
    });
  });
}

describe('resumingTlsAgent', () => {
  it('makes every redial after the first resume the TLS session', async () => {
    const { port, ca, reused } = await serve();
    const agent = resumingTlsAgent(ca);
    for (let i = 0; i < 4; i++) expect(await roundTrip(port, ca, agent)).toBe('ping');
    expect(reused).toEqual([false, true, true, true]);
  });

  it('still refuses a server its pinned CA did not sign', async () => {
    const { port } = await serve();
    const other = (await createCa('someone else')).cert;
    await expect(roundTrip(port, other, resumingTlsAgent(other))).rejects.toThrow(/certificate|self.signed|issuer/i);
  });
});
