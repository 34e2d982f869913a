/**
 * The CLI end to end in-process: real argument parsing, real HTTP and WebSocket to a small
 * local server that answers the way the contract says, captured output and exit status.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorSchema, type ExecClientFrame, formatConnectString, type OperationEvent, parseConnectString } from '../api/index.js';
import { type FakeServer, type RecordedRequest, sendJson, startFakeServer } from '../client/fake-server.test-support.js';
import { sampleImage, sampleNode, sampleOperation, sampleWorkspace } from '../client/fixtures.test-support.js';
import { runBerth, tempHome } from './cli-harness.test-support.js';
import { configPath } from './config.js';
import { wantsJson } from './run.js';

type Handler = (req: RecordedRequest, res: ServerResponse) => void;

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Starts a fake server answering `METHOD /path` (after /api/v1) with the given handlers. */
async function fakeBerth(routes: Record<string, Handler | unknown>): Promise<{ env: Record<string, string>; server: FakeServer }> {
  server = await startFakeServer({
    http: (req, res) => {
      const key = `${req.method} ${req.path.replace(/^\/api\/v1/, '').replace(/\?.*$/, '')}`;
      if (!(key in routes)) return false;
      const route = routes[key];
      if (typeof route === 'function') (route as Handler)(req, res);
      else sendJson(res, 200, route);
    },
  });
  return { env: { BERTH_SERVER: server.url, BERTH_TOKEN: 'tok' }, server };
}

function ndjson(res: ServerResponse, events: OperationEvent[]): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.end(events.map((e) => JSON.stringify(e) + '\n').join(''));
}

const running = sampleOperation({ status: 'running', stage: null, progress: null, finishedAt: null });

