/**
 * HTTP cases: every route of the route table plus the streamed GETs (operation events, a
 * service's logs), with hostile
 * path parameters, query strings, bodies, encodings and credentials; and requests outside the
 * table (unknown paths, odd methods, odd headers). Each case's answer is checked and the
 * server must still be healthy afterwards.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { z } from 'zod';
import { API_PREFIX, type RouteName, routes, streams } from '../../src/api/routes.js';
import { hostileJson, hostileNumber, hostileString, rawPathSegment, shapedBody, VALID_NAMES, withPrototypeKeys } from './hostile.js';
import { assertRegisteredAnswer, countCase, countReached, type FuzzWorld, HANG_MS, type HttpTarget, type Who } from './world.js';

type Encoding = 'json' | 'proto' | 'constructor' | 'garbage' | 'none' | 'text' | 'huge';

/** The streamed GET routes (ndjson answers, outside the JSON route table). */
const STREAMED_GETS = { operationEvents: streams.operationEvents, workspaceServiceLogs: streams.workspaceServiceLogs } as const;
type StreamedGet = keyof typeof STREAMED_GETS;

function isStreamedGet(route: HttpCase['route']): route is StreamedGet {
  return route in STREAMED_GETS;
}

/** One generated HTTP case. */
export interface HttpCase {
  route: RouteName | StreamedGet;
  who: Who;
  /** Web UI: a member's case sent with her browser session (cookie and CSRF header) instead of her token. */
  browser: boolean;
  param: string;
  rawParam: boolean;
  query: Array<[string, string]> | null;
  body: unknown;
  encoding: Encoding;
  garbage: string;
}

/** Values for body fields with a known meaning: valid ones and near misses, so cases reach services. */
function fieldPools(known: string[]): Record<string, fc.Arbitrary<unknown>> {
  const name = fc.oneof(fc.constantFrom(...VALID_NAMES, ...known), hostileString(known));
  return {
    name,
    node: name,
    transferTo: name,
    provider: fc.constantFrom('docker', 'lxc', 'qemu', 'Docker', 'kvm', ''),
    image: hostileString(['fuzzbox', 'base', 'busybox:../../x', '../../../etc/passwd', 'localhost:1/x', 'sha256:0000']),
    cpus: hostileNumber,
    memory: fc.constantFrom('16m', '1g', '15m', '1e9', '9999999999t', '0', '-1m', '1.5GiB', ' 2g ', '99999999999999999999g'),
    timeoutSeconds: hostileNumber,
    ttlSeconds: hostileNumber,
    force: fc.oneof(fc.boolean(), hostileJson),
    from: fc.constantFrom('debian:../../x', 'busybox\n', 'BUSYBOX', 'debian:', 'ubuntu:jammy'),
    packages: fc.array(hostileString(['vim', '-o', '--force-yes']), { maxLength: 5 }),
    email: hostileString(['a@b', 'x@example.com', '@', 'a@']),
    role: fc.constantFrom('admin', 'member', 'root', '__proto__'),
    invite: hostileString(),
    token: hostileString(['berth_', 'bjt_x']),
    publicKey: hostileString(['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA x', 'ssh-rsa AAAA ' + 'B'.repeat(20)]),
    sshPublicKey: hostileString(['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA x']),
    workspaces: fc.constantFrom('refuse', 'delete', 'transfer', 'keep'),
  };
}

/** The field names of a route's body schema. */
function bodyKeys(route: HttpCase['route']): string[] {
  if (isStreamedGet(route)) return [];
  const body = routes[route].body as z.ZodType | null;
  if (!body || !(body instanceof z.ZodObject)) return [];
  return Object.keys(body.shape);
}

/** Path parameters a case must not aim at the suite's own fixtures (it would delete them). */
function paramPool(world: HttpTarget, route: HttpCase['route']): string[] {
  // Disabling the suite's member would shut its credentials for every later case.
  if (route === 'userDelete' || route === 'workspaceDelete' || route === 'userDisablePost') return [];
  // Draining or cordoning the suite's node would stop its workspaces or refuse its creates.
  if (route === 'nodeDrainPost' || route === 'nodeCordonPost') return [];
  // Removing the fuzz node would revoke the credential the agent-socket cases use, and rotating
  // it waits for an answer the suite's raw socket never gives.
  if (route === 'nodeDelete' || route === 'nodeRotateCredentialPost') return [];
  return world.knownNames;
}

