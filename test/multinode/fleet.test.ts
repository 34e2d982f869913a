/**
 * The fleet over a real network (issue 10's multi-machine tests): one server in its own
 * namespace serving HTTPS with its own CA, two machines added with `berth node add` over SSH
 * whose agents join over TLS pinning that CA, and the CLI on this host pinning it too. In order, sharing one world so the destructive steps come
 * last: TLS and pinning, placement across the machines, every workspace command on a remote
 * node (the SSH gateway included), failure detection (link down, 1% packet loss), then drain
 * and `node rm`. The Docker engine is shared by the machines, so containers are counted by
 * berth's labels (berth.workspace, berth.node).
 */

import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConnectString, parseConnectString } from '../../src/api/index.js';
import { BIN, type CliResult, docker, dockerLeftovers, getJson, runCli, runProgram, waitFor } from '../e2e/harness.js';
import { type Machine, MultiNodeWorld, removeDockerObjectsOf } from './harness.js';

let world: MultiNodeWorld;
let m1: Machine;
let m2: Machine;

/** The failure-detection timing of this world: production's 5 s heartbeat and 15 s TTL; see the link-down test for the grace. */
const HEARTBEAT_MS = 5000;
const TTL = '15s';
const GRACE = '2s';

/** Runs the CLI as admin and fails with its output when it exits non-zero. */
async function ok(args: string[]): Promise<CliResult> {
  const r = await world.server.cli(args);
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

const ws = (name: string) => world.server.json(['ws', 'show', name]);
const nodes = async () => (await world.server.json<{ nodes: any[] }>(['node', 'ls'])).nodes;

/** Join tokens not used yet, straight from the server's database. */
function unusedJoinTokens(): number {
  const db = new Database(join(world.server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select count(*) as n from join_tokens where used_at is null').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The supervised agent's log on a machine (where `node add` puts it without systemd). */
async function agentLog(m: Machine): Promise<string> {
  return (await m.run('cat /var/lib/berth-agent/agent.log')).stdout;
}

/** Containers in the shared engine labelled for this workspace id, with their state. */
async function containersOf(workspaceId: string): Promise<string[]> {
  return (await docker.listContainers({ all: true, filters: { label: [`berth.workspace=${workspaceId}`] } })).map((c) => c.State);
}

/** How many containers the shared engine holds for a node id. */
async function containerCountOfNode(nodeId: string): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`berth.node=${nodeId}`] } })).length;
}

beforeAll(async () => {
  world = await MultiNodeWorld.create([{ name: 'm1' }, { name: 'm2' }], {
    serverEnv: { BERTH_HEARTBEAT_MS: String(HEARTBEAT_MS) },
    serverArgs: ['--node-ttl', TTL, '--node-grace', GRACE],
    sshGateway: true,
  });
  m1 = world.machine('m1');
  m2 = world.machine('m2');
}, 120_000);

afterAll(async () => {
  await world?.destroy();
}, 120_000);

