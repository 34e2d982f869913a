/**
 * `berth node add` over SSH against machines made of network namespaces (harness.ts): two
 * machines join through the CLI and run workspaces, a re-add upgrades in place, a host without
 * Node and an agent that cannot reach the server fail and leave nothing, a wrong host key is
 * refused, the supervisor restarts a dead agent, a node whose link goes down comes back, and
 * `node rm --identity` uninstalls the agent. The server serves TLS, and agents pin its CA.
 */

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, ROOT, waitFor } from '../e2e/harness.js';
import { type Machine, MultiNodeWorld } from './harness.js';
import { namespacePids } from './netns.js';

let world: MultiNodeWorld;
let m1: Machine;
let m2: Machine;

/** Unused join tokens and the node rows, straight from the server's database. */
function dbCounts(): { unusedTokens: number; nodes: number } {
  const db = new Database(join(world.server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    const unusedTokens = (db.prepare('select count(*) as n from join_tokens where used_at is null').get() as { n: number }).n;
    const nodes = (db.prepare('select count(*) as n from nodes').get() as { n: number }).n;
    return { unusedTokens, nodes };
  } finally {
    db.close();
  }
}

/** What berth could have left on a machine: files in its dirs, and agent or launcher processes in its namespace. */
async function leftovers(m: Machine): Promise<string[]> {
  const files = (await m.run('ls -A /opt/berth /var/lib/berth-agent')).stdout.split('\n').filter((l) => l && !l.endsWith(':'));
  const processes = namespacePids(m.ns)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => cmd.includes('berth-agent'));
  return [...files, ...processes];
}

beforeAll(async () => {
  world = await MultiNodeWorld.create([{ name: 'm1' }, { name: 'm2' }, { name: 'nonode', withoutNode: true }, { name: 'm3' }], {
    // The unreachable-server case below should fail in seconds, not a minute.
    serverEnv: { BERTH_NODE_ADD_TIMEOUT_MS: '15000' },
  });
  m1 = world.machine('m1');
  m2 = world.machine('m2');
});

afterAll(async () => {
  await world?.destroy();
});

describe('the harness', () => {
  it('gives each machine its own address, host name and private berth dirs', async () => {
    await m1.run('echo one > /opt/berth/probe');
    expect((await m1.run('cat /opt/berth/probe; hostname; ip -4 -o addr show eth0')).stdout).toMatch(
      new RegExp(`^one\\n${m1.hostname}\\n.*${m1.address.replace(/\./g, '\\.')}/24`, 's'),
    );
    expect((await m2.run('ls -A /opt/berth; hostname')).stdout.trim()).toBe(m2.hostname);
    await m1.run('rm /opt/berth/probe');
    // The machines reach each other and the server over the bridge.
    expect((await m2.run(`timeout 3 bash -c '</dev/tcp/${m1.address}/22' && echo reachable`)).stdout.trim()).toBe('reachable');
    expect((await m2.run(`timeout 3 bash -c '</dev/tcp/${world.subnet}.1/7080' && echo reachable`)).stdout.trim()).toBe('reachable');
  });
});

