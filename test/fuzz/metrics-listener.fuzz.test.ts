/**
 * Fuzzing `berth server --metrics-listen`: a real server process gets arbitrary methods,
 * request targets, headers and raw bytes on its unauthenticated metrics listener. After every
 * case the process is alive; the listener answers 200 only to GET or HEAD of /metrics, and
 * everything else with berth's coded JSON error (404 NOT_FOUND for other paths). The API
 * still answers at the end. BERTH_FUZZ_RUNS sets the cases per property (default 150).
 */
import { METHODS } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/api/index.js';
import { parsePromText, sampleValue } from '../../src/testing/prom-text.js';
import { freePort, getJson, TestServer } from '../e2e/harness.js';
import { hostileString, rawPathSegment } from './hostile.js';
import { HANG_MS, RUNS } from './world.js';

let server: TestServer;
let metricsPort = 0;
/** How the cases were answered, so a run that never reached the metrics (or a refusal) fails. */
const answered = { metrics: 0, notFound: 0, invalid: 0 };

beforeAll(async () => {
  metricsPort = await freePort();
  server = await TestServer.start({ extraArgs: ['--metrics-listen', `127.0.0.1:${metricsPort}`] });
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

/** A raw answer: status, headers (lower-cased names) and body text; status 0 when the connection closed without one. */
interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The connection was reset before the whole body arrived (a listener that closes on a bad request with input still unread). */
  truncated: boolean;
}

/** Writes `bytes` to the metrics listener, half-closes, and reads until the listener hangs up (HANG_MS at most). */
function send(bytes: Buffer, isHead = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(metricsPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the metrics listener did not answer within ${HANG_MS} ms`));
    }, HANG_MS);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {}); // a reset after the answer is fine; the close below still reports
    socket.on('close', () => {
      clearTimeout(timer);
      let text = Buffer.concat(chunks).toString('latin1');
      // Interim answers (100 Continue to an Expect header) come first; the real one follows.
      while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes('\r\n\r\n')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
      const headEnd = text.indexOf('\r\n\r\n');
      const head = headEnd < 0 ? text : text.slice(0, headEnd);
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      // Only the first answer counts: bytes after a request without a length are a second, pipelined request.
      const rest = headEnd < 0 ? '' : text.slice(headEnd + 4);
      const length = isHead ? 0 : Number(headers['content-length'] ?? rest.length);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: rest.slice(0, length), truncated: rest.length < length });
    });
    socket.end(bytes);
  });
}

/** The API is still up (the process lives and serves). */
async function alive(): Promise<void> {
  expect(server.proc!.child.exitCode, server.proc!.output.slice(-4000)).toBeNull();
  expect((await getJson(`${server.url}/api/v1/health`)).status).toBe(200);
}

const methods = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'G ET', 'GET\u0000', '', 'X'.repeat(100)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 }) },
);
const paths = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/metrics',
      '/metrics',
      '/metrics?x=1',
      '/metrics/',
      '/METRICS',
      '//metrics',
      '/metrics/../metrics',
      '/%6detrics',
      '/metrics#x',
      '*',
      'http://127.0.0.1/metrics',
      '/',
      '/api/v1/metrics',
      '/api/v1/health',
    ),
  },
  { weight: 3, arbitrary: hostileString(['metrics', '/metrics']).map((s) => '/' + rawPathSegment(s)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);
const headers = fc.array(
  fc.tuple(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'Host',
          'Content-Length',
          'Transfer-Encoding',
          'Authorization',
          'Accept',
          'Connection',
          'Expect',
          'Upgrade',
          'X-Forwarded-For',
        ),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }) },
    ),
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          '0',
          '-1',
          '99999999999',
          'chunked',
          'close',
          'keep-alive',
          '100-continue',
          'websocket',
          'Bearer x',
          '127.0.0.1',
          'text/plain',
        ),
      },
      { weight: 1, arbitrary: hostileString() },
    ),
  ),
  { maxLength: 6 },
);

/** A request a scraper could send: GET or HEAD of /metrics (with a query, sometimes), ordinary headers. */
const scrape = fc.tuple(
  fc.constantFrom('GET', 'HEAD'),
  fc.constantFrom('/metrics', '/metrics?x=1', '/metrics?'),
  fc.array(
    fc.tuple(fc.constantFrom('Host', 'Accept', 'User-Agent', 'Authorization'), fc.constantFrom('127.0.0.1', 'text/plain', 'Prometheus/2.53', 'Bearer x')),
    { maxLength: 3 },
  ),
  fc.constant(undefined),
);
/** Any case: mostly hostile, a quarter shaped like a scrape so the success path is fuzzed too. */
const cases = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(methods, paths, headers, fc.option(fc.string({ maxLength: 200 }), { nil: undefined })) },
  { weight: 1, arbitrary: scrape },
);

describe('fuzz: the metrics listener', () => {
  it(
    'answers only GET /metrics, with a coded JSON error for everything else, and never dies',
    async () => {
      await fc.assert(
        fc.asyncProperty(cases, async ([method, path, hdrs, body]) => {
          const head = `${method} ${path} HTTP/1.1\r\n${hdrs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}${hdrs.length ? '\r\n' : ''}\r\n`;
          const a = await send(Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(body ?? '', 'utf8')]), method === 'HEAD');
          const target = /^\/metrics(\?[^#]*)?$/.test(path);
          if (a.status === 200) answered.metrics++;
          else if (a.status === 404) answered.notFound++;
          else if (a.status === 400) answered.invalid++;
          if (a.status === 200) {
            // A 200 is only ever the metrics, and only for the one path.
            expect(target && (method === 'GET' || method === 'HEAD'), `200 for ${JSON.stringify(method)} ${JSON.stringify(path)}`).toBe(true);
            expect(a.headers['content-type']).toMatch(/^text\/plain/);
            if (method === 'GET') expect(sampleValue(parsePromText(a.body), 'berth_nodes', { status: 'online' })).toBe(0);
          } else if (a.truncated) {
            // Reset mid-answer: only a refusal of bytes that were not HTTP closes that way.
            expect(a.status).toBe(400);
          } else if (method === 'HEAD') {
            // No body to read: the refusal's status alone (a parse error closes with a 400 in full).
            if (a.status !== 0) expect([400, 404]).toContain(a.status);
          } else if (a.status !== 0) {
            // Every refusal is berth's error shape with a registered code and its status.
            const err = JSON.parse(a.body) as { code: keyof typeof ERROR_CODES };
            expect(Object.keys(ERROR_CODES)).toContain(err.code);
            expect(a.status).toBe(ERROR_CODES[err.code]);
            if (err.code !== 'NOT_FOUND') expect(err.code).toBe('INVALID_ARGUMENT');
            // A well-formed request for a path other than /metrics is always a 404.
            if (METHODS.includes(method) && /^\/[\x21-\x7e]*$/.test(path) && !path.startsWith('/metrics') && hdrs.length === 0 && body === undefined)
              expect(a.status).toBe(404);
          }
          await alive();
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      expect(answered.metrics, JSON.stringify(answered)).toBeGreaterThan(0);
      expect(answered.notFound, JSON.stringify(answered)).toBeGreaterThan(0);
      expect(answered.invalid, JSON.stringify(answered)).toBeGreaterThan(0);
    },
    120_000 + RUNS * 2_000,
  );

  it('still serves the metrics after the storm', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const all = parsePromText(await res.text());
    expect(sampleValue(all, 'berth_nodes', { status: 'offline' })).toBe(0);
    expect(all.some((s) => s.name === 'berth_server_process_resident_memory_bytes' && s.value > 0)).toBe(true);
    await alive();
  });
});
