import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

/** A listening app with one route; returns its port. */
async function listening(): Promise<number> {
  const app = await createApp(pino({ level: 'silent' }));
  app.get('/api/v1/things/:name', async (req) => ({ name: (req.params as { name: string }).name }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
  return (app.server.address() as { port: number }).port;
}

/** Sends raw bytes, half-closes, and returns everything the server wrote. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', () => {});
    s.on('close', () => resolve(got));
    s.on('connect', () => s.end(bytes));
  });
}

describe('the HTTP edge', () => {
  it('answers a URL it cannot decode with INVALID_ARGUMENT, not fastify’s own shape', async () => {
    const port = await listening();
    for (const path of ['/api/v1/things/%zz', '/api/v1/things/%', '/%E0%A4%A']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('could not be read') });
    }
  });

  it('answers bytes that are not HTTP with INVALID_ARGUMENT and closes the connection', async () => {
    const port = await listening();
    for (const bytes of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: \u0001\r\n\r\n',
      `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const answer = await raw(port, bytes);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('answers a HEAD request it cannot read without a body', async () => {
    const port = await listening();
    const answer = await raw(port, `HEAD /${'x'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.endsWith('\r\n\r\n')).toBe(true);
  });
});
