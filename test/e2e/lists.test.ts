/**
 * Paged, filtered lists through the CLI (`bin/berth`) against a real server with two real
 * agent processes and real Docker workspaces: pages of `ws ls --limit` cover every workspace
 * exactly once, `ws ls` without --limit shows them all, filters filter, and a bad cursor is a
 * coded error naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLeftovers, type Proc, startAgent, TestServer, uniqueName } from './harness.js';

let server: TestServer;
const agents: Proc[] = [];
const onA: string[] = [];
const onB: string[] = [];

beforeAll(async () => {
  server = await TestServer.start({ heartbeatMs: 500 });
  for (const name of ['la', 'lb']) {
    const { proc } = await startAgent(server, { name });
    agents.push(proc);
    await server.waitNodeOnline(name);
    const built = await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', name]);
    if (built.code !== 0) throw new Error(`image build on ${name} failed: ${built.stderr}`);
  }
  for (const [node, names, n] of [
    ['la', onA, 3],
    ['lb', onB, 2],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const name = uniqueName('list');
      const r = await server.cli(['ws', 'create', name, '--node', node]);
      if (r.code !== 0) throw new Error(`ws create ${name} failed: ${r.stderr}`);
      names.push(name);
    }
  }
  const stopped = await server.cli(['ws', 'stop', onA[0]!]);
  if (stopped.code !== 0) throw new Error(`ws stop failed: ${stopped.stderr}`);
}, 300_000);

afterAll(async () => {
  for (const name of [...onA, ...onB]) await server.cli(['ws', 'rm', name]);
  await server.destroy();
  for (const a of agents) await a.stop();
});

const names = (r: { workspaces?: Array<{ name: string }>; nodes?: Array<{ name: string }> }) => (r.workspaces ?? r.nodes ?? []).map((x) => x.name);

describe('paged lists through the CLI', () => {
  it('ws ls --limit pages cover every workspace exactly once, and ws ls alone shows them all', async () => {
    const all = await server.json<any>(['ws', 'ls']);
    expect(all.nextCursor).toBeNull();
    expect(names(all).sort()).toEqual([...onA, ...onB].sort());

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await server.json<any>(['ws', 'ls', '--limit', '2', ...(cursor ? ['--cursor', cursor] : [])]);
      expect(page.workspaces.length).toBeLessThanOrEqual(2);
      seen.push(...names(page));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(names(all));
    expect(new Set(seen).size).toBe(seen.length);

    // The text form of one page says how to go on.
    const text = await server.cli(['ws', 'ls', '--limit', '2']);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/berth ws ls --limit 2 --cursor c1\./);
  });

  it('filters by node, status, owner and provider', async () => {
    expect(names(await server.json<any>(['ws', 'ls', '--node', 'la'])).sort()).toEqual([...onA].sort());
    expect(names(await server.json<any>(['ws', 'ls', '--node', 'lb', '--status', 'running'])).sort()).toEqual([...onB].sort());
    expect(names(await server.json<any>(['ws', 'ls', '--status', 'stopped']))).toEqual([onA[0]]);
    expect(names(await server.json<any>(['ws', 'ls', '--owner', 'admin'])).sort()).toEqual([...onA, ...onB].sort());
    expect(names(await server.json<any>(['ws', 'ls', '--provider', 'lxc']))).toEqual([]);
    const none = await server.cli(['ws', 'ls', '--provider', 'lxc']);
    expect(none.stdout).toContain('No workspaces match.');
  });

  it('pages and filters nodes by status and label', async () => {
    expect((await server.cli(['node', 'label', 'lb', 'zone=eu'])).code).toBe(0);
    const first = await server.json<any>(['node', 'ls', '--limit', '1']);
    expect(names(first)).toEqual(['la']);
    expect(first.nodes[0].workspaces).toBe(3);
    const second = await server.json<any>(['node', 'ls', '--limit', '1', '--cursor', first.nextCursor]);
    expect(names(second)).toEqual(['lb']);
    expect(names(await server.json<any>(['node', 'ls', '--label', 'zone=eu']))).toEqual(['lb']);
    expect(names(await server.json<any>(['node', 'ls', '--label', 'zone!=eu']))).toEqual(['la']);
    expect(names(await server.json<any>(['node', 'ls', '--status', 'online']))).toEqual(['la', 'lb']);
    expect(names(await server.json<any>(['node', 'ls', '--status', 'offline']))).toEqual([]);
  });

  it('answers a bad cursor or limit with a coded error naming the field', async () => {
    const badCursor = await server.cli(['ws', 'ls', '--cursor', 'not-a-cursor', '--json']);
    expect(badCursor.code).toBe(2);
    expect(JSON.parse(badCursor.stderr).error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cursor' });
    const badLimit = await server.cli(['node', 'ls', '--limit', '5000']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/INVALID_ARGUMENT.*limit/s);
  });

  it('leaves nothing behind in Docker once the workspaces are removed', async () => {
    for (const name of [...onA, ...onB]) expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
    onA.length = 0;
    onB.length = 0;
    expect(await dockerLeftovers({ node: 'la' })).toEqual([]);
    expect(await dockerLeftovers({ node: 'lb' })).toEqual([]);
  });
});