describe('a fleet of two machines over TLS', () => {
  it('pins the CA at login, refuses a join token with an altered fingerprint leaving nothing, and adds both machines over SSH, joined over TLS', async () => {
    expect(world.server.url).toMatch(/^https:\/\//);
    // berth login with the fingerprint, into a config of its own: the CLI keeps the CA and uses it.
    const config = join(world.dir, 'login.json');
    const asLoggedIn = { BERTH_CONFIG: config, BERTH_SERVER: '', BERTH_TOKEN: '', BERTH_CA_FINGERPRINT: '' };
    const login = await runCli(['login', world.server.url, '--token', world.server.token, '--fingerprint', world.server.caFingerprint], { env: asLoggedIn });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout + login.stderr).toContain(world.server.caFingerprint);
    const wrongPin = await runCli(['login', world.server.url, '--token', world.server.token, '--fingerprint', `sha256:${'0'.repeat(64)}`], {
      env: { ...asLoggedIn, BERTH_CONFIG: join(world.dir, 'wrong.json') },
    });
    expect(wrongPin.code).not.toBe(0);
    expect(wrongPin.stderr).toContain(world.server.caFingerprint);
    expect(existsSync(join(world.dir, 'wrong.json'))).toBe(false);
    const minted = await runCli(['node', 'join-token', '--ttl', '10m', '--json'], { env: asLoggedIn });
    expect(minted.code, minted.stderr).toBe(0);
    const token: string = JSON.parse(minted.stdout).joinToken;
    const parsed = parseConnectString(token, 'join', 'joinToken');
    expect(parsed).toMatchObject({ server: world.server.url, fingerprint: world.server.caFingerprint });

    // The same secret and URL, one hex digit of the fingerprint changed.
    const last = parsed.fingerprint!.slice(-1);
    const altered = formatConnectString({ ...parsed, fingerprint: parsed.fingerprint!.slice(0, -1) + (last === '0' ? '1' : '0') });
    const refused = await m1.run(
      `${process.execPath} ${BIN} agent --join-token '${altered}' --name m1; echo "exit=$?"; find /var/lib/berth-agent -type f`,
      60_000,
    );
    expect(refused.stdout + refused.stderr).toContain('FAILED_PRECONDITION');
    expect(refused.stderr).toContain(world.server.caFingerprint);
    // No credential and no CA were saved on the machine (the agent's state dir holds no file).
    expect(refused.stdout).toMatch(/^exit=[1-9]\d*\n$/);
    expect(await nodes()).toEqual([]);
    // The agent checked the CA before sending anything: the token is still unused.
    expect(unusedJoinTokens()).toBe(1);

    // berth node add over SSH: the server mints each machine a one-string token with its CA's
    // fingerprint, and the agent joins the https URL pinning it (its log says so).
    for (const m of [m1, m2]) {
      const add = await world.nodeAdd(m, ['--name', m.name]);
      expect(add.code, add.stderr + add.stdout).toBe(0);
      expect(add.stdout).toContain(`Node ${m.name} is online`);
      console.log(`fleet: berth node add ${m.name} → online in ${add.seconds.toFixed(1)} s`);
      const node = await world.server.waitNodeOnline(m.name, 30_000);
      expect(node.providers.find((p: { kind: string }) => p.kind === 'docker').usable).toBe(true);
      const log = await agentLog(m);
      expect(log).toMatch(/"tls":true.*joined the server|joined the server.*"tls":true/);
      expect(log).toContain(world.server.url);
    }

    // From a machine's namespace, the API port speaks only TLS: plain HTTP gets no HTTP answer,
    // while HTTPS verified against the CA does, from the same place.
    const caFile = join(world.dir, 'ca.pem');
    await writeFile(caFile, world.server.caPem);
    const plain = await m2.run(`curl -s -o /dev/null -m 5 -w '%{http_code}' http://${world.subnet}.1:7080/api/v1/health; echo " exit=$?"`);
    expect(plain.stdout).toMatch(/^000 exit=[1-9]\d*$/m);
    const tls = await m2.run(`curl -s -o /dev/null -m 5 -w '%{http_code}' --cacert ${caFile} https://${world.subnet}.1:7080/api/v1/health; echo " exit=$?"`);
    expect(tls.stdout.trim()).toBe('200 exit=0');
  }, 120_000);

  it('places workspaces across the machines: spread, constraints, cordon, and the no-fit error naming both nodes', async () => {
    await ok(['image', 'build', 'base', '--from', 'busybox', '--node', 'm1']);
    const made: string[] = [];
    const create = async (name: string, args: string[] = []) => {
      await ok(['ws', 'create', name, ...args]);
      made.push(name);
      return (await ws(name)).nodeName as string;
    };
    // Spread: two workspaces without --node, on an empty fleet, land on different machines.
    expect(new Set([await create('p1'), await create('p2')])).toEqual(new Set(['m1', 'm2']));

    await ok(['node', 'label', 'm2', 'disk=ssd']);
    expect((await world.server.node('m2')).labels).toEqual({ disk: 'ssd' });
    expect(await create('p3', ['--constraint', 'disk=ssd'])).toBe('m2');
    expect(await create('p4', ['--constraint', 'disk!=ssd'])).toBe('m1');

    // Cordoned, m1 gets nothing, though spread would pick it for the second of these.
    await ok(['node', 'cordon', 'm1']);
    expect((await world.server.node('m1')).cordoned).toBe(true);
    expect(await create('c1')).toBe('m2');
    expect(await create('c2')).toBe('m2');
    const pinned = await world.server.cli(['ws', 'create', 'c3', '--node', 'm1']);
    expect(pinned.code).toBe(5);
    expect(pinned.stderr).toContain('cordoned');
    await ok(['node', 'uncordon', 'm1']);

    // More memory than either machine has: NO_NODE_AVAILABLE naming each node and why.
    const big = await world.server.cli(['ws', 'create', 'big', '--memory', '4096g']);
    expect(big.code, big.stderr).toBe(6);
    expect(big.stderr).toContain('NO_NODE_AVAILABLE');
    expect(big.stderr).toMatch(/m1: has too little room: 4096 GiB memory asked/);
    expect(big.stderr).toMatch(/m2: has too little room: 4096 GiB memory asked/);
    const names = (await world.server.json<{ workspaces: any[] }>(['ws', 'ls'])).workspaces.map((w) => w.name).sort();
    expect(names).toEqual([...made].sort());

    const ids = await Promise.all(made.map(async (n) => (await ws(n)).id as string));
    for (const name of made) await ok(['ws', 'rm', name]);
    for (const id of ids) expect(await dockerLeftovers(id)).toEqual([]);
  }, 180_000);

  it('runs every workspace command on a remote node as on a local one: create, exec, stop, start, ssh through the gateway, rm', async () => {
    await ok(['ws', 'create', 'r1', '--node', 'm2']);
    const shown = await ws('r1');
    expect(shown).toMatchObject({ nodeName: 'm2', status: 'running' });
    expect(await containersOf(shown.id)).toEqual(['running']);

    const exec = await world.server.cli(['ws', 'exec', 'r1', '--', 'sh', '-c', 'echo out; echo err >&2; echo kept > /root/note; exit 7']);
    expect(exec.code).toBe(7);
    expect(exec.stdout).toBe('out\n');
    expect(exec.stderr).toContain('err');

    await ok(['ws', 'stop', 'r1']);
    expect((await ws('r1')).status).toBe('stopped');
    expect(await containersOf(shown.id)).toEqual(['exited']);
    await ok(['ws', 'start', 'r1']);
    expect((await ws('r1')).status).toBe('running');
    const again = await world.server.cli(['ws', 'exec', 'r1', '--', 'cat', '/root/note']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('kept\n');

    // ssh through the gateway in the server's namespace: `berth ssh` (the real ssh client, the
    // gateway's host key pinned from the TLS-pinned API), then plain ssh with what it pinned.
    const home = await mkdtemp(join(tmpdir(), 'berth-fleet-home-'));
    const env = { HOME: home };
    const gen = await world.server.cli(['ssh-key', 'generate'], { env });
    expect(gen.code, gen.stderr).toBe(0);
    const viaBerth = await world.server.cli(['ssh', 'r1', '--', 'cat /root/note; exit 3'], { env });
    expect(viaBerth.code, viaBerth.stderr).toBe(3);
    expect(viaBerth.stdout).toBe('kept\n');
    const gw = (await getJson(`${world.server.url}/api/v1/gateway`, world.server.caPem, { authorization: `Bearer ${world.server.token}` })).body.ssh;
    expect(gw).toMatchObject({ host: `${world.subnet}.1`, port: 2222 });
    const plain = await runProgram('ssh', [
      '-F',
      '/dev/null',
      '-i',
      join(home, '.ssh', 'berth_ed25519'),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${join(home, '.config', 'berth', 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-p',
      String(gw.port),
      `r1@${gw.host}`,
      'hostname >/dev/null && echo via-gateway',
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('via-gateway\n');

    await ok(['ws', 'rm', 'r1']);
    expect(await dockerLeftovers(shown.id)).toEqual([]);
    expect((await world.server.json<{ workspaces: any[] }>(['ws', 'ls'])).workspaces).toEqual([]);
  }, 180_000);

  it('marks a cut-off machine offline within 20 s with its workspaces unknown, and reconciles it on return: nothing lost, nothing duplicated', async () => {
    await ok(['ws', 'create', 'f1', '--node', 'm1']);
    await ok(['ws', 'create', 'f2', '--node', 'm2']);
    await ok(['ws', 'exec', 'f2', '--', 'sh', '-c', 'echo before > /root/mark']);
    const f1 = await ws('f1');
    const f2 = await ws('f2');

    // The bound is 20 s from the link going down. The node turns offline after TTL + grace
    // (15 s + 2 s here) of silence, counted from the last heartbeat (up to one 5 s interval
    // before the cut) and seen by the next 1 s check: at most 17 s + 1 s after the cut.
    m2.linkDown();
    const cut = Date.now();
    let offlineAfterMs = 0;
    const m1Statuses = new Set<string>();
    try {
      // `node ls` computes a node's status as it is asked; the workspaces are fenced by the
      // server's next 1 s check, so both are awaited within the same bound.
      await waitFor(
        'm2 offline and f2 unknown',
        async () => {
          const [all, f2now] = await Promise.all([nodes(), ws('f2')]);
          m1Statuses.add(all.find((n) => n.name === 'm1').status);
          return all.find((n) => n.name === 'm2').status === 'offline' && f2now.status === 'unknown';
        },
        20_000,
        250,
      );
      offlineAfterMs = Date.now() - cut;
      // The other machine stayed online all along, its workspace running.
      expect([...m1Statuses]).toEqual(['online']);
      expect((await ws('f1')).status).toBe('running');
      const refused = await world.server.cli(['ws', 'exec', 'f2', '--', 'true']);
      expect(refused.code).toBe(6);
      expect(refused.stderr).toContain('NODE_OFFLINE');
    } finally {
      m2.linkUp();
    }
    console.log(`fleet: m2 offline (workspace unknown) ${(offlineAfterMs / 1000).toFixed(1)} s after its link went down`);

    await world.server.waitNodeOnline('m2', 60_000);
    await waitFor('f2 running again', async () => (await ws('f2')).status === 'running', 30_000);
    const back = await world.server.cli(['ws', 'exec', 'f2', '--', 'cat', '/root/mark']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('before\n');
    expect((await world.server.json<{ workspaces: any[] }>(['ws', 'ls'])).workspaces.map((w) => w.name).sort()).toEqual(['f1', 'f2']);
    expect(await containersOf(f1.id)).toEqual(['running']);
    expect(await containersOf(f2.id)).toEqual(['running']);
    expect(await containerCountOfNode(f1.nodeId)).toBe(1);
    expect(await containerCountOfNode(f2.nodeId)).toBe(1);
  }, 180_000);

  it("never marks a node offline with 1% packet loss on both machines' links over 35 s of heartbeats", async () => {
    for (const m of [m1, m2]) await world.server.waitNodeOnline(m.name, 60_000);
    for (const m of [m1, m2]) m.dropPackets(0.01);
    const seen: string[] = [];
    // Traffic over the links while the loss applies (an HTTPS request every 10 ms from each
    // machine to the server), so the counters below prove packets really were dropped.
    const caFile = join(world.dir, 'ca.pem');
    const traffic = `const end = Date.now() + 35000; (async () => { while (Date.now() < end) { await fetch('${world.server.url}/api/v1/health').then((r) => r.text(), () => {}); await new Promise((r) => setTimeout(r, 10)); } })()`;
    const load = [m1, m2].map((m) => m.run(`NODE_EXTRA_CA_CERTS=${caFile} ${process.execPath} -e "${traffic}"`, 60_000));
    try {
      const until = Date.now() + 35_000;
      while (Date.now() < until) {
        const started = Date.now();
        for (const n of await nodes()) {
          if (n.status !== 'online') seen.push(`${n.name} ${n.status} at ${new Date().toISOString()}`);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
      await Promise.all(load);
      const counters = await runProgram('ip', ['netns', 'exec', m1.netNs, 'iptables', '-L', 'FORWARD', '-v', '-x', '-n']);
      const dropped = counters.stdout
        .split('\n')
        .filter((l) => l.includes('berth-drop-'))
        .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
      console.log(`fleet: ${dropped} packets dropped on the machines' links during the 35 s window`);
      expect(dropped).toBeGreaterThan(0);
    } finally {
      for (const m of [m1, m2]) m.clearDrops();
    }
    expect(seen).toEqual([]);
  }, 120_000);

  it('drains a machine (cordoned, its workspace stopped), and node rm revokes it: its agent is refused, restarted or not', async () => {
    const f1 = await ws('f1');
    const drain = await world.server.cli(['node', 'drain', 'm1']);
    expect(drain.code, drain.stderr).toBe(0);
    expect((await world.server.node('m1')).cordoned).toBe(true);
    expect((await ws('f1')).status).toBe('stopped');
    expect(await containersOf(f1.id)).toEqual(['exited']);

    const refused = await world.server.cli(['node', 'rm', 'm1']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('f1');
    const rm = await world.server.cli(['node', 'rm', 'm1', '--force']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain('credential is revoked');
    expect((await nodes()).map((n) => n.name)).toEqual(['m2']);

    // Without --identity nothing is uninstalled, so the revocation itself is what stops the
    // agent: it exits saying its credential is no longer accepted, and each restart by its
    // supervisor (with the credential it kept) is refused the same way.
    const refusals = async () => (await agentLog(m1)).split('\n').filter((l) => l.includes('credential is no longer accepted')).length;
    await waitFor('the m1 agent refused twice (once more after a restart)', async () => (await refusals()) >= 2, 30_000, 500);
    expect((await nodes()).map((n) => n.name)).toEqual(['m2']);
    // What `--force` left on that machine is its admin's to remove; here, the shared engine's.
    await removeDockerObjectsOf(f1.nodeId);
    expect(await (await world.server.node('m2')).status).toBe('online');
  }, 120_000);
});
