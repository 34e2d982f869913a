/**
 * No route leaks another person's things. A second member (bob) walks EVERY route of the
 * route table and every streaming route with his own token, aimed at a first member's
 * (alice's) and the admin's workspaces, operations, tokens and keys. Each answers NOT_FOUND or
 * PERMISSION_DENIED (or, for the routes that take no user token, UNAUTHENTICATED), and no 2xx
 * body holds anything of theirs. A route added to the table without a case here fails the test.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_PREFIX, fillPath, type RouteName, routes, streams } from '../../src/api/index.js';
import { runProgram, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;

interface Answer {
  status: number;
  text: string;
  json: any;
}

/** One API call with a bearer token. */
async function api(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}${API_PREFIX}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json };
}

/** An operation's end, as its owner sees it. */
async function finished(token: string, id: string): Promise<any> {
  return waitFor(
    `operation ${id} to finish`,
    async () => {
      const op = (await api(token, 'GET', `/operations/${id}`)).json;
      return op?.status !== 'running' ? op : null;
    },
    240_000,
    300,
  );
}

async function invite(email: string, name: string): Promise<{ token: string; user: any }> {
  const inv = await api(server.token, 'POST', '/users/invites', { email, role: 'member' });
  expect(inv.status, inv.text).toBe(201);
  const reg = await api('', 'POST', '/register', { invite: inv.json.code, name });
  expect(reg.status, reg.text).toBe(201);
  return reg.json;
}

/** A fresh OpenSSH public key line. */
async function publicKey(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-key-'));
  const r = await runProgram('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', join(dir, 'k')]);
  expect(r.code, r.stderr).toBe(0);
  return (await readFile(join(dir, 'k.pub'), 'utf8')).trim();
}

/** Alice's and the admin's things, and every string that would show one of them leaked. */
const theirs = {
  aliceWs: uniqueName('alice'),
  adminWs: uniqueName('admin'),
  aliceWsId: '',
  adminWsId: '',
  ops: [] as string[],
  aliceTokenId: '',
  adminTokenId: '',
  aliceKeyId: '',
  aliceKeyLine: '',
  aliceFingerprint: '',
};
let bob: { token: string; user: any };
let alice: { token: string; user: any };

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await api(server.token, 'POST', '/images', { name: 'base', from: 'busybox' });
  expect(build.status, build.text).toBe(202);
  expect((await finished(server.token, build.json.operation.id)).status).toBe('succeeded');
  theirs.ops.push(build.json.operation.id);

  alice = await invite('alice@example.com', 'alice');
  bob = await invite('bob@example.com', 'bob');

  const a = await api(alice.token, 'POST', '/workspaces', { name: theirs.aliceWs });
  expect(a.status, a.text).toBe(202);
  theirs.aliceWsId = a.json.workspace.id;
  theirs.ops.push(a.json.operation.id);
  expect((await finished(alice.token, a.json.operation.id)).status).toBe('succeeded');
  // An operation the admin started on alice's workspace: alice may see it, bob may not.
  const restart = await api(server.token, 'POST', `/workspaces/${encodeURIComponent(`alice/${theirs.aliceWs}`)}/restart`, {});
  expect(restart.status, restart.text).toBe(202);
  theirs.ops.push(restart.json.operation.id);
  expect((await finished(server.token, restart.json.operation.id)).status).toBe('succeeded');

  const b = await api(server.token, 'POST', '/workspaces', { name: theirs.adminWs });
  expect(b.status, b.text).toBe(202);
  theirs.adminWsId = b.json.workspace.id;
  theirs.ops.push(b.json.operation.id);
  expect((await finished(server.token, b.json.operation.id)).status).toBe('succeeded');

  theirs.aliceTokenId = (await api(alice.token, 'POST', '/tokens', { name: 'laptop' })).json.info.id;
  theirs.adminTokenId = (await api(server.token, 'POST', '/tokens', { name: 'ci' })).json.info.id;
  theirs.aliceKeyLine = await publicKey();
  const key = await api(alice.token, 'POST', '/ssh-keys', { name: 'laptop', publicKey: theirs.aliceKeyLine });
  expect(key.status, key.text).toBe(201);
  theirs.aliceKeyId = key.json.id;
  theirs.aliceFingerprint = key.json.fingerprint;
});

afterAll(async () => {
  await server.destroy();
});

/** How bob names alice's and the admin's workspaces. */
function theirRefs(): string[] {
  return [`alice/${theirs.aliceWs}`, `admin/${theirs.adminWs}`];
}

/** Strings that must never appear in a 2xx answer to bob. */
function secrets(): string[] {
  return [
    theirs.aliceWs,
    theirs.adminWs,
    theirs.aliceWsId,
    theirs.adminWsId,
    ...theirs.ops,
    theirs.aliceTokenId,
    theirs.adminTokenId,
    theirs.aliceKeyId,
    theirs.aliceFingerprint,
    'alice',
    'placed on node',
  ];
}

