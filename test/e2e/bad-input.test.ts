/**
 * Bad input through the CLI and the API: each mistake gets its stable code, a sentence, the
 * field it concerns, and leaves nothing half-made behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorSchema } from '../../src/api/index.js';
import { dockerLeftovers, runCli, TestServer, uniqueName } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  await server.destroy();
});

describe('bad input', () => {
  it('unknown workspace → NOT_FOUND', async () => {
    for (const args of [['ws', 'show', 'nope'], ['ws', 'start', 'nope'], ['ws', 'rm', 'nope'], ['ws', 'exec', 'nope', '--', 'true']]) {
      const r = await server.cli(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/NOT_FOUND: No workspace named nope/);
    }
  });

  it('duplicate name → ALREADY_EXISTS', async () => {
    const name = uniqueName('dup');
    expect((await server.cli(['ws', 'create', name])).code).toBe(0);
    const again = await server.cli(['ws', 'create', name]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('ALREADY_EXISTS');
    expect(again.stderr).toContain('name');
    expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
  });

  it('invalid name or memory → INVALID_ARGUMENT naming the field', async () => {
    const badName = await server.cli(['ws', 'create', 'Bad_Name!']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('INVALID_ARGUMENT');
    expect(badName.stderr).toContain('name');
    const badMemory = await server.cli(['ws', 'create', uniqueName('mem'), '--memory', 'lots']);
    expect(badMemory.code).toBe(2);
    expect(badMemory.stderr).toContain('INVALID_ARGUMENT');
    expect(badMemory.stderr).toContain('memory');
    // The server validates too, whatever the client sends.
    const raw = await fetch(`${server.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ok-name', memory: '1x' }),
    });
    expect(raw.status).toBe(400);
    // Parsed with the contract's own schema: the body must be a well-formed API error.
    const body = apiErrorSchema.parse(await raw.json());
    expect(body).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'memory' });
    expect(body.message).toMatch(/memory/);
    const malformed = await fetch(`${server.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(malformed.status).toBe(400);
    expect(apiErrorSchema.parse(await malformed.json()).code).toBe('INVALID_ARGUMENT');
  });

  it('missing or wrong token → UNAUTHENTICATED', async () => {
    const none = await runCli(['ws', 'ls'], { env: { BERTH_SERVER: server.url, BERTH_TOKEN: '', BERTH_CONFIG: '/nonexistent/berth.json' } });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('UNAUTHENTICATED');
    const wrong = await server.cli(['ws', 'ls'], { env: { BERTH_TOKEN: 'berth_wrong' } });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('UNAUTHENTICATED');
    const raw = await fetch(`${server.url}/api/v1/nodes`);
    expect(raw.status).toBe(401);
    expect(apiErrorSchema.parse(await raw.json()).code).toBe('UNAUTHENTICATED');
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
  });

  it('a failed create (image that does not exist) leaves no row, container or volume', async () => {
    const name = uniqueName('noimg');
    const r = await server.cli(['ws', 'create', name, '--image', 'no-such-image']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('NOT_FOUND');
    expect(r.stderr).toContain('berth image build');
    const list = await server.json<any>(['ws', 'ls']).then((r) => r.workspaces as any[]);
    expect(list.map((w) => w.name)).not.toContain(name);
    const [node] = await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[]);
    expect(await dockerLeftovers({ node: node.id })).toEqual([]);
  });

  it('rejects a bad join-token ttl', async () => {
    const r = await server.cli(['node', 'join-token', '--ttl', 'forever']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ttl');
  });
});