describe('listing', () => {
  it('ws ls prints an aligned table with sizes and ages', async () => {
    const { env } = await fakeBerth({
      'GET /workspaces': {
        workspaces: [sampleWorkspace(), sampleWorkspace({ name: 'second-one', status: 'stopped', cpus: null, memoryBytes: null })],
      },
    });
    const run = await runBerth(['ws', 'ls'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        'NAME         STATUS    PROVIDER   NODE    IMAGE   CPUS   MEMORY    AGE',
        'demo         running   docker     alpha   base    2      2.0 GiB   1h',
        'second-one   stopped   docker     alpha   base    -      -         1h',
        '',
      ].join('\n'),
    );
    expect(server?.requests[0].headers.authorization).toBe('Bearer tok');
  });

  it('ws ls --json prints the API object', async () => {
    const { env } = await fakeBerth({ 'GET /workspaces': { workspaces: [sampleWorkspace()] } });
    const run = await runBerth(['ws', 'ls', '--json'], { env });
    expect(JSON.parse(run.stdout)).toEqual({ workspaces: [sampleWorkspace()], nextCursor: null });
  });

  it('ws ls follows every page; with --limit it asks for one page, passes the filters and says how to go on', async () => {
    const pages: Record<string, unknown> = {
      '': { workspaces: [sampleWorkspace({ name: 'a1' })], nextCursor: 'c1.YTE' },
      'c1.YTE': { workspaces: [sampleWorkspace({ name: 'b2' })], nextCursor: null },
    };
    const { env } = await fakeBerth({
      'GET /workspaces': (req: RecordedRequest, res: ServerResponse) =>
        sendJson(res, 200, pages[new URL(req.path, 'http://x').searchParams.get('cursor') ?? '']),
    });
    const all = await runBerth(['ws', 'ls', '--json', '--status', 'running', '--node', 'alpha'], { env });
    expect(JSON.parse(all.stdout).workspaces.map((w: { name: string }) => w.name)).toEqual(['a1', 'b2']);
    const asked = server!.requests.map((r) => new URL(r.path, 'http://x').searchParams);
    expect(asked.map((q) => [q.get('limit'), q.get('cursor'), q.get('status'), q.get('node')])).toEqual([
      ['1000', null, 'running', 'alpha'],
      ['1000', 'c1.YTE', 'running', 'alpha'],
    ]);
    const one = await runBerth(['ws', 'ls', '--limit', '1'], { env });
    expect(one.stdout).toContain('a1');
    expect(one.stdout).not.toContain('b2');
    expect(one.stderr).toContain('berth ws ls --limit 1 --cursor c1.YTE');
  });

  it('node ls shows providers with marks, cordons and labels', async () => {
    const beta = sampleNode({
      name: 'beta',
      status: 'offline',
      resources: null,
      lastSeenAt: null,
      providers: [],
      cordoned: true,
      labels: { zone: 'eu', gpu: 'a100' },
    });
    const { env } = await fakeBerth({ 'GET /nodes': { nodes: [sampleNode(), beta] } });
    const run = await runBerth(['node', 'ls'], { env });
    expect(run.stdout).toBe(
      [
        'NAME    STATUS             PROVIDERS         CPUS   MEMORY    WORKSPACES   LAST SEEN   LABELS',
        'alpha   online             docker ✓, lxc ✗   4      8.0 GiB   1            1h ago      -',
        'beta    offline,cordoned   -                 -      -         1            never       zone=eu,gpu=a100',
        '',
      ].join('\n'),
    );
  });

  it('image ls and ws show print people-friendly text', async () => {
    const { env } = await fakeBerth({
      'GET /images': { images: [sampleImage({ packages: ['git', 'curl'] })] },
      'GET /workspaces/demo': sampleWorkspace({ status: 'failed', error: { code: 'NODE_OFFLINE', message: 'Node alpha is offline.' } }),
    });
    const images = await runBerth(['image', 'ls'], { env });
    expect(images.stdout).toContain('base   alpha   busybox   git,curl   2.0 MiB   1h');
    const show = await runBerth(['ws', 'show', 'demo'], { env });
    expect(show.stdout).toContain('Status:    failed');
    expect(show.stdout).toContain('Error:     NODE_OFFLINE: Node alpha is offline.');
  });

  it('says what to do when a list is empty', async () => {
    const { env } = await fakeBerth({ 'GET /workspaces': { workspaces: [] } });
    expect((await runBerth(['ws', 'ls'], { env })).stdout).toContain('berth ws create NAME');
  });
});