/** The arbitrary of HTTP cases. */
export function httpCases(world: HttpTarget): fc.Arbitrary<HttpCase> {
  const names = [...(Object.keys(routes) as RouteName[]), ...(Object.keys(STREAMED_GETS) as StreamedGet[])];
  const pools = fieldPools(world.knownNames);
  return fc.constantFrom(...names).chain((route) =>
    fc.record({
      route: fc.constant(route),
      who: fc.constantFrom<Who>('admin', 'member', 'none', 'bogus'),
      browser: fc.boolean(),
      param: hostileString(paramPool(world, route)),
      rawParam: fc.boolean(),
      query: fc.option(
        fc.array(fc.tuple(hostileString(['limit', 'user', 'since', 'follow', 'tail', '__proto__']), fc.oneof(hostileString(), hostileNumber.map(String))), {
          maxLength: 3,
        }),
      ),
      body: fc.oneof(
        { weight: 2, arbitrary: shapedBody(bodyKeys(route), pools, false) },
        { weight: 2, arbitrary: shapedBody(bodyKeys(route), pools) },
        { weight: 1, arbitrary: hostileJson },
      ),
      encoding: fc.constantFrom<Encoding>('json', 'json', 'json', 'proto', 'constructor', 'garbage', 'none', 'text', 'huge'),
      garbage: fc.string({ unit: 'binary', maxLength: 200 }),
    }),
  );
}

/** Sends one case and checks the answer; records workspaces the suite asked for. */
export async function runHttpCase(world: HttpTarget, c: HttpCase): Promise<void> {
  countCase('http');
  const def = isStreamedGet(c.route) ? { method: 'GET', path: STREAMED_GETS[c.route], body: null } : routes[c.route];
  const param = c.rawParam ? rawPathSegment(c.param) : encodeURIComponent(c.param.replace(/[\ud800-\udfff]/g, '\ufffd'));
  let path = API_PREFIX + def.path.replace(/:[a-zA-Z]+/g, param);
  if (c.query) path += '?' + c.query.map(([k, v]) => `${rawPathSegment(k)}=${rawPathSegment(v)}`).join('&');
  let body: string | Buffer | undefined;
  const headers: Record<string, string> = {};
  if (def.method !== 'GET') {
    switch (c.encoding) {
      case 'json':
        body = JSON.stringify(c.body) ?? 'null';
        break;
      case 'proto':
      case 'constructor':
        body = withPrototypeKeys(c.body, c.encoding === 'proto' ? 'proto' : 'constructor');
        break;
      case 'garbage':
        body = c.garbage;
        break;
      case 'text':
        body = JSON.stringify(c.body) ?? '';
        headers['content-type'] = 'text/plain';
        break;
      case 'huge':
        body = Buffer.alloc(1024 * 1024 + 10, 0x20);
        break;
      case 'none':
        break;
    }
  }
  // Web UI: the member's browser session stands in for her token (no bearer header at all).
  const browser = c.browser && c.who === 'member' && world.memberBrowser?.cookie ? world.memberBrowser : null;
  const what = `${def.method} ${path.slice(0, 300)} as ${c.who}${browser ? ' (browser session)' : ''} (${c.encoding})`;
  const a = await world.call(def.method, path, browser ? 'none' : c.who, body, browser ? { ...browser, ...headers } : headers);
  assertRegisteredAnswer(a, what);
  countReached(`http ${a.status}`);
  if (a.status >= 200 && a.status < 300 && !isStreamedGet(c.route)) {
    const parsed = (routes[c.route].response as z.ZodType).safeParse(JSON.parse(a.text));
    if (!parsed.success) throw new Error(`${what}: 2xx answer breaks the contract: ${parsed.error.issues[0]?.message}: ${a.text.slice(0, 300)}`);
    if (c.route === 'workspacesPost') {
      const ws = (parsed.data as { workspace: { id: string; name: string } }).workspace;
      world.asked.set(ws.id, ws.name);
    }
  }
  await world.assertAlive(what);
}