describe('berth node add over SSH', () => {
  it('adds two machines, each online, showing the host key it accepted', async () => {
    for (const m of [m1, m2]) {
      const r = await world.nodeAdd(m, ['--name', m.name, '--label', `machine=${m.name}`]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      // Accepted on first use and shown, so the admin can compare it with the machine's.
      expect(r.stdout).toContain(m.hostFingerprint);
      expect(r.stdout).toContain(`Node ${m.name} is online`);
      // Speed is the benchmarks' business (docs/performance.md); the figure is printed for it.
      console.log(`multinode: berth node add ${m.target} → online in ${r.seconds.toFixed(1)} s`);
    }
    for (const m of [m1, m2]) {
      const node = await world.server.waitNodeOnline(m.name);
      expect(node.providers.find((p: { kind: string }) => p.kind === 'docker').usable).toBe(true);
      // Inside a machine's namespace LXC has no cgroups (`ip netns exec` mounts a fresh /sys)
      // and no lxcbr0: the agent reports it unusable with the reason, and runs on.
      const lxc = node.providers.find((p: { kind: string }) => p.kind === 'lxc');
      expect(lxc.usable).toBe(false);
      expect(lxc.reason).toMatch(/cgroup|lxcbr0|bridge/);
    }
    // The token was passed in a file and is gone once used; nothing holds it on a command line.
    expect((await m1.run('ls -A /var/lib/berth-agent; ps -eo args | grep -c bjoin_ || true')).stdout).not.toMatch(/join-token/);
    expect(dbCounts().unusedTokens).toBe(0);
  });

  it('runs a workspace on each machine, and ws exec reaches it', async () => {
    const build = await world.server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'm1']);
    expect(build.code, build.stderr).toBe(0);
    for (const m of [m1, m2]) {
      const create = await world.server.cli(['ws', 'create', `ws-${m.name}`, '--node', m.name]);
      expect(create.code, create.stderr + create.stdout).toBe(0);
      const shown = await world.server.json(['ws', 'show', `ws-${m.name}`]);
      expect(shown.nodeName).toBe(m.name);
      expect(shown.status).toBe('running');
      const exec = await world.server.cli(['ws', 'exec', `ws-${m.name}`, '--', 'sh', '-c', 'echo hello from $0', m.name]);
      expect(exec.code, exec.stderr).toBe(0);
      expect(exec.stdout.trim()).toBe(`hello from ${m.name}`);
      // The agent installed over SSH shipped berth-in and put it into the workspace.
      const helper = await world.server.cli(['ws', 'exec', `ws-${m.name}`, '--', '/.berth/bin/berth-in', 'version']);
      expect(helper.code, helper.stderr).toBe(0);
      expect(helper.stdout.trim()).toBe(readFileSync(join(ROOT, 'dist/native/berth-in.version'), 'utf8').trim());
    }
  });

  it('upgrades a joined machine in place: same node, new agent process, still online', async () => {
    const before = await world.server.node('m1');
    const pidBefore = (await m1.run('cat /var/lib/berth-agent/supervisor.pid')).stdout.trim();
    const r = await world.nodeAdd(m1);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('Upgrading node m1 in place');
    expect(r.stdout).toContain('matches the pinned key');
    const after = await world.server.waitNodeOnline('m1');
    expect(after.id).toBe(before.id);
    expect((await m1.run('cat /var/lib/berth-agent/supervisor.pid')).stdout.trim()).not.toBe(pidBefore);
    expect((await world.server.json(['node', 'ls'])).nodes).toHaveLength(2);
    const exec = await world.server.cli(['ws', 'exec', 'ws-m1', '--', 'true']);
    expect(exec.code, exec.stderr).toBe(0);
  });

  it('puts the previous agent back when an upgrade fails', async () => {
    const conf = (await m1.run('cat /opt/berth/agent.conf')).stdout;
    // The upgraded agent is told a server URL where nothing listens, so it never reconnects.
    const r = await world.nodeAdd(m1, ['--server-url', `http://${world.subnet}.250:7080`]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('did not reconnect');
    expect(r.stdout).toContain('putting the previous agent back');
    expect((await m1.run('cat /opt/berth/agent.conf; ls /opt/berth')).stdout).toBe(
      conf + 'agent.conf\nberth-agent-launcher\nberth-agent.mjs\nberth-agent.mjs.map\nnative\n',
    );
    await world.server.waitNodeOnline('m1', 30_000);
    // `online` covers the brief redial after an agent restart; the restored agent itself answers.
    await waitFor(
      'exec on ws-m1 through the restored agent',
      async () => (await world.server.cli(['ws', 'exec', 'ws-m1', '--', 'true'])).code === 0,
      30_000,
      500,
    );
  });

  it('refuses a host without Node, saying what is missing, and leaves nothing there', async () => {
    const nonode = world.machine('nonode');
    const r = await world.nodeAdd(nonode, ['--name', 'nonode']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/Node\.js ≥ 20 is not installed/);
    expect(r.stderr).toContain('Nothing was installed');
    expect(await leftovers(nonode)).toEqual([]);
    expect(dbCounts()).toEqual({ unusedTokens: 0, nodes: 2 });
  });

  it('undoes everything when the agent cannot reach the server: no files, no process, no node, no token', async () => {
    const m3 = world.machine('m3');
    // A server URL on the run's own subnet where nothing listens.
    const r = await world.nodeAdd(m3, ['--name', 'm3', '--server-url', `http://${world.subnet}.250:7080`]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('TIMEOUT');
    expect(r.stderr).toContain('did not join');
    expect(r.stdout).toContain('Removing what this add made');
    expect(await leftovers(m3)).toEqual([]);
    expect(dbCounts()).toEqual({ unusedTokens: 0, nodes: 2 });
  });

  it('can be cancelled while it waits, undoing the install like a failure', async () => {
    const m3 = world.machine('m3');
    const r = await world.nodeAdd(m3, ['--name', 'm3', '--server-url', `http://${world.subnet}.250:7080`, '--no-wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id: string = JSON.parse(r.stdout).operation.id;
    // A second add of the same machine while the first runs is refused at once, naming the first.
    const second = await world.nodeAdd(m3, ['--name', 'm3']);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`is being added already (operation ${id})`);
    const ca = readFileSync(world.server.caFile, 'utf8');
    const api = async (path: string) => (await getJson(`${world.server.url}/api/v1${path}`, ca, { authorization: `Bearer ${world.server.token}` })).body;
    await waitFor('the add to wait for the node', async () => (await api(`/operations/${id}`)).stage === 'waiting for the node to come online', 30_000);
    const cancel = await world.server.cli(['op', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('Cancelled node.add of node/m3');
    expect((await api(`/operations/${id}`)).error.code).toBe('CANCELLED');
    expect(await leftovers(m3)).toEqual([]);
    expect(dbCounts()).toEqual({ unusedTokens: 0, nodes: 2 });
  });

  it('answers --json with the operation and the node', async () => {
    const r = await world.nodeAdd(m2, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.operation).toMatchObject({ kind: 'node.add', target: 'node/m2', status: 'succeeded' });
    expect(out.node).toMatchObject({ name: 'm2', status: 'online' });
  });

  it('refuses a machine whose host key is not the one given', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const r = await world.nodeAdd(m2, ['--host-key-fingerprint', wrong]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/host key .* is not the expected one/);
    expect((await world.server.node('m2')).status).toBe('online');
  });

  it('restarts an agent that dies, without anyone logging in', async () => {
    const agentPid = async () => (await m2.run('pgrep -f "berth-agent.mjs agent" || true')).stdout.trim();
    const before = await agentPid();
    expect(before).not.toBe('');
    await m2.run('pkill -KILL -f "berth-agent.mjs agent" || true');
    // The supervisor starts a new agent, which redials well within the node's TTL, so the node
    // need not even be seen offline; what counts is a new process that serves requests.
    await waitFor(
      'a new agent process on m2',
      async () => {
        const now = await agentPid();
        return now !== '' && now !== before;
      },
      20_000,
    );
    await world.server.waitNodeOnline('m2', 30_000);
    await waitFor('exec on ws-m2 through the new agent', async () => (await world.server.cli(['ws', 'exec', 'ws-m2', '--', 'true'])).code === 0, 30_000, 500);
  });

  it("dropPackets on a machine's link loses what goes to it, and clearDrops ends that", async () => {
    const reaches = () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(22, m2.address, () => {
          socket.destroy();
          resolve(true);
        });
        socket.setTimeout(1500, () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(false));
      });
    m2.dropPackets(1);
    try {
      expect(await reaches()).toBe(false);
    } finally {
      m2.clearDrops();
    }
    expect(await reaches()).toBe(true);
  });

  it('a machine whose link goes down comes back online when it is up again', async () => {
    m2.linkDown();
    try {
      await waitFor('m2 offline with its link down', async () => (await world.server.node('m2'))?.status === 'offline', 20_000);
    } finally {
      m2.linkUp();
    }
    await world.server.waitNodeOnline('m2', 60_000);
    // Its workspace was fenced as unknown; the agent's next reports reconcile it to running.
    await waitFor('ws-m2 reconciled to running', async () => (await world.server.json(['ws', 'show', 'ws-m2'])).status === 'running', 30_000, 500);
    const exec = await world.server.cli(['ws', 'exec', 'ws-m2', '--', 'echo', 'back']);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe('back');
  });

  it('node rm --identity stops and uninstalls the agent, then revokes and removes the node', async () => {
    const rm = await world.server.cli(['ws', 'rm', 'ws-m1']);
    expect(rm.code, rm.stderr).toBe(0);
    const r = await world.server.cli(['node', 'rm', 'm1', '--identity', world.identity]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('its credential is revoked and its agent uninstalled');
    expect(await leftovers(m1)).toEqual([]);
    expect((await world.server.json(['node', 'ls'])).nodes.map((n: { name: string }) => n.name)).not.toContain('m1');
  });
});