describe('errors and exit codes', () => {
  it('not logged in → 4 with the login hint', async () => {
    const run = await runBerth(['ws', 'ls']);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('error: UNAUTHENTICATED: ');
    expect(run.stderr).toContain('berth login URL --token T');
  });

  it('server errors map to exit codes, with the field', async () => {
    const { env } = await fakeBerth({
      'GET /workspaces/nope': (_req: RecordedRequest, res: ServerResponse) => sendJson(res, 404, { code: 'NOT_FOUND', message: 'No workspace nope.' }),
      'POST /workspaces': (_req: RecordedRequest, res: ServerResponse) =>
        sendJson(res, 409, { code: 'ALREADY_EXISTS', message: 'Workspace demo exists.', field: 'name' }),
    });
    const missing = await runBerth(['ws', 'show', 'nope'], { env });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('error: NOT_FOUND: No workspace nope.\n');
    const exists = await runBerth(['ws', 'create', 'demo'], { env });
    expect(exists.code).toBe(5);
    expect(exists.stderr).toBe('error: ALREADY_EXISTS: Workspace demo exists. (field: name)\n');
  });

  it('--json prints errors as JSON on stderr', async () => {
    const { env } = await fakeBerth({});
    const run = await runBerth(['ws', 'show', 'x', '--json'], { env });
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stderr).error.code).toBe('NOT_FOUND');
    expect(run.stdout).toBe('');
  });

  it('usage errors exit 2', async () => {
    expect((await runBerth(['ws', 'create'])).code).toBe(2);
    expect((await runBerth(['ws', 'create', 'x', '--bogus'])).code).toBe(2);
    expect((await runBerth(['ws', 'create', 'x', '--cpus', 'lots'])).code).toBe(2);
    expect((await runBerth(['nosuch'])).code).toBe(2);
    expect((await runBerth(['--help'])).code).toBe(0);
    expect((await runBerth(['--version'])).stdout).toBe('0.1.0\n');
  });

  it('with --json, usage errors are the JSON error shape too, and nothing else is printed', async () => {
    for (const argv of [
      ['ws', 'create', '--json'],
      ['ws', 'create', 'x', '--bogus', '--json'],
      ['ws', 'create', 'x', '--cpus', 'lots', '--json'],
      ['--json', 'nosuch'],
      ['server', '--listen', 'nowhere', '--json'],
    ]) {
      const run = await runBerth(argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      const parsed = apiErrorSchema.parse(JSON.parse(run.stderr).error);
      expect(parsed.code).toBe('INVALID_ARGUMENT');
      expect(parsed.message).not.toMatch(/^error:/);
    }
    const bad = await runBerth(['server', '--listen', 'nowhere', '--json']);
    expect(JSON.parse(bad.stderr).error.message).toContain('Invalid listen address "nowhere"');
    // Help is still help, not an error.
    const help = await runBerth(['ws', 'ls', '--help', '--json']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage:');
  });

  it("reads --json only among berth's own arguments", () => {
    expect(wantsJson(['ws', 'ls', '--json'])).toBe(true);
    expect(wantsJson(['ws', 'exec', 'demo', '--', 'tool', '--json'])).toBe(false);
    expect(wantsJson(['ws', 'exec', 'demo', '--json', '--', 'tool'])).toBe(true);
  });

  it('validates names and memory before calling the server', async () => {
    const { env, server: s } = await fakeBerth({});
    const badName = await runBerth(['ws', 'create', 'Bad_Name'], { env });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('(field: name)');
    const badMemory = await runBerth(['ws', 'create', 'ok', '--memory', 'lots'], { env });
    expect(badMemory.code).toBe(2);
    expect(badMemory.stderr).toContain('use a size such as 512m or 2g');
    expect(badMemory.stderr).toContain('(field: memory)');
    expect(s.requests).toHaveLength(0);
  });

  it('an unreachable server says how to start one', async () => {
    const run = await runBerth(['ws', 'ls'], { env: { BERTH_SERVER: 'http://127.0.0.1:1', BERTH_TOKEN: 't' } });
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('error: UNAVAILABLE: ');
    expect(run.stderr).toContain('Cannot reach the berth server at http://127.0.0.1:1');
  });
});

