/**
 * The preview front door on a real HTTP server, a real SQLite store and a real service on
 * 127.0.0.1; only the node is played by a stand-in hub whose openPort dials that service. The
 * fuzz sends raw hostile requests (methods, targets, Host, cookies, tokens, upgrades) and
 * checks that the server keeps answering and that no request without the owner's credential
 * ever makes the hub open a connection.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type SupervisorState } from '../../../api/index.js';
import type { ExecSink } from '../../agents/hub.js';
import { NodeReports } from '../../agents/node-reports.js';
import { hashSecret } from '../../auth/secrets.js';
import { openSqliteStore, type Store } from '../../store/open.js';
import { ACCESS_CACHE_MS } from './access.js';
import { PreviewCredentials } from './credentials.js';
import { mountFrontDoor } from './index.js';
import { PreviewProxy } from './proxy.js';

let dir: string;
let store: Store;
let service: Server;
let front: Server;
let creds: PreviewCredentials;
const opened: Array<{ nodeId: string; workspaceId: string; port: number }> = [];
const ALICE = 'berth_alice-token';
const BOB = 'berth_bob-token';
let aliceCookie = '';
let bobCookie = '';
const DOMAIN = 'pv.test';
const sockets = new Set<Socket>();
/** The workspace's spec: a service with a health check declares port 8088. */
const SPEC = { services: { web: { command: 'httpd -f -p 8088', ports: [8088], healthcheck: { http: 8088 } } } };

/** A stand-in node: opens a TCP connection to the test's service, whatever the port asked for. */
const hub = {
  services: new NodeReports<SupervisorState>(),
  isOnline: () => true,
  onWorkspaceEnded: () => () => {},
  openPort: async (nodeId: string, workspaceId: string, port: number, sink: ExecSink) => {
    opened.push({ nodeId, workspaceId, port });
    if (port === 9) throw new BerthError('FAILED_PRECONDITION', 'Nothing listens on port 9 in workspace app; start the service and retry.', { field: 'port' });
    const sock = connect((service.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    sock.on('data', (d: Buffer) => sink.output('stdout', d));
    sock.on('close', () => sink.exit(0));
    sock.on('error', () => {});
    return {
      stdin: (d: Buffer) => void sock.write(d),
      eof: () => void sock.end(),
      resize: () => {},
      pauseOutput: () => void sock.pause(),
      resumeOutput: () => void sock.resume(),
      close: () => void sock.destroy(),
    };
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-preview-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const now = new Date().toISOString();
  await store.db
    .insertInto('users')
    .values([
      { id: 'ua', name: 'alice', role: 'member', email: null, created_at: now },
      { id: 'ub', name: 'bob', role: 'admin', email: null, created_at: now },
    ])
    .execute();
  await store.db
    .insertInto('api_tokens')
    .values([
      { id: 'ta', user_id: 'ua', name: 'a', token_hash: hashSecret(ALICE), created_at: now, last_used_at: null, revoked_at: null, expires_at: null },
      { id: 'tb', user_id: 'ub', name: 'b', token_hash: hashSecret(BOB), created_at: now, last_used_at: null, revoked_at: null, expires_at: null },
    ])
    .execute();
  await store.db
    .insertInto('nodes')
    .values({
      id: 'n1',
      name: 'n1',
      credential_hash: 'x',
      created_at: now,
      last_seen_at: null,
      agent_version: null,
      resources_json: null,
      providers_json: '[]',
    })
    .execute();
  await store.db
    .insertInto('workspaces')
    .values({
      id: 'w-app',
      name: 'app',
      owner_id: 'ua',
      node_id: 'n1',
      provider: 'docker',
      image: 'base',
      status: 'running',
      cpus: null,
      memory_bytes: null,
      error_json: null,
      created_at: now,
      updated_at: now,
      spec_json: JSON.stringify(SPEC),
    })
    .execute();
  creds = new PreviewCredentials(randomBytes(32));
  aliceCookie = `berth_preview=${creds.cookie({ userId: 'ua', workspaceId: 'w-app', tokenId: 'ta' })}`;
  bobCookie = `berth_preview=${creds.cookie({ userId: 'ub', workspaceId: 'w-app', tokenId: 'tb' })}`;

  service = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`ok ${req.method} ${req.url}`));
  });
  service.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  service.on('connection', (s: Socket) => sockets.add(s));
  front = createServer((_req, res) => res.writeHead(418).end('api'));
  mountFrontDoor(front, new PreviewProxy({ store, hub, creds, domain: DOMAIN, tls: false, log: pino({ level: 'silent' }) }));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  front.on('connection', (s: Socket) => sockets.add(s));
});