/** One request outside the route table: odd methods, paths and headers. */
export interface OffTableCase {
  method: string;
  path: string;
  who: Who;
  headers: Array<[string, string]>;
}

/** The arbitrary of requests outside the table. */
export function offTableCases(): fc.Arbitrary<OffTableCase> {
  const header = fc.tuple(
    fc.constantFrom('authorization', 'content-type', 'accept', 'x-forwarded-for', 'host', 'transfer-encoding', 'content-encoding', 'cookie', 'range'),
    fc.oneof(
      hostileString().map((s) => rawPathSegment(s).slice(0, 8000)),
      fc.constantFrom('Bearer ', 'Bearer  x y', 'Basic YTpi', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'gzip', 'bytes=0-1'),
    ),
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND'),
    path: fc.oneof(
      hostileString().map((s) => `${API_PREFIX}/${rawPathSegment(s)}`),
      fc
        .array(hostileString(['workspaces', 'exec', 'agent', 'connect', 'events', 'operations', '..']), { minLength: 1, maxLength: 4 })
        .map((p) => `${API_PREFIX}/${p.map(rawPathSegment).join('/')}`),
      hostileString().map((s) => `/${rawPathSegment(s)}`),
    ),
    who: fc.constantFrom<Who>('admin', 'member', 'none', 'bogus'),
    headers: fc.array(header, { maxLength: 3 }),
  });
}

/** Sends one off-table request and checks the answer. */
export async function runOffTableCase(world: HttpTarget, c: OffTableCase): Promise<void> {
  countCase('http-off-table');
  const headers = Object.fromEntries(c.headers.filter(([k]) => k !== 'transfer-encoding' && k !== 'content-encoding' && k !== 'host'));
  const what = `${c.method} ${c.path.slice(0, 300)} as ${c.who} with ${JSON.stringify(headers).slice(0, 300)}`;
  const body = c.method === 'GET' || c.method === 'HEAD' ? undefined : '{}';
  const a = await world.call(c.method, c.path, c.who, body, headers);
  // HEAD answers have no body to carry an error; the status alone must still be a registered one.
  if (c.method === 'HEAD') {
    if (a.status >= 500) throw new Error(`${what}: answered ${a.status}`);
  } else assertRegisteredAnswer(a, what);
  await world.assertAlive(what);
}

/** Bytes sent to the HTTP port that are not (quite) HTTP. */
export interface RawHttpCase {
  chunks: string[];
}

/** The arbitrary of raw HTTP byte cases. */
export function rawHttpCases(): fc.Arbitrary<RawHttpCase> {
  const line = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom(
      'GET /api/v1/health HTTP/1.1\r\n',
      'GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n',
      'POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /api/v1/workspaces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST /api/v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX: \u0001\r\n\r\n',
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET /api/v1/agent/connect HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n\r\n',
      'GET /api/v1/workspaces/fuzz-target/exec HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n',
      '\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    ),
  );
  return fc.record({ chunks: fc.array(line, { minLength: 1, maxLength: 3 }) });
}

/** Sends raw bytes, half-closes, and checks any answer's status and error body. */
export async function runRawHttpCase(world: FuzzWorld, c: RawHttpCase): Promise<void> {
  countCase('http-raw');
  const url = new URL(world.server.url);
  const what = `raw HTTP bytes ${JSON.stringify(c.chunks).slice(0, 300)}`;
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname);
    let got = '';
    const hang = setTimeout(() => {
      s.destroy();
      reject(new Error(`HANG: ${what}: the connection stayed open ${HANG_MS} ms after the client finished`));
    }, HANG_MS);
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(hang);
      resolve(got);
    });
    s.on('connect', () => {
      for (const ch of c.chunks) s.write(Buffer.from(ch, 'latin1'));
      s.end();
    });
  });
  for (const m of reply.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/g)) {
    const status = Number(m[1]);
    const length = /content-length: (\d+)/i.exec(m[2]!)?.[1];
    if (status < 400 || length === undefined) continue;
    const start = m.index! + m[0].length;
    assertRegisteredAnswer({ status, headers: {}, text: Buffer.from(reply.slice(start, start + Number(length)), 'latin1').toString('utf8') }, what);
  }
  await world.assertAlive(what);
}