describe('operations', () => {
  it('ws create is one request that streams progress, then reports the workspace', async () => {
    let created: unknown;
    const { env, server: s } = await fakeBerth({
      'POST /workspaces': (req: RecordedRequest, res: ServerResponse) => {
        created = JSON.parse(req.body);
        expect(req.headers.accept).toBe('application/x-ndjson');
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(
          [
            { type: 'accepted', workspace: sampleWorkspace({ status: 'creating' }), operation: running },
            { type: 'progress', stage: 'creating container', fraction: 0.5 },
            { type: 'log', line: 'container abc created' },
            { type: 'done', operation: sampleOperation(), workspace: sampleWorkspace() },
          ]
            .map((e) => JSON.stringify(e) + '\n')
            .join(''),
        );
      },
    });
    const run = await runBerth(['ws', 'create', 'demo', '--memory', '2g', '--cpus', '1.5', '--image', 'base', '--node', 'alpha'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(created).toEqual({ name: 'demo', provider: 'docker', image: 'base', node: 'alpha', cpus: 1.5, memory: '2g' });
    expect(run.stdout).toBe(
      'stage: creating container (50%)\ncontainer abc created\nWorkspace demo is running on node alpha (docker, image base).\nRun commands in it with: berth ws exec demo -- sh\n',
    );
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/workspaces']);
  });

  it('ws create follows the operation the usual way when the stream breaks after the server took it', async () => {
    const { env } = await fakeBerth({
      'POST /workspaces': (_req: RecordedRequest, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(
          [
            { type: 'accepted', workspace: sampleWorkspace({ status: 'creating' }), operation: running },
            { type: 'progress', stage: 'creating container', fraction: 0.5 },
          ]
            .map((e) => JSON.stringify(e) + '\n')
            .join(''),
        );
      },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) =>
        ndjson(res, [
          { type: 'progress', stage: 'creating container', fraction: 0.5 },
          { type: 'log', line: 'container abc created' },
          { type: 'done', operation: sampleOperation() },
        ]),
      'GET /workspaces/demo': sampleWorkspace(),
    });
    const run = await runBerth(['ws', 'create', 'demo'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The progress line heard before the break is not repeated.
    expect(run.stdout).toBe(
      'stage: creating container (50%)\ncontainer abc created\nWorkspace demo is running on node alpha (docker, image base).\nRun commands in it with: berth ws exec demo -- sh\n',
    );
  });

  it("a failed streamed create exits by its error code (PROVIDER_UNAVAILABLE → 6) with the operation's error", async () => {
    const { env } = await fakeBerth({
      'POST /workspaces': (_req: RecordedRequest, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const failed = sampleOperation({ status: 'failed', error: { code: 'PROVIDER_UNAVAILABLE', message: 'Docker is not usable.' } });
        res.end(
          [
            { type: 'accepted', workspace: sampleWorkspace({ status: 'creating' }), operation: running },
            { type: 'done', operation: failed, workspace: null },
          ]
            .map((e) => JSON.stringify(e) + '\n')
            .join(''),
        );
      },
    });
    const run = await runBerth(['ws', 'create', 'demo', '--json'], { env });
    expect(run.code).toBe(6);
    expect(JSON.parse(run.stderr).error.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('a failed operation exits with the status of its error code', async () => {
    const { env } = await fakeBerth({
      'POST /workspaces/demo/start': { operation: { ...running, kind: 'workspace.start' } },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) =>
        ndjson(res, [{ type: 'done', operation: sampleOperation({ status: 'failed', error: { code: 'NODE_OFFLINE', message: 'Node alpha is offline.' } }) }]),
    });
    const run = await runBerth(['ws', 'start', 'demo'], { env });
    expect(run.code).toBe(6);
    expect(run.stderr).toBe('error: NODE_OFFLINE: Node alpha is offline.\n');
  });

  it('a failed operation without a specific code exits 1', async () => {
    const { env } = await fakeBerth({
      'POST /workspaces/demo/start': { operation: { ...running, kind: 'workspace.start' } },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) =>
        ndjson(res, [{ type: 'done', operation: sampleOperation({ status: 'failed', error: { code: 'INTERNAL', message: 'The engine crashed.' } }) }]),
    });
    const run = await runBerth(['ws', 'start', 'demo', '--json'], { env });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr)).toEqual({ error: { code: 'INTERNAL', message: 'The engine crashed.' } });
  });

  it('--no-wait returns once accepted; --json prints the accepted objects', async () => {
    const { env, server: s } = await fakeBerth({ 'POST /workspaces/demo/stop': { operation: running } });
    const run = await runBerth(['ws', 'stop', 'demo', '--no-wait', '--timeout', '5', '--force'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Accepted workspace.create of workspace/demo (operation op_1).\n');
    expect(JSON.parse(s.requests[0].body)).toEqual({ timeoutSeconds: 5, force: true });
    const json = await runBerth(['ws', 'stop', 'demo', '--no-wait', '--json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ operation: running });
  });

  it('ws rm (and its alias delete) follows the delete operation; --json prints the final operation', async () => {
    const { env, server: s } = await fakeBerth({
      'DELETE /workspaces/demo': { operation: { ...running, kind: 'workspace.delete' } },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) =>
        ndjson(res, [{ type: 'done', operation: sampleOperation({ kind: 'workspace.delete' }) }]),
    });
    expect((await runBerth(['ws', 'rm', 'demo'], { env })).stdout).toBe('Workspace demo is deleted.\n');
    const json = await runBerth(['ws', 'delete', 'demo', '--json'], { env });
    expect(JSON.parse(json.stdout).operation.kind).toBe('workspace.delete');
    expect(s.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
  });

  it('image build sends the package list and shows a terminal progress line on a TTY', async () => {
    let body: unknown;
    const { env } = await fakeBerth({
      'POST /images': (req: RecordedRequest, res: ServerResponse) => {
        body = JSON.parse(req.body);
        sendJson(res, 202, { operation: { ...running, kind: 'image.build', target: 'image/dev' } });
      },
      'GET /operations/op_1/events': (_req: RecordedRequest, res: ServerResponse) =>
        ndjson(res, [
          { type: 'progress', stage: 'debootstrap', fraction: 0.3 },
          { type: 'done', operation: sampleOperation({ kind: 'image.build', target: 'image/dev' }) },
        ]),
    });
    const run = await runBerth(['image', 'build', 'dev', '--from', 'debian:bookworm', '--packages', 'git,curl'], { env, stdoutTTY: true });
    expect(run.code).toBe(0);
    expect(body).toEqual({ name: 'dev', from: 'debian:bookworm', packages: ['git', 'curl'] });
    expect(run.stdout).toContain('building image dev: debootstrap 30%');
    expect(run.stdout).toContain('\r\x1b[2KImage dev is built');
  });
});

describe('login and join tokens', () => {
  it('login checks the token, saves it privately, and later commands use it', async () => {
    const home = tempHome();
    const { server: s } = await fakeBerth({
      'GET /whoami': (req: RecordedRequest, res: ServerResponse) =>
        req.headers.authorization === 'Bearer good'
          ? sendJson(res, 200, { id: 'u1', name: 'admin', role: 'admin' })
          : sendJson(res, 401, { code: 'UNAUTHENTICATED', message: 'That token is not valid.' }),
      'GET /workspaces': { workspaces: [] },
    });
    const path = configPath({ env: {}, home });

    const bad = await runBerth(['login', s.url, '--token', 'bad'], { home });
    expect(bad.code).toBe(4);
    expect(existsSync(path)).toBe(false);

    const good = await runBerth(['login', s.url + '/', '--token', 'good'], { home });
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`Logged in to ${s.url} as admin (admin)`);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ server: s.url, token: 'good' });
    expect(statSync(path).mode & 0o777).toBe(0o600);

    expect((await runBerth(['ws', 'ls'], { home })).code).toBe(0);
    expect(s.requests.at(-1)?.headers.authorization).toBe('Bearer good');
    expect((await runBerth(['whoami', '--json'], { home })).stdout).toContain('"role": "admin"');

    expect((await runBerth(['logout'], { home })).stdout).toBe(`Logged out of ${s.url}.\n`);
    expect((await runBerth(['ws', 'ls'], { home })).code).toBe(4);
    expect((await runBerth(['logout'], { home })).stdout).toContain('Not logged in');
  });

  it('join-token prints the token and a ready-to-paste agent command', async () => {
    let body: unknown;
    const { env, server: s } = await fakeBerth({
      'POST /nodes/join-tokens': (req: RecordedRequest, res: ServerResponse) => {
        body = JSON.parse(req.body);
        sendJson(res, 201, { token: 'jt_abc', expiresAt: '2024-01-01T03:00:00.000Z' });
      },
    });
    const run = await runBerth(['node', 'join-token', '--ttl', '2h'], { env });
    expect(run.code).toBe(0);
    expect(body).toEqual({ ttlSeconds: 7200 });
    // One string holds the URL and the token (no fingerprint: this server is plain HTTP).
    const joinToken = formatConnectString({ kind: 'join', server: s.url, secret: 'jt_abc' });
    expect(run.stdout).toContain(`berth agent --join-token ${joinToken}\n`);
    expect(parseConnectString(joinToken, 'join', 'x')).toEqual({ kind: 'join', server: s.url, secret: 'jt_abc' });
  });

  it('join-token rejects a bad ttl as INVALID_ARGUMENT on field ttl', async () => {
    const { env } = await fakeBerth({});
    for (const ttl of ['soon', '1s', '90d']) {
      const run = await runBerth(['node', 'join-token', '--ttl', ttl, '--json'], { env });
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stderr).error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ttl' });
    }
  });
});

describe('ws exec', () => {
  /** An exec endpoint that echoes stdin, prints env and cwd on stderr and exits 7. */
  async function execServer(received: ExecClientFrame[]): Promise<Record<string, string>> {
    server = await startFakeServer({
      ws: (ws) => {
        ws.on('message', (raw) => {
          const frame = JSON.parse(raw.toString()) as ExecClientFrame;
          received.push(frame);
          if (frame.type === 'start') ws.send(JSON.stringify({ type: 'started' }));
          if (frame.type === 'stdin') ws.send(JSON.stringify({ type: 'stdout', data: frame.data }));
          if (frame.type === 'eof') ws.send(JSON.stringify({ type: 'exit', code: 7 }));
        });
      },
    });
    return { BERTH_SERVER: server.url, BERTH_TOKEN: 'tok' };
  }

  it('pipes stdin, passes env and workdir, and exits with the command status', async () => {
    const received: ExecClientFrame[] = [];
    const env = await execServer(received);
    const run = await runBerth(['ws', 'exec', 'demo', '-e', 'A=1', '-e', 'B=x=y', '-w', '/src', '--', 'cat', '-n'], { env, stdin: 'hi\n' });
    expect(run.stdout).toBe('hi\n');
    expect(run.code).toBe(7);
    expect(received[0]).toEqual({ type: 'start', request: { cmd: ['cat', '-n'], tty: false, env: { A: '1', B: 'x=y' }, cwd: '/src' }, binary: true });
  });

  it('does not read a terminal stdin without -t', async () => {
    const received: ExecClientFrame[] = [];
    const env = await execServer(received);
    // stdin is a terminal nobody types into: waiting for it would hang the test.
    const run = await runBerth(['ws', 'exec', 'demo', '--', 'ls'], { env });
    expect(run.code).toBe(7);
    expect(received.map((f) => f.type)).toEqual(['start', 'eof']);
  });

  it('opens the session by name in one round trip: no lookup of the workspace first', async () => {
    const env = await execServer([]);
    const run = await runBerth(['ws', 'exec', 'demo', '--', 'true'], { env });
    expect(run.code).toBe(7);
    expect(server?.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['UPGRADE /api/v1/workspaces/demo/exec']);
  });

  it('rejects a bad -e or a relative -w with exit 2', async () => {
    const env = await execServer([]);
    const badEnv = await runBerth(['ws', 'exec', 'demo', '-e', 'NOPE', '--', 'ls'], { env });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('NAME=VALUE');
    const relative = await runBerth(['ws', 'exec', 'demo', '-w', 'src', '--', 'ls'], { env });
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain('(field: cwd)');
  });

  it("an error frame becomes berth's error and exit code", async () => {
    server = await startFakeServer({
      ws: (ws) => ws.on('message', () => ws.send(JSON.stringify({ type: 'error', error: { code: 'NOT_FOUND', message: 'No workspace demo.' } }))),
    });
    const run = await runBerth(['ws', 'exec', 'demo', '--', 'ls'], { env: { BERTH_SERVER: server.url, BERTH_TOKEN: 't' } });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe('error: NOT_FOUND: No workspace demo.\n');
  });
});