/** What bob sends to a route, and what he must get back. */
interface Case {
  method?: string;
  params?: Record<string, string>;
  body?: unknown;
  token?: string;
  /** Allowed statuses; a 2xx is then searched for anything of alice's or the admin's. */
  expect: number[];
  /** Strings bob himself sent that an answer may echo (his own audit entries name what he tried). */
  echoes?: string[];
}

/** One case per route of the table: a route without one fails the test below. */
function cases(): Record<RouteName, Case[]> {
  const aliceOp = theirs.ops[1];
  const adminRestartOfAlice = theirs.ops[2];
  const adminOps = [theirs.ops[0], theirs.ops[3]];
  const onOps = (make: (id: string) => Case) => [aliceOp, adminRestartOfAlice, ...adminOps].map(make);
  // Names are unique per owner: bob names theirs OWNER/NAME (a bare name is his own).
  const onWorkspaces = (make: (name: string) => Case) => theirRefs().map(make);
  return {
    health: [{ expect: [200] }],
    openapiGet: [{ expect: [200] }],
    whoami: [{ expect: [200] }],
    gatewayGet: [{ expect: [200] }],
    nodesList: [{ expect: [200] }],
    joinTokensPost: [{ body: { ttlSeconds: 60 }, expect: [403] }],
    // Takes no user token: bob's is not a join token.
    nodesJoinPost: [{ body: { token: bob.token, name: 'bobs-node' }, expect: [401] }],
    // Node management is for admins: bob learns nothing about any node.
    nodeGet: [{ params: { name: 'nosuch' }, expect: [403] }],
    nodeLabelsPost: [{ params: { name: 'nosuch' }, body: { set: { a: 'b' } }, expect: [403] }],
    nodeCordonPost: [{ params: { name: 'nosuch' }, expect: [403] }],
    nodeUncordonPost: [{ params: { name: 'nosuch' }, expect: [403] }],
    nodeDrainPost: [{ params: { name: 'nosuch' }, body: {}, expect: [403] }],
    // This server serves plain HTTP, so it has no CA to hand out.
    caGet: [{ expect: [409] }],
    nodeRotateCredentialPost: [{ params: { name: 'n1' }, expect: [403] }],
    nodeDelete: [{ params: { name: 'n1' }, body: {}, expect: [403] }],
    // Only an admin adds nodes over SSH.
    nodesSshPost: [{ body: { user: 'root', host: '127.0.0.1', privateKey: 'x', serverUrl: 'http://127.0.0.1:1' }, expect: [403] }],
    workspacesList: [{ expect: [200] }],
    // Names are unique per owner: bob may have a workspace named like theirs (his own), and
    // learns nothing of theirs from it.
    workspacesPost: [theirs.aliceWs, theirs.adminWs].map((name) => ({ body: { name }, expect: [202] })),
    workspaceGet: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    workspacePortsGet: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    workspaceStartPost: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    workspaceStopPost: onWorkspaces((name) => ({ params: { name }, body: {}, expect: [404] })),
    workspaceRestartPost: onWorkspaces((name) => ({ params: { name }, body: {}, expect: [404] })),
    workspaceDelete: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    // Workspace services: owner only, like every workspace route.
    workspaceServicesGet: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    workspaceServiceStartPost: onWorkspaces((name) => ({ params: { name, service: 'db' }, expect: [404] })),
    workspaceServiceStopPost: onWorkspaces((name) => ({ params: { name, service: 'db' }, expect: [404] })),
    workspaceServiceRestartPost: onWorkspaces((name) => ({ params: { name, service: 'db' }, expect: [404] })),
    // Web UI: kept terminals, owner (or watcher) only.
    workspaceTerminalsGet: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    operationGet: onOps((id) => ({ params: { id }, expect: [404] })),
    operationCancelPost: onOps((id) => ({ params: { id }, expect: [404] })),
    imagesList: [{ expect: [200] }],
    imagesPost: [{ body: { name: 'base', from: 'busybox' }, expect: [403] }],
    usersList: [{ expect: [403] }],
    invitesPost: [{ body: { email: 'x@example.com' }, expect: [403] }],
    userDelete: [{ params: { name: 'alice' }, body: { workspaces: 'delete' }, expect: [403] }],
    userDisablePost: [{ params: { name: 'alice' }, expect: [403] }],
    userEnablePost: [{ params: { name: 'alice' }, expect: [403] }],
    // Takes no user token: bob's token is not an invite.
    registerPost: [{ body: { invite: bob.token, name: 'bob2' }, expect: [401] }],
    tokensList: [{ expect: [200] }],
    tokensPost: [{ body: { name: 'bobs' }, expect: [201] }],
    tokenDelete: [theirs.aliceTokenId, theirs.adminTokenId, 'laptop', 'ci'].map((id) => ({ params: { id }, expect: [404] })),
    sshKeysList: [{ expect: [200] }],
    // One key belongs to one account: bob learns only that the key he sent is taken.
    sshKeysPost: [{ body: { name: 'stolen', publicKey: theirs.aliceKeyLine }, expect: [409], echoes: [theirs.aliceFingerprint] }],
    sshKeyDelete: [theirs.aliceKeyId, theirs.aliceFingerprint, 'laptop'].map((id) => ({ params: { id }, expect: [404] })),
    // Previews: bob gets no token for another's workspace.
    previewPost: onWorkspaces((name) => ({ params: { name }, body: { port: 80 }, expect: [404] })),
    // Web UI: bob's own sign-in link and session; a token that is not one signs nobody in.
    signInLinksPost: [{ body: {}, expect: [201] }],
    sessionGet: [{ expect: [200] }],
    sessionPost: [{ body: { token: 'berth_not-a-token' }, expect: [401] }],
    sessionDelete: [{ expect: [200] }],
    // Configuration as code is for admins; dotfiles are each user's own, applied only in their own workspaces.
    configGet: [{ expect: [403] }],
    configPush: [{ body: { baseRevision: 0, resources: [] }, expect: [403] }],
    dotfilesGet: [{ expect: [200] }],
    dotfilesPut: [{ body: { source: { type: 'repo', url: 'https://example.invalid/bob/dotfiles.git' } }, expect: [200] }],
    dotfilesDelete: [{ expect: [200, 404] }],
    workspaceDotfilesApplyPost: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    // Teams and sharing: bob belongs to no team and holds no share; nothing of alice's shows.
    teamsList: [{ expect: [200] }],
    teamsPost: [{ body: { name: 'bobs-team' }, expect: [403] }],
    teamDelete: [{ params: { name: 'nosuch' }, expect: [403] }],
    teamMembersPost: [{ params: { name: 'nosuch' }, body: { user: 'bob' }, expect: [404] }],
    teamMemberDelete: [{ params: { name: 'nosuch', user: 'bob' }, expect: [404] }],
    workspaceSharesGet: onWorkspaces((name) => ({ params: { name }, expect: [404] })),
    workspaceSharesPost: onWorkspaces((name) => ({ params: { name }, body: { user: 'bob' }, expect: [404] })),
    workspaceShareDelete: onWorkspaces((name) => ({ params: { name }, body: { user: 'bob' }, expect: [404] })),
    sharingPolicyGet: [{ expect: [200] }],
    sharingPolicyPost: [{ body: { policy: 'off' }, expect: [403] }],
    auditList: [
      {
        expect: [200],
        echoes: [theirs.aliceWs, theirs.adminWs, ...theirs.ops, theirs.aliceTokenId, theirs.adminTokenId, theirs.aliceKeyId, theirs.aliceFingerprint, 'alice'],
      },
    ],
  };
}

