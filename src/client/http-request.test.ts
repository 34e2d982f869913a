import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from './http-request.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  return new Promise((resolve) => server!.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`)));
}

describe('httpRequest', () => {
  it("keeps a streamed answer open through a quiet spell longer than the global agent's 5 s socket timeout", async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"n":1}\n');
      setTimeout(() => res.end('{"n":2}\n'), 5_600);
    });
    const answer = await httpRequest(url, { method: 'GET', headers: {} });
    expect(await answer.text()).toBe('{"n":1}\n{"n":2}\n');
  }, 15_000);

  it('ends a request that outlives the deadline its caller set', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200);
      setTimeout(() => res.end('late'), 3_000).unref();
    });
    await expect(httpRequest(url, { method: 'GET', headers: {}, timeoutMs: 300 })).rejects.toThrow('timed out');
  });
});
