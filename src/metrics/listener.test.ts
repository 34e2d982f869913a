import { createServer } from 'node:net';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { parsePromText, sampleValue } from '../testing/prom-text.js';
import { startMetricsListener } from './listener.js';

/** A logger whose lines are kept, to check what the listener warned about. */
function recordingLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

/** A port free on 127.0.0.1 right now (the listener takes only ports 1-65535, not 0). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('startMetricsListener', () => {
  it('serves its registry at /metrics on loopback, and a coded 404 anywhere else', async () => {
    const registry = new Registry();
    new Counter({ name: 'x_total', help: 'h', registers: [registry] }).inc(3);
    const { log, lines } = recordingLog();
    const l = await startMetricsListener({ listen: `127.0.0.1:${await freePort()}`, registry, log });
    try {
      const res = await fetch(`http://127.0.0.1:${l.address.port}/metrics?x=1`);
      expect(res.status).toBe(200);
      expect(sampleValue(parsePromText(await res.text()), 'x_total')).toBe(3);
      const other = await fetch(`http://127.0.0.1:${l.address.port}/metrics/x`);
      expect(other.status).toBe(404);
      expect(((await other.json()) as { code: string }).code).toBe('NOT_FOUND');
      const post = await fetch(`http://127.0.0.1:${l.address.port}/metrics`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(400);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(lines.some((x) => x.level === 40)).toBe(false);
    } finally {
      await l.close();
    }
  });

  it('warns that a non-loopback address is unauthenticated, but serves it', async () => {
    const { log, lines } = recordingLog();
    const l = await startMetricsListener({ listen: `0.0.0.0:${await freePort()}`, registry: new Registry(), log });
    try {
      expect(lines.find((x) => x.level === 40)?.msg).toMatch(/WITHOUT authentication/);
      expect((await fetch(`http://127.0.0.1:${l.address.port}/metrics`)).status).toBe(200);
    } finally {
      await l.close();
    }
  });

  it('refuses a taken port with FAILED_PRECONDITION naming the flag, and a malformed address with INVALID_ARGUMENT', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const err = await startMetricsListener({ listen: String(port), registry: new Registry(), log: pino({ level: 'silent' }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BerthError);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'metricsListen' });
      expect((err as Error).message).toMatch(/EADDRINUSE.*--metrics-listen/);
    } finally {
      busy.close();
    }
    await expect(startMetricsListener({ listen: 'no port', registry: new Registry(), log: pino({ level: 'silent' }) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