afterAll(async () => {
  // Upgraded connections are no longer the HTTP servers' to close.
  for (const s of sockets) s.destroy();
  await new Promise((r) => front?.close(r));
  await new Promise((r) => service?.close(r));
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes, returns what came back within the time (the connection is then ended). */
function raw(text: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect((front.address() as AddressInfo).port, '127.0.0.1');
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, waitMs);
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      // One whole answer is enough (a kept-alive connection would otherwise wait for the timer).
      if (/\r\n\r\n/.test(got) && /content-length: 0\r\n|\r\n\r\n[\s\S]*ok |<\/html>|\}$|^HTTP\/1\.1 101 /i.test(got)) {
        clearTimeout(timer);
        setTimeout(done, 20);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.write(Buffer.from(text, 'latin1'));
  });
}

const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

describe('the preview front door', () => {
  it('serves the owner by bearer and cookie, refuses others with 404, and leaves the API alone', async () => {
    expect(await raw(`GET /w/app/p/8080/x?y HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${ALICE}\r\n\r\n`)).toContain('ok GET /x?y');
    expect(await raw(`POST /w/app/p/8080/ HTTP/1.1\r\nHost: h\r\nCookie: ${aliceCookie}\r\nContent-Length: 3\r\n\r\nabc`)).toContain('ok POST /');
    expect(await raw(`GET / HTTP/1.1\r\nHost: 8080--app--alice.${DOMAIN}\r\nCookie: ${aliceCookie}\r\n\r\n`)).toContain('ok GET /');
    // bob is an admin, and still gets 404: previews are the owner's alone.
    for (const cred of [`Authorization: Bearer ${BOB}`, `Cookie: ${bobCookie}`, 'X-None: 1']) {
      expect(status(await raw(`GET /w/app/p/8080/ HTTP/1.1\r\nHost: h\r\n${cred}\r\n\r\n`))).toBe(404);
    }
    expect(status(await raw(`GET / HTTP/1.1\r\nHost: 8080--app--bob.${DOMAIN}\r\nAuthorization: Bearer ${ALICE}\r\n\r\n`))).toBe(404);
    expect(status(await raw(`GET /api/v1/health HTTP/1.1\r\nHost: h\r\n\r\n`))).toBe(418);
    // A refused port: the starting page.
    const starting = await raw(`GET /w/app/p/9/ HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nAuthorization: Bearer ${ALICE}\r\n\r\n`);
    expect(status(starting)).toBe(503);
    expect(starting).toContain('http-equiv="refresh"');
  });

  it('shows the starting page for a port whose service is not healthy yet, and serves it once the node says it is', async () => {
    const ask = () => raw(`GET /w/app/p/8088/ HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nAuthorization: Bearer ${ALICE}\r\n\r\n`);
    const before = opened.length;
    const waiting = await ask();
    expect(status(waiting)).toBe(503);
    expect(waiting).toContain('Service web is not healthy yet');
    // Nothing was opened in the workspace for a service that is not ready.
    expect(opened.length).toBe(before);
    const report = (state: 'starting' | 'healthy'): SupervisorState => ({
      supervisorPid: 10,
      configVersion: 'x',
      services: [{ name: 'web', state, pid: 11, restarts: 0, exitCode: null, startedAt: null, healthFailures: 0, lastHealthOutput: null, message: null }],
    });
    hub.services.set('n1', 'w-app', report('starting'));
    expect(status(await ask())).toBe(503);
    hub.services.set('n1', 'w-app', report('healthy'));
    expect(await ask()).toContain('ok GET /');
    // A report from another node is not this workspace's.
    hub.services.set('n2', 'w-app', report('starting'));
    expect(status(await ask())).toBe(503);
    hub.services.set('n1', 'w-app', report('healthy'));
  });

  it('stops honouring a cookie once the API token that minted it is revoked (within the access cache time)', async () => {
    const now = new Date().toISOString();
    await store.db
      .insertInto('api_tokens')
      .values({
        id: 'tc',
        user_id: 'ua',
        name: 'c',
        token_hash: hashSecret('berth_c'),
        created_at: now,
        last_used_at: null,
        revoked_at: null,
        expires_at: null,
      })
      .execute();
    const cookie = `berth_preview=${creds.cookie({ userId: 'ua', workspaceId: 'w-app', tokenId: 'tc' })}`;
    const ask = () => raw(`GET /w/app/p/8080/r HTTP/1.1\r\nHost: h\r\nCookie: ${cookie}\r\n\r\n`);
    expect(await ask()).toContain('ok GET /r');
    await store.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', 'tc').execute();
    await new Promise((r) => setTimeout(r, ACCESS_CACHE_MS + 50));
    expect(status(await ask())).toBe(404);
  });

  it("survives hostile requests, and opens nothing in the workspace without the owner's credential", async () => {
    const openedBefore = [...opened];
    const seg = fc.oneof(
      fc.constantFrom('app', 'App', '..', '.', '%2e%2e', 'app%2Fx', 'nosuch', '', 'a'.repeat(70)),
      fc.stringMatching(/^[\x21-\x7e]{0,12}$/).map((s) => s.replace(/[\s]/g, '')),
    );
    const portSeg = fc.oneof(fc.constantFrom('8080', '080', '0', '65536', '9', '-1', '8080%2F', ''), fc.stringMatching(/^[0-9a-z%]{0,6}$/));
    const target = fc.oneof(
      fc.tuple(seg, portSeg, fc.stringMatching(/^[\x21-\x7e]{0,30}$/)).map(([n, p, rest]) => `/w/${n}/p/${p}/${rest}`),
      fc.tuple(seg, portSeg).map(([n, p]) => `/w/${n}/p/${p}`),
      fc.stringMatching(/^\/[\x21-\x7e]{0,60}$/),
      fc.constant('/w/app/p/8080/?berth_token=bprev_guess'),
      fc.constant('*'),
    );
    // Without the owner's credential first, so no owner's request still in flight can be counted.
    const strangers = fc.constantFrom(
      `Authorization: Bearer ${BOB}\r\n`,
      `Cookie: ${bobCookie}\r\n`,
      `Cookie: ${aliceCookie.slice(0, -2)}xx\r\n`,
      `Cookie: berth_preview=${aliceCookie.split('=')[1].replace('v1.', 'v2.')}\r\n`,
      'Authorization: Bearer berth_x\r\n',
      'Authorization: Basic YTpi\r\n',
      '',
    );
    const owners = fc.constantFrom(`Authorization: Bearer ${ALICE}\r\n`, `Cookie: ${aliceCookie}\r\n`);
    const host = fc.oneof(
      fc.constantFrom('h', `8080--app--alice.${DOMAIN}`, `8080--app--bob.${DOMAIN}`, `x.8080--app--alice.${DOMAIN}`, DOMAIN, ''),
      fc.stringMatching(/^[\x21-\x7e]{0,40}$/),
    );
    const extra = fc.array(
      fc.constantFrom(
        'Upgrade: websocket\r\nConnection: Upgrade\r\n',
        'Transfer-Encoding: chunked\r\n',
        'Content-Length: 5\r\n',
        'Expect: 100-continue\r\n',
        'X-Forwarded-For: 1.2.3.4\r\n',
        'Connection: close\r\n',
      ),
      { maxLength: 3 },
    );
    const method = fc.oneof(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'),
      fc.stringMatching(/^[A-Z]{1,10}$/),
    );
    const send = (m: string, t: string, c: string, h: string, ex: string[]) =>
      raw(`${m} ${t} HTTP/1.1\r\nHost: ${h}\r\n${c}${ex.join('')}\r\n${ex.some((e) => e.startsWith('Content-Length')) ? 'hello' : ''}`, 400);
    const runs = Number(process.env.BERTH_FUZZ_RUNS ?? 150);
    await fc.assert(
      fc.asyncProperty(method, target, strangers, host, extra, async (m, t, c, h, ex) => {
        await send(m, t, c, h, ex);
        expect(opened, `${m} ${t} ${h} ${c}`).toEqual(openedBefore);
      }),
      { numRuns: runs },
    );
    // The owner's hostile requests: the server survives and opens only that workspace.
    await fc.assert(
      fc.asyncProperty(method, target, owners, host, extra, async (m, t, c, h, ex) => {
        await send(m, t, c, h, ex);
        for (const o of opened) expect(o).toMatchObject({ nodeId: 'n1', workspaceId: 'w-app' });
      }),
      { numRuns: Math.ceil(runs / 3) },
    );
    // Still serving.
    expect(await raw(`GET /w/app/p/8080/alive HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${ALICE}\r\n\r\n`)).toContain('ok GET /alive');
  }, 120_000);
});