describe('ownership', () => {
  it('has a case for every route in the table', () => {
    expect(Object.keys(cases()).sort()).toEqual(Object.keys(routes).sort());
  });

  it('answers bob on every JSON route without anything of alice or the admin', async () => {
    const all = cases();
    // The audit list last, so it holds bob's own denials from every other route.
    const order = (Object.keys(all) as RouteName[]).sort((x, y) => Number(x === 'auditList') - Number(y === 'auditList'));
    for (const name of order) {
      const def = routes[name];
      for (const c of all[name]) {
        const path = fillPath(def.path, c.params);
        const r = await api(c.token ?? bob.token, def.method, path, def.method === 'GET' ? undefined : (c.body ?? {}));
        const what = `${def.method} ${path} → ${r.status} ${r.text.slice(0, 300)}`;
        expect(c.expect, what).toContain(r.status);
        const leaked = (r.status < 300 ? secrets() : secrets().filter((s) => s !== 'alice')).filter(
          (s) => s && r.text.includes(s) && !(c.echoes ?? []).includes(s) && !decodeURIComponent(path).includes(s) && !JSON.stringify(c.body ?? '').includes(s),
        );
        expect(leaked, what).toEqual([]);
      }
    }
    // Bob's audit list holds only bob's entries, his denials among them.
    const audit = (await api(bob.token, 'GET', '/audit')).json.entries as any[];
    expect(
      audit.filter((e) => e.actor !== 'bob'),
      JSON.stringify(audit.slice(0, 5)),
    ).toEqual([]);
    expect(audit.filter((e) => e.outcome === 'denied').map((e) => e.target)).toEqual(
      expect.arrayContaining([`workspace/alice/${theirs.aliceWs}`, `operation/${theirs.ops[1]}`]),
    );
    // The admin's view: each denial recorded, and alice's and the admin's things untouched.
    const denials = (await api(server.token, 'GET', '/audit?user=bob')).json.entries.filter((e: any) => e.outcome === 'denied');
    expect(denials.map((e: any) => e.action)).toEqual(expect.arrayContaining(['workspace.access', 'operation.access']));
    const list = (await api(server.token, 'GET', '/workspaces')).json.workspaces;
    expect(list.find((w: any) => w.ref === `alice/${theirs.aliceWs}`)).toMatchObject({ status: 'running', owner: 'alice' });
    expect(list.find((w: any) => w.ref === theirs.adminWs)).toMatchObject({ status: 'running', owner: 'admin' });
    expect((await api(alice.token, 'GET', '/tokens')).json.tokens.map((t: any) => t.name)).toContain('laptop');
    expect((await api(alice.token, 'GET', '/ssh-keys')).json.keys.map((k: any) => k.id)).toContain(theirs.aliceKeyId);
  });

  it('lets alice see operations on her workspace, even ones the admin started', async () => {
    for (const id of [theirs.ops[1], theirs.ops[2]]) expect((await api(alice.token, 'GET', `/operations/${id}`)).status).toBe(200);
    for (const id of [theirs.ops[0], theirs.ops[3]]) expect((await api(alice.token, 'GET', `/operations/${id}`)).status).toBe(404);
  });

  it('answers bob on every streaming route without anything of alice or the admin', async () => {
    const covered = { operationEvents: true, workspaceExec: true, agentConnect: true, workspacePortConnect: true, workspaceServiceLogs: true } satisfies Record<
      keyof typeof streams,
      true
    >;
    expect(Object.keys(covered).sort()).toEqual(Object.keys(streams).sort());

    // Operation events: NOT_FOUND before any event is streamed.
    for (const id of theirs.ops) {
      const r = await api(bob.token, 'GET', fillPath(streams.operationEvents, { id }));
      expect(r.status, r.text).toBe(404);
      expect(r.json.code).toBe('NOT_FOUND');
      expect(r.text).not.toMatch(/"type":"(progress|log|done)"/);
    }

    // Exec: the session answers with NOT_FOUND and never starts.
    for (const name of theirRefs()) {
      const frames = await execFrames(bob.token, name, { type: 'start', request: { cmd: ['id'], tty: false, env: {} } });
      expect(frames.map((f) => f.type)).toEqual(['error']);
      expect(frames[0].error.code).toBe('NOT_FOUND');
    }

    // Port forwards: NOT_FOUND, and no connection is made on the node.
    for (const name of theirRefs()) {
      const frames = await new Promise<any[]>((resolve) => {
        const url = `${server.url.replace(/^http/, 'ws')}${API_PREFIX}${fillPath(streams.workspacePortConnect, { name, port: '22' })}`;
        const socket = new WebSocket(url, { headers: { authorization: `Bearer ${bob.token}` } });
        const got: any[] = [];
        socket.on('message', (d, binary) => (binary ? got.push({ type: 'bytes' }) : got.push(JSON.parse(d.toString()))));
        socket.on('close', () => resolve(got));
        socket.on('error', () => resolve(got));
      });
      expect(frames.map((f) => f.type)).toEqual(['error']);
      expect(frames[0].error.code).toBe('NOT_FOUND');
    }

    // Service logs: NOT_FOUND before anything streams.
    for (const name of theirRefs()) {
      const r = await api(bob.token, 'GET', fillPath(streams.workspaceServiceLogs, { name, service: 'db' }) + '?follow=true');
      expect(r.status, r.text).toBe(404);
      expect(r.json.code).toBe('NOT_FOUND');
    }

    // The agent socket takes node credentials only.
    const agent = await new Promise<number>((resolve) => {
      const url = `${server.url.replace(/^http/, 'ws')}${API_PREFIX}${streams.agentConnect}`;
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${bob.token}` } });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('error', () => resolve(-1));
    });
    expect(agent).toBe(401);
  });
});

/** Opens an exec WebSocket, sends `start`, and collects the server's frames until it closes. */
function execFrames(token: string, name: string, start: unknown): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const url = `${server.url.replace(/^http/, 'ws')}${API_PREFIX}${fillPath(streams.workspaceExec, { name })}`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const frames: any[] = [];
    socket.on('open', () => socket.send(JSON.stringify(start)));
    socket.on('message', (d) => frames.push(JSON.parse(d.toString())));
    socket.on('close', () => resolve(frames));
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`exec on ${name} did not close; frames: ${JSON.stringify(frames)}`)), 30_000).unref();
  });
}
