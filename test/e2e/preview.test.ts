/**
 * HTTP previews end to end: a real server with its local agent and a Docker workspace running
 * busybox httpd (pages, a redirect) and a shell HTTP server on busybox nc (echoes the request
 * it got, body included, and answers an Upgrade with 101 and then echoes raw bytes). Through
 * `berth preview` and plain HTTP to 127.0.0.1: the owner's cookie flow, bearer tokens, bodies,
 * an upgrade, 404 to another user and to no credential, the starting page, and subdomain mode
 * with the Host header.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const ws = uniqueName('pv');
const DOMAIN = 'preview.test';
let bob = '';

/** The shell HTTP server: echoes method, target, headers and body; Upgrade → 101, then raw echo. */
const ECHO = `#!/bin/sh
cr=$(printf '\\r')
read -r method target proto
len=0; up=""; hdrs=""
while IFS= read -r line; do
  line=\${line%"$cr"}
  [ -z "$line" ] && break
  case "$line" in
    [Cc]ontent-[Ll]ength:*) len=\${line#*: };;
    [Uu]pgrade:*) up=\${line#*: };;
  esac
  hdrs="$hdrs$line
"
done
if [ -n "$up" ]; then
  printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: %s\\r\\nConnection: Upgrade\\r\\n\\r\\n' "$up"
  exec cat
fi
body=$(head -c "$len")
resp="$method $target
$hdrs
$body"
printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %s\\r\\nConnection: close\\r\\n\\r\\n%s' "\${#resp}" "$resp"
`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to the server at 127.0.0.1 (no redirects followed). */
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    // Node frames a GET's body only with an explicit length.
    const headers = opts.body === undefined ? opts.headers : { 'content-length': String(Buffer.byteLength(opts.body)), ...opts.headers };
    const req = request({ host: '127.0.0.1', port: url.port, path, method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The cookie a redirect set, as a Cookie header value. */
function cookieOf(a: Answer): string {
  const set = a.headers['set-cookie']?.[0] ?? '';
  return set.split(';')[0];
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true, extraArgs: ['--preview-domain', DOMAIN] });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  const created = await server.cli(['ws', 'create', ws]);
  expect(created.code, created.stderr).toBe(0);
  const script = await server.cli(['ws', 'exec', ws, '--', 'sh', '-c', 'cat > /tmp/echo.sh && chmod +x /tmp/echo.sh'], { input: ECHO });
  expect(script.code, script.stderr).toBe(0);
  const started = await server.cli([
    'ws',
    'exec',
    ws,
    '--',
    'sh',
    '-c',
    'mkdir -p /www/cgi-bin && echo "hello from the workspace" > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && (setsid nc -ll -p 9000 -e /tmp/echo.sh </dev/null >/dev/null 2>&1 &)',
  ]);
  expect(started.code, started.stderr).toBe(0);
  await waitFor(
    'both services answering through the preview',
    async () => {
      const a = await http(`/w/${ws}/p/8080/`, { headers: bearer(server.token) });
      const b = await http(`/w/${ws}/p/9000/`, { headers: bearer(server.token) });
      return a.status === 200 && b.status === 200;
    },
    30_000,
    200,
  );
  const inv = await fetch(`${server.url}/api/v1/users/invites`, {
    method: 'POST',
    headers: { ...bearer(server.token), 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bob@example.com', role: 'member' }),
  });
  const reg = await fetch(`${server.url}/api/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite: ((await inv.json()) as { code: string }).code, name: 'bob' }),
  });
  bob = ((await reg.json()) as { token: string }).token;
  expect(bob).toMatch(/^berth_/);
});

afterAll(async () => {
  await server.destroy();
});

describe('berth preview (path mode)', () => {
  it('prints a one-time URL that trades its token for a scoped cookie and a redirect, once', async () => {
    const p = await server.json<{ url: string; pathUrl: string; hostUrl: string; path: string; expiresAt: string }>(['preview', ws, '8080']);
    expect(p.pathUrl).toBe(`${server.url}/w/${ws}/p/8080/?berth_token=${p.path.split('=')[1]}`);
    expect(p.hostUrl).toMatch(new RegExp(`^http://8080--${ws}--admin\\.${DOMAIN.replace('.', '\\.')}:\\d+/\\?berth_token=bprev_`));
    const path = new URL(p.pathUrl).pathname + new URL(p.pathUrl).search;
    const traded = await http(path, { headers: { accept: 'text/html' } });
    expect(traded.status).toBe(302);
    expect(traded.headers.location).toBe(`/w/${ws}/p/8080/`);
    const set = traded.headers['set-cookie']?.[0] ?? '';
    expect(set).toMatch(/^berth_preview=v1\.[\w-]+\.[\w-]+;/);
    expect(set).toContain(`Path=/w/${ws}/`);
    for (const attr of ['HttpOnly', 'SameSite=Lax', 'Secure']) expect(set).toContain(attr);
    expect(set).not.toContain(server.token);

    const page = await http(traded.headers.location!, { headers: { cookie: cookieOf(traded), accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.body).toBe('hello from the workspace\n');
    // The cookie opens the workspace's other ports too (it is scoped to /w/NAME/).
    expect((await http(`/w/${ws}/p/9000/x`, { headers: { cookie: cookieOf(traded) } })).status).toBe(200);

    const again = await http(path);
    expect(again.status).toBe(404);
    expect(JSON.parse(again.body)).toMatchObject({ code: 'NOT_FOUND' });
    // A reloaded tab (spent token, good cookie) is sent to the URL without the token.
    const reloaded = await http(path, { headers: { cookie: cookieOf(traded) } });
    expect(reloaded.status).toBe(302);
    expect(reloaded.headers.location).toBe(`/w/${ws}/p/8080/`);
    expect(reloaded.headers['set-cookie']).toBeUndefined();
    // A forged cookie is nobody.
    const forged = cookieOf(traded).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await http(`/w/${ws}/p/8080/`, { headers: { cookie: forged } })).status).toBe(404);
  });

  it('passes GET and POST bodies and the path, without berth credentials, with forwarding headers', async () => {
    const p = await server.json<{ path: string }>(['preview', ws, '9000']);
    const cookie = cookieOf(await http(p.path));
    const got = await http(`/w/${ws}/p/9000/echo?q=1`, {
      method: 'GET',
      headers: { cookie: `a=1; ${cookie}; b=2`, 'content-type': 'text/plain', 'x-forwarded-for': '6.6.6.6' },
      body: 'a GET body',
    });
    expect(got.status, got.body).toBe(200);
    expect(got.body.startsWith('GET /echo?q=1\n')).toBe(true);
    expect(got.body).toContain('cookie: a=1; b=2');
    expect(got.body).not.toContain('berth_preview');
    expect(got.body).toContain('host: localhost:9000');
    expect(got.body).toContain(`x-forwarded-prefix: /w/${ws}/p/9000`);
    expect(got.body).toContain('x-forwarded-proto: http');
    expect(got.body).toContain('x-forwarded-for: 127.0.0.1');
    expect(got.body).not.toContain('6.6.6.6');
    expect(got.body.endsWith('\n\na GET body')).toBe(true);

    const big = 'x'.repeat(200_000) + 'END';
    const posted = await http(`/w/${ws}/p/9000/submit`, { method: 'POST', headers: { ...bearer(server.token), 'content-type': 'text/plain' }, body: big });
    expect(posted.status).toBe(200);
    expect(posted.body.startsWith('POST /submit\n')).toBe(true);
    expect(posted.body).not.toContain(server.token);
    expect(posted.body.endsWith(`\n\n${big}`)).toBe(true);
  });

  it("moves the service's redirects to its root under the prefix", async () => {
    const r = await http(`/w/${ws}/p/8080/cgi-bin`, { headers: bearer(server.token) });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`/w/${ws}/p/8080/cgi-bin/`);
    // Without the slash after the port, browsers are sent to it first (relative links need it).
    const bare = await http(`/w/${ws}/p/8080?x=1`, { headers: bearer(server.token) });
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe(`/w/${ws}/p/8080/?x=1`);
  });

  it('passes an Upgrade through and then raw bytes both ways', async () => {
    const url = new URL(server.url);
    const sock = connect(Number(url.port), '127.0.0.1');
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.write(
      `GET /w/${ws}/p/9000/socket HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await waitFor('101', async () => got.includes('\r\n\r\n'), 10_000, 20);
    expect(got).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(got).toContain('Upgrade: websocket');
    got = '';
    sock.write('ping-12345\n');
    await waitFor('echo', async () => got.includes('ping-12345\n'), 10_000, 20);
    const big = 'y'.repeat(300_000) + '\n';
    got = '';
    sock.write(big);
    await waitFor('big echo', async () => got.length >= big.length, 20_000, 20);
    expect(got).toBe(big);
    sock.destroy();
  });

  it('answers another user, no credential and an unknown workspace with the same 404', async () => {
    const cli = await server.cli(['preview', ws, '8080'], { env: { BERTH_TOKEN: bob } });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain('NOT_FOUND');
    for (const headers of [bearer(bob), {}, bearer('berth_nonsense')]) {
      const r = await http(`/w/${ws}/p/8080/`, { headers });
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    }
    const missing = await http('/w/no-such-ws/p/8080/', { headers: bearer(server.token) });
    expect(missing.status).toBe(404);
    // Names per owner: /w/OWNER.NAME/ names the owner; it serves the owner, and nobody else.
    expect((await http(`/w/admin.${ws}/p/8080/`, { headers: bearer(server.token) })).body).toBe('hello from the workspace\n');
    for (const headers of [bearer(bob), {}]) expect((await http(`/w/admin.${ws}/p/8080/`, { headers })).status).toBe(404);
    expect((await http(`/w/bob.${ws}/p/8080/`, { headers: bearer(server.token) })).status).toBe(404);
    const page = await http(`/w/${ws}/p/8080/`, { headers: { ...bearer(bob), accept: 'text/html,*/*' } });
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<h1>Not found</h1>');
    // An upgrade is refused the same way, before anything reaches the workspace.
    const refused = await http(`/w/${ws}/p/9000/socket`, { headers: { ...bearer(bob), upgrade: 'websocket', connection: 'Upgrade' } }).catch((e: Error) => e);
    expect(refused).toMatchObject({ status: 404 });
  });

  it('shows a self-refreshing starting page while nothing listens, then the service', async () => {
    const html = await http(`/w/${ws}/p/9555/`, { headers: { ...bearer(server.token), accept: 'text/html' } });
    expect(html.status).toBe(503);
    expect(html.body).toContain('<meta http-equiv="refresh" content="2">');
    expect(html.body).toContain('Nothing listens on port 9555');
    const json = await http(`/w/${ws}/p/9555/`, { headers: bearer(server.token) });
    expect(json.status).toBe(503);
    expect(json.headers['retry-after']).toBe('2');
    expect(JSON.parse(json.body)).toMatchObject({ code: 'UNAVAILABLE', field: 'port' });
    const started = await server.cli(['ws', 'exec', ws, '--', 'httpd', '-p', '127.0.0.1:9555', '-h', '/www']);
    expect(started.code, started.stderr).toBe(0);
    const up = await waitFor(
      'the service',
      async () => {
        const r = await http(`/w/${ws}/p/9555/`, { headers: bearer(server.token) });
        return r.status === 200 ? r : null;
      },
      10_000,
      100,
    );
    expect(up.body).toBe('hello from the workspace\n');
  });
});

describe('berth preview --open', () => {
  it('hands the URL to the desktop opener', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'berth-opener-'));
    try {
      await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > ${bin}/opened\n`, { mode: 0o755 });
      const r = await server.cli(['preview', ws, '8080', '--open', '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.opened).toBe(true);
      const opened = await waitFor('the opener to run', async () => readFile(join(bin, 'opened'), 'utf8').catch(() => ''), 10_000, 50);
      expect(opened).toBe(out.url);
      // The opened link still works (the opener did not use it).
      const u = new URL(out.pathUrl);
      expect((await http(u.pathname + u.search)).status).toBe(302);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });
});