describe('previews when two owners have the same name', () => {
  it("/w/NAME/ is the caller's own, /w/OWNER.NAME/ that owner's, and nobody reaches another's", async () => {
    // bob's `app` is stopped, so whose workspace a request reached shows in its status: alice's
    // (running) answers 200, bob's the 409 of a stopped workspace, anyone else's 404.
    const now = new Date().toISOString();
    await store.db
      .insertInto('workspaces')
      .values({
        id: 'w-bob-app',
        name: 'app',
        owner_id: 'ub',
        node_id: 'n1',
        provider: 'docker',
        image: 'base',
        status: 'stopped',
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const bobsCookie = `berth_preview=${creds.cookie({ userId: 'ub', workspaceId: 'w-bob-app', tokenId: 'tb' })}`;
    const reached = async (target: string, cred: string) => status(await raw(`GET ${target} HTTP/1.1\r\nHost: h\r\n${cred}\r\n\r\n`));
    try {
      const cases: Array<[string, string, number]> = [
        ['/w/app/p/8080/', `Authorization: Bearer ${ALICE}`, 200],
        ['/w/app/p/8080/', `Cookie: ${aliceCookie}`, 200],
        ['/w/alice.app/p/8080/', `Authorization: Bearer ${ALICE}`, 200],
        ['/w/app/p/8080/', `Authorization: Bearer ${BOB}`, 409],
        ['/w/app/p/8080/', `Cookie: ${bobsCookie}`, 409],
        ['/w/bob.app/p/8080/', `Cookie: ${bobsCookie}`, 409],
        // Another owner's, by either form and either credential: the same 404 as a missing one.
        ['/w/alice.app/p/8080/', `Authorization: Bearer ${BOB}`, 404],
        ['/w/alice.app/p/8080/', `Cookie: ${bobsCookie}`, 404],
        ['/w/bob.app/p/8080/', `Authorization: Bearer ${ALICE}`, 404],
        ['/w/bob.app/p/8080/', `Cookie: ${aliceCookie}`, 404],
        ['/w/carol.app/p/8080/', `Authorization: Bearer ${ALICE}`, 404],
      ];
      for (const [target, cred, want] of cases) expect(await reached(target, cred), `${target} ${cred}`).toBe(want);
    } finally {
      await store.db.deleteFrom('workspaces').where('id', '=', 'w-bob-app').execute();
    }
  });
});
