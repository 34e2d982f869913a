/**
 * Bad input through the CLI and the API: each mistake gets its stable code, a sentence, the
 * field it concerns, and leaves nothing half-made behind.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorSchema } from '../../src/api/index.js';
import { docker, dockerLeftovers, runCli, TestServer, uniqueName } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  // No registry is reachable from here, and tests talk to nothing but this machine: the node
  // answers from its own engine only, so an unknown reference is NOT_FOUND without asking one.
  server = await TestServer.start({ localAgent: true, env: { BERTH_IMAGE_PULL: 'off' } });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  await server.destroy();
});

describe('bad input', () => {
  it('unknown workspace → NOT_FOUND', async () => {
    for (const args of [
      ['ws', 'show', 'nope'],
      ['ws', 'start', 'nope'],
      ['ws', 'rm', 'nope'],
      ['ws', 'exec', 'nope', '--', 'true'],
    ]) {
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

  it('hostile images over plain HTTP answer 400/404 with field image; the server stays up and nothing is left behind', async () => {
    const [node] = await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[]);
    const berthContainers = async () => (await docker.listContainers({ all: true, filters: { label: ['berth.managed=true'] } })).map((c) => c.Id).sort();
    const berthVolumes = async () => ((await docker.listVolumes({ filters: { label: ['berth.managed=true'] } })).Volumes ?? []).map((v) => v.Name).sort();
    const engineImages = async () => (await docker.listImages({ all: true })).map((i) => i.Id).sort();
    const before = { containers: await berthContainers(), volumes: await berthVolumes(), images: await engineImages(), operations: operationCount() };

    const post = (body: unknown) =>
      fetch(`${server.url}/api/v1/workspaces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cases: Array<[string, number, string]> = [
      ['../../../etc/passwd', 400, 'INVALID_ARGUMENT'],
      ['x/../../y', 400, 'INVALID_ARGUMENT'],
      ['http://evil/', 400, 'INVALID_ARGUMENT'],
      ['base\0', 400, 'INVALID_ARGUMENT'],
      ['a\0b', 400, 'INVALID_ARGUMENT'],
      ['x'.repeat(5000), 400, 'INVALID_ARGUMENT'],
      ['%2e%2e/%2e%2e/etc/passwd', 400, 'INVALID_ARGUMENT'],
      ['x?all=1', 400, 'INVALID_ARGUMENT'],
      ['x#frag', 400, 'INVALID_ARGUMENT'],
      ['a b', 400, 'INVALID_ARGUMENT'],
      ['Ubuntu', 400, 'INVALID_ARGUMENT'],
      ['débian', 400, 'INVALID_ARGUMENT'],
      ['nosuch:latest', 404, 'NOT_FOUND'],
      ['registry.invalid:5000/team/nosuch@sha256:' + 'a'.repeat(64), 404, 'NOT_FOUND'],
      ['no-such-image', 404, 'NOT_FOUND'],
    ];
    const names: string[] = [];
    for (const [image, status, code] of cases) {
      const name = uniqueName('hostile');
      names.push(name);
      const r = await post({ name, image });
      const body = apiErrorSchema.parse(await r.json());
      expect({ image: image.slice(0, 40), status: r.status, code: body.code, field: body.field }).toEqual({
        image: image.slice(0, 40),
        status,
        code,
        field: 'image',
      });
      expect(body.message.length).toBeLessThan(600);
      const health = await fetch(`${server.url}/api/v1/health`);
      expect(health.status, `the server must survive image ${JSON.stringify(image.slice(0, 40))}`).toBe(200);
    }
    // Bodies with keys berth does not know, or out-of-range numbers, are refused too.
    for (const [body, field] of [
      [{ name: uniqueName('k'), image: 'base', env: { A: '1' } }, 'env'],
      [{ name: uniqueName('k'), cpus: 1e9 }, 'cpus'],
      [{ name: uniqueName('k'), memory: '9'.repeat(200) }, 'memory'],
    ] as const) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    }

    // Nothing was recorded, started or made: no row, no operation, no container, volume or image.
    const list = await server.json<any>(['ws', 'ls']).then((r) => (r.workspaces as any[]).map((w) => w.name));
    for (const name of names) expect(list).not.toContain(name);
    for (const name of names.slice(0, 2)) expect((await server.cli(['ws', 'show', name])).code).toBe(3);
    expect(operationCount()).toBe(before.operations);
    expect(await berthContainers()).toEqual(before.containers);
    expect(await berthVolumes()).toEqual(before.volumes);
    expect(await engineImages()).toEqual(before.images);
    expect(await dockerLeftovers({ node: node.id })).toEqual([]);
    // The node is still there, and a good create still works.
    await server.waitNodeOnline(node.name);
    const good = uniqueName('good');
    const created = await server.cli(['ws', 'create', good]);
    expect(created.code, created.stderr).toBe(0);
    expect((await server.cli(['ws', 'rm', good])).code).toBe(0);
  });

  it('the CLI refuses a hostile --image the same way, exit 2 naming the field', async () => {
    for (const image of ['../../../etc/passwd', 'http://evil/', 'x'.repeat(5000)]) {
      const r = await server.cli(['ws', 'create', uniqueName('cli'), '--image', image]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('INVALID_ARGUMENT');
      expect(r.stderr).toContain('image');
    }
    const unknown = await server.cli(['ws', 'create', uniqueName('cli'), '--image', 'nosuch:latest']);
    expect(unknown.code, unknown.stderr).toBe(3);
    expect(unknown.stderr).toContain('NOT_FOUND');
  });

  it('rejects a bad join-token ttl', async () => {
    const r = await server.cli(['node', 'join-token', '--ttl', 'forever']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ttl');
  });
});

/** Operations the server has recorded, read from its database (there is no route that lists them). */
function operationCount(): number {
  const db = new Database(join(server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM operations').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