describe('hostile requests to a real server', () => {
  it("never crash it or reach the workspace without the owner's credential", async () => {
    const seg = fc.oneof(fc.constantFrom(ws, '..', '%2e%2e', `${ws}%2F`, 'nosuch', '', 'A'.repeat(80)), fc.stringMatching(/^[\x21-\x7e]{0,12}$/));
    const port = fc.oneof(fc.constantFrom('8080', '9000', '08080', '0', '65536', ''), fc.stringMatching(/^[0-9a-z%]{0,6}$/));
    const cred = fc.constantFrom(
      () => bearer(bob),
      () => ({ cookie: 'berth_preview=v1.AAAA.BBBB' }),
      () => ({ authorization: 'Bearer berth_x' }),
      () => ({}),
    );
    const host = fc.oneof(
      fc.constantFrom('127.0.0.1', `8080--${ws}--bob.${DOMAIN}`, `8080--${ws}--admin.${DOMAIN}x`, DOMAIN),
      fc.stringMatching(/^[a-z0-9.-]{0,30}$/),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH');
    await fc.assert(
      fc.asyncProperty(method, seg, port, fc.stringMatching(/^[\x21-\x7e]{0,20}$/), cred, host, fc.boolean(), async (m, n, p, rest, c, h, upgrade) => {
        const r = await http(`/w/${encodeURI(n)}/p/${encodeURI(p)}/${encodeURI(rest)}`, {
          method: m,
          headers: { host: h || 'x', ...c(), ...(upgrade ? { upgrade: 'websocket', connection: 'Upgrade' } : {}) },
        }).catch((e: Error) => ({ status: -1, body: e.message, headers: {} }));
        // No answer ever comes from the workspace's services: those say "GET /…" or serve pages.
        expect([404, 308, 400, -1], `${m} ${n} ${p} ${h}: ${r.body.slice(0, 200)}`).toContain(r.status);
        expect(r.body).not.toContain('hello from the workspace');
      }),
      { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 150) },
    );
    expect((await http('/api/v1/health')).status).toBe(200);
    expect((await http(`/w/${ws}/p/8080/`, { headers: bearer(server.token) })).body).toBe('hello from the workspace\n');
  });
});

