/**
 * Placement, cordon, labels, constraints, capacity and drain through the CLI, with two real
 * agent processes joined to one server on loopback (separate state dirs and node names; they
 * share this machine's dockerd, told apart by berth's `berth.node` labels).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, startAgent, TestServer, uniqueName } from './harness.js';

let server: TestServer;
const agents: Proc[] = [];

beforeAll(async () => {
  server = await TestServer.start({ heartbeatMs: 500 });
  for (const name of ['pa', 'pb']) {
    const { proc } = await startAgent(server, { name });
    agents.push(proc);
    await server.waitNodeOnline(name);
  }
  const built = await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'pa']);
  if (built.code !== 0) throw new Error(`image build failed: ${built.stderr}`);
}, 300_000);

afterAll(async () => {
  await server.destroy();
  for (const a of agents) await a.stop();
});

/** Creates a workspace with extra flags; returns the node it landed on. */
async function create(name: string, ...flags: string[]): Promise<string> {
  const r = await server.cli(['ws', 'create', name, ...flags, '--json']);
  if (r.code !== 0) throw new Error(`ws create ${name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout).workspace.nodeName;
}

async function removeAll(): Promise<void> {
  for (const w of (await server.json<any>(['ws', 'ls'])).workspaces) expect((await server.cli(['ws', 'rm', w.ref])).code).toBe(0);
}

describe('placement', () => {
  it('spreads two workspaces over two nodes', async () => {
    const first = await create(uniqueName('spread'));
    const second = await create(uniqueName('spread'));
    expect(new Set([first, second])).toEqual(new Set(['pa', 'pb']));
    await removeAll();
  });

  it('labels nodes, shows them, and refuses bad labels', async () => {
    expect((await server.cli(['node', 'label', 'pa', 'zone=eu', 'tier=gold'])).code).toBe(0);
    expect((await server.cli(['node', 'label', 'pa', 'tier-'])).code).toBe(0);
    const shown = await server.json<any>(['node', 'show', 'pa']);
    expect(shown.node.labels).toEqual({ zone: 'eu' });
    expect(shown.node.cordoned).toBe(false);
    expect(shown.reserved).toEqual({ cpus: 0, memoryBytes: 0 });
    const text = await server.cli(['node', 'show', 'pa']);
    expect(text.stdout).toMatch(/Labels:\s+zone=eu/);
    expect(text.stdout).toMatch(/Provider docker:\s+usable/);
    const bad = await server.cli(['node', 'label', 'pa', 'bad key=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid label');
    expect((await server.cli(['node', 'show', 'nosuch'])).code).toBe(3);
  });

  it('puts a workspace on the node whose labels match its constraints', async () => {
    expect(await create(uniqueName('eu'), '--constraint', 'zone=eu')).toBe('pa');
    expect(await create(uniqueName('noteu'), '--constraint', 'zone!=eu')).toBe('pb');
    await removeAll();
  });

  it('lists each node and why when nothing fits', async () => {
    const r = await server.cli(['ws', 'create', uniqueName('mars'), '--constraint', 'zone=mars']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('NO_NODE_AVAILABLE');
    expect(r.stderr).toMatch(/pa: does not satisfy zone=mars \(it has zone=eu\)/);
    expect(r.stderr).toMatch(/pb: does not satisfy zone=mars \(no zone label\)/);
    expect((await server.json<any>(['ws', 'ls'])).workspaces).toEqual([]);
  });

  it('keeps new workspaces off a cordoned node', async () => {
    expect((await server.cli(['node', 'cordon', 'pa'])).code).toBe(0);
    expect((await server.json<any>(['node', 'ls'])).nodes.find((n: any) => n.name === 'pa').cordoned).toBe(true);
    expect(await create(uniqueName('c'))).toBe('pb');
    expect(await create(uniqueName('c'))).toBe('pb');
    const explicit = await server.cli(['ws', 'create', uniqueName('c'), '--node', 'pa']);
    expect(explicit.code).toBe(5);
    expect(explicit.stderr).toMatch(/Node pa cannot take this workspace: it cordoned/);
    expect((await server.cli(['node', 'uncordon', 'pa'])).code).toBe(0);
    await removeAll();
  });

  it('refuses a workspace that asks for more memory than any node has free, saying so per node', async () => {
    const total = (await server.json<any>(['node', 'show', 'pa'])).node.resources.memoryBytes as number;
    const ask = `${Math.ceil(total / 1024 ** 3) + 1}g`;
    const r = await server.cli(['ws', 'create', uniqueName('big'), '--memory', ask]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/pa: has too little room: \d+ GiB memory asked/);
    expect(r.stderr).toMatch(/pb: has too little room/);
    // What a workspace reserves counts: half the memory twice fills a node.
    const half = `${Math.floor(total / 1024 ** 2 / 2)}m`;
    expect(await create(uniqueName('half'), '--memory', half, '--node', 'pa')).toBe('pa');
    expect(await create(uniqueName('half'), '--memory', half, '--node', 'pa')).toBe('pa');
    const full = await server.cli(['ws', 'create', uniqueName('half'), '--memory', half, '--node', 'pa']);
    expect(full.code).toBe(5);
    expect(full.stderr).toMatch(/too little room/);
    const shown = await server.json<any>(['node', 'show', 'pa']);
    expect(shown.reserved.memoryBytes).toBe(2 * Math.floor(total / 1024 ** 2 / 2) * 1024 ** 2);
    await removeAll();
  });
});

describe('drain', () => {
  it('cordons, fails past the deadline naming what runs, stops forcibly with --force, and drains in time', async () => {
    const ws = uniqueName('drain');
    expect(await create(ws, '--node', 'pb')).toBe('pb');

    const late = await server.cli(['node', 'drain', 'pb', '--deadline', '0s']);
    expect(late.code).toBe(5);
    expect(late.stderr).toContain(`still running on node pb: admin/${ws}`);
    expect((await server.json<any>(['node', 'show', 'pb'])).node.cordoned).toBe(true);
    expect((await server.json<any>(['ws', 'show', ws])).status).toBe('running');

    const forced = await server.cli(['node', 'drain', 'pb', '--deadline', '0s', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', ws])).status).toBe('stopped');

    expect((await server.cli(['ws', 'start', ws])).code).toBe(0);
    const drained = await server.cli(['node', 'drain', 'pb', '--json']);
    expect(drained.code, drained.stderr).toBe(0);
    expect(JSON.parse(drained.stdout).operation).toMatchObject({ kind: 'node.drain', target: 'node/pb', status: 'succeeded' });
    expect((await server.json<any>(['ws', 'show', ws])).status).toBe('stopped');
    expect((await server.json<any>(['node', 'show', 'pb'])).node.cordoned).toBe(true);
    // A cordoned, drained node gets nothing new.
    expect(await create(uniqueName('after'))).toBe('pa');
    expect((await server.cli(['node', 'uncordon', 'pb'])).code).toBe(0);
    await removeAll();
  });
});