describe('berth preview (subdomain mode)', () => {
  const host = () => `8080--${ws}--admin.${DOMAIN}:${new URL(server.url).port}`;

  it('serves PORT--NAME--USER.BASE with the cookie flow, and 404 to a bad host', async () => {
    const p = await server.json<{ hostUrl: string }>(['preview', ws, '8080']);
    const u = new URL(p.hostUrl);
    const traded = await http(u.pathname + u.search, { headers: { host: u.host } });
    expect(traded.status).toBe(302);
    expect(traded.headers.location).toBe('/');
    expect(traded.headers['set-cookie']?.[0]).toContain('Path=/;');
    const page = await http('/', { headers: { host: host(), cookie: cookieOf(traded) } });
    expect(page.status).toBe(200);
    expect(page.body).toBe('hello from the workspace\n');
    // API paths on a preview host belong to the service, not to berth.
    const api = await http('/api/v1/health', { headers: { host: host(), cookie: cookieOf(traded) } });
    expect(api.status).toBe(404);
    expect(api.body).not.toContain('"status":"ok"');
    const redirect = await http('/cgi-bin', { headers: { host: host(), ...bearer(server.token) } });
    expect(redirect.headers.location).toBe('/cgi-bin/');

    for (const bad of [
      `8080--${ws}--bob.${DOMAIN}`,
      `08080--${ws}--admin.${DOMAIN}`,
      `8080--${ws}.${DOMAIN}`,
      `x.8080--${ws}--admin.${DOMAIN}`,
      `8080--${ws}--admin--x.${DOMAIN}`,
      `99999--${ws}--admin.${DOMAIN}`,
    ]) {
      const r = await http('/', { headers: { host: bad, ...bearer(server.token) } });
      expect(r.status, bad).toBe(404);
    }
    // The server's own host still serves the API.
    expect((await http('/api/v1/health')).status).toBe(200);
  });
});
