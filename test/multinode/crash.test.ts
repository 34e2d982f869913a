/**
 * Nothing is lost under kill -9 (docs/crash-safety.md): two machines, each with its own agent,
 * a server in its own namespace, and mixed creates and deletes fired concurrently through the
 * HTTP API while the server, then one agent, is killed with SIGKILL at a random point.
 *
 * After the server's restart on the same data dir, within 10 s: every workspace row exists
 * exactly once on its node (one container, one volume, by berth's labels in the shared Docker
 * engine), every labelled object belongs to a row of that node, no row is transitional,
 * `unknown` or `failed`, and every operation has ended, failed ones with an error that says
 * they were interrupted or rolled back. After an agent's restart: the workspaces that were
 * running keep running through it (same container, same start time), `ws exec` works within
 * 5 s of the agent reconnecting, and the same consistency holds.
 *
 * The randomness is seeded: the seed is printed, and BERTH_CRASH_SEED=N replays a run.
 */

import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, docker, Proc, waitFor } from '../e2e/harness.js';
import { type Machine, MultiNodeWorld } from './harness.js';

const SEED = Number(process.env.BERTH_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Operations per round; two rounds with a server kill each, one with an agent kill. */
const OPS_PER_ROUND = 25;
const CONCURRENCY = 6;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

let world: MultiNodeWorld;
const agents = new Map<string, Proc>();
const nodeIds = new Map<string, string>();
/** Names the server accepted a create for (some may have been rolled back since). */
const names = new Set<string>();
let counter = 0;

/** Calls the server's API as admin over HTTPS pinned to its CA; rejects when it cannot be reached. */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${world.server.url}/api/v1${path}`,
      {
        method,
        ca: world.server.caPem,
        headers: {
          authorization: `Bearer ${world.server.token}`,
          ...(data ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}),
        },
        timeout: 20_000,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

/** Starts (or restarts: the credential is kept in its state dir) the agent of a machine, inside its namespaces. */
async function startMachineAgent(m: Machine, joinToken?: string): Promise<Proc> {
  const args = [
    '-t',
    String(m.sshd.pid),
    '-m',
    '-u',
    '-n',
    '--',
    process.execPath,
    BIN,
    'agent',
    '--state-dir',
    '/var/lib/berth-agent/state',
    '--name',
    m.name,
    ...(joinToken ? ['--join-token', joinToken] : []),
  ];
  // nsenter without -p replaces itself with the agent: this child is the agent process.
  const proc = new Proc(spawn('nsenter', args, { env: { ...process.env, BERTH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  agents.set(m.name, proc);
  return proc;
}

/** Fires `count` random creates and deletes, `CONCURRENCY` at a time; calls `kill` once the `killAfter`-th has been sent. Returns how many the server accepted. */
async function fireOps(
  count: number,
  killAfter: number,
  kill: () => Promise<void>,
  opts: {
    keep?: Set<string> /** Go on sending after the kill (an agent's: the server still answers). */;
    throughKill?: boolean /** The most the kill waits after its operation was sent. */;
    maxDelayMs?: number;
  } = {},
): Promise<{ accepted: number; sent: number }> {
  const keep = opts.keep ?? new Set<string>();
  let next = 0;
  let accepted = 0;
  let killed = false;
  let killing: Promise<void> | null = null;
  const tally = new Map<string, number>();
  const worker = async () => {
    while (next < count && !(killed && !opts.throughKill)) {
      const i = next++;
      if (i === killAfter) {
        killing = (async () => {
          // A random moment later: sometimes many operations are still queued, sometimes most are done.
          await new Promise((r) => setTimeout(r, between(0, opts.maxDelayMs ?? 1000)));
          killed = true;
          await kill();
        })();
      }
      const deletable = [...names].filter((n) => !keep.has(n));
      const del = deletable.length > 0 && random() < 0.4;
      const name = del ? pick(deletable) : `c${++counter}`;
      try {
        const r = del ? await api('DELETE', `/workspaces/${name}`, {}) : await api('POST', '/workspaces', { name });
        const outcome = r.status === 202 ? 'accepted' : `${r.status} ${r.body?.code ?? ''}`;
        tally.set(`${del ? 'delete' : 'create'} ${outcome}`, (tally.get(`${del ? 'delete' : 'create'} ${outcome}`) ?? 0) + 1);
        if (r.status === 202) {
          accepted++;
          if (del) names.delete(name);
          else names.add(name);
        }
      } catch {
        // The server died under this call: what it did is for the checks to find.
      }
      await new Promise((r) => setTimeout(r, between(0, 150)));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (!killed && !killing) {
    killed = true;
    killing = kill();
  }
  await killing;
  console.log(`crash tests: answers: ${[...tally].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  return { accepted, sent: next };
}

/** An operation's error that says what a crash made of its work. */
function clearCrashError(e: { code: string; message: string }): boolean {
  if (e.code === 'CANCELLED') return true; // a delete of a workspace still being created
  if (e.code === 'UNAVAILABLE' || e.code === 'NODE_OFFLINE') return /interrupted|rolled back|finishes the delete/.test(e.message);
  return false;
}

/** Everything that is not as it should be, from the database and the Docker engine; empty when consistent. */
async function problems(): Promise<string[]> {
  const db = new Database(join(world.server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  let rows: Array<{ id: string; name: string; node_id: string; status: string; error_json: string | null }>;
  let ops: Array<{ id: string; kind: string; target: string; status: string; error_json: string | null }>;
  try {
    rows = db.prepare('select id, name, node_id, status, error_json from workspaces').all() as typeof rows;
    ops = db.prepare('select id, kind, target, status, error_json from operations').all() as typeof ops;
  } finally {
    db.close();
  }
  const out: string[] = [];
  for (const r of rows) {
    if (r.status !== 'running' && r.status !== 'stopped') out.push(`row ${r.name} is ${r.status}${r.error_json ? ` (${r.error_json})` : ''}`);
    else if (r.error_json) out.push(`row ${r.name} carries an error: ${r.error_json}`);
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const [name, nodeId] of nodeIds) {
    const filters = { label: [`berth.node=${nodeId}`] };
    const containers = await docker.listContainers({ all: true, filters });
    const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
    const count = (labels: Array<Record<string, string> | null | undefined>) => {
      const m = new Map<string, number>();
      for (const l of labels) m.set(l?.['berth.workspace'] ?? '?', (m.get(l?.['berth.workspace'] ?? '?') ?? 0) + 1);
      return m;
    };
    for (const [kind, seen] of [
      ['container', count(containers.map((c) => c.Labels))],
      ['volume', count(volumes.map((v) => v.Labels))],
    ] as const) {
      for (const [id, n] of seen) {
        const row = byId.get(id);
        if (!row || row.node_id !== nodeId) out.push(`${kind} of workspace ${id} on ${name} belongs to no row of that node`);
        else if (n !== 1) out.push(`${n} ${kind}s of ${row.name} on ${name}`);
      }
      for (const r of rows.filter((x) => x.node_id === nodeId)) if (!seen.has(r.id)) out.push(`row ${r.name} has no ${kind} on ${name}`);
    }
  }
  for (const op of ops) {
    if (op.status === 'running') out.push(`operation ${op.kind} ${op.target} still running`);
    if (op.status === 'failed') {
      const e = JSON.parse(op.error_json ?? '{}');
      if (!clearCrashError(e)) out.push(`operation ${op.kind} ${op.target} failed unclearly: ${e.code}: ${e.message}`);
    }
  }
  return out;
}

/** How the operations of the run ended so far, by status and error code (for the log). */
function outcomes(): string {
  const db = new Database(join(world.server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare("select kind, status, json_extract(error_json, '$.code') as code, count(*) as n from operations group by 1, 2, 3 order by 1, 2, 3")
      .all() as Array<{ kind: string; status: string; code: string | null; n: number }>;
    return rows.map((r) => `${r.kind} ${r.status}${r.code ? ` ${r.code}` : ''}: ${r.n}`).join(', ');
  } finally {
    db.close();
  }
}

/** Counts rows of the server's database (read-only, beside the running server). */
function count(query: string): number {
  const db = new Database(join(world.server.dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(query).get() as { n: number }).n;
  } finally {
    db.close();
  }
}
const RUNNING_OPS = "select count(*) as n from operations where status = 'running' and kind like 'workspace.%'";
const INTERRUPTED_OPS = "select count(*) as n from operations where json_extract(error_json, '$.code') = 'UNAVAILABLE'";

/** Waits until problems() is empty, failing with the last list after `ms` from `since`. */
async function consistentWithin(since: number, ms: number, what: string): Promise<number> {
  let last: string[] = [];
  while (Date.now() - since < ms) {
    last = await problems().catch((err: Error) => [`could not check: ${err.message}`]);
    if (last.length === 0) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not consistent ${ms} ms after (seed ${SEED}):\n${last.join('\n')}`);
}

beforeAll(async () => {
  console.log(`crash tests: seed ${SEED} (replay with BERTH_CRASH_SEED=${SEED})`);
  world = await MultiNodeWorld.create([{ name: 'm1' }, { name: 'm2' }], { serverArgs: ['--reap-grace', '5s'] });
  for (const m of world.machines) {
    const { joinToken } = await world.server.json<{ joinToken: string }>(['node', 'join-token', '--ttl', '10m']);
    await startMachineAgent(m, joinToken);
    nodeIds.set(m.name, (await world.server.waitNodeOnline(m.name, 60_000)).id);
  }
  const build = await world.server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'm1']);
  if (build.code !== 0) throw new Error(`image build failed: ${build.stderr}`);
}, 180_000);

afterAll(async () => {
  // Every workspace goes through berth, in parallel (the harness's own cleanup is one by one).
  if (world && world.server.proc.child.exitCode === null) {
    const list = await api('GET', '/workspaces').catch(() => null);
    const answers = await Promise.all(
      (list?.body?.workspaces ?? []).map((w: { name: string }) =>
        api('DELETE', `/workspaces/${w.name}`, {}).catch((err: Error) => ({ status: 0, body: err.message })),
      ),
    );
    const refused = answers.filter((a) => a.status !== 202);
    if (refused.length) console.error(`crash tests cleanup: deletes refused: ${JSON.stringify(refused)}`);
    await waitFor('every workspace deleted', async () => (await api('GET', '/workspaces')).body.workspaces.length === 0, 60_000, 500).catch((err: Error) =>
      console.error(`crash tests cleanup: ${err.message}`),
    );
  }
  for (const a of agents.values()) await a.stop('SIGKILL');
  await world?.destroy();
}, 180_000);

describe('kill -9 during mixed creates and deletes', () => {
  it('of the server: after each restart on the same data, everything is consistent within 10 s', async () => {
    for (let round = 1; round <= 2; round++) {
      const killAfter = between(Math.floor(OPS_PER_ROUND * 0.4), Math.floor(OPS_PER_ROUND * 0.8));
      let restartedAt = 0;
      const interruptedBefore = count(INTERRUPTED_OPS);
      let inFlight = 0;
      const { accepted, sent } = await fireOps(
        OPS_PER_ROUND,
        killAfter,
        async () => {
          // The kill lands while the server runs workspace operations (however fast the
          // machine is today), so there is always work to cut off.
          if (count(RUNNING_OPS) === 0) {
            // Everything sent has finished already: one more create, to be cut off.
            const name = `c${++counter}`;
            if ((await api('POST', '/workspaces', { name })).status === 202) names.add(name);
          }
          inFlight = await waitFor('a workspace operation running', async () => count(RUNNING_OPS), 10_000, 10);
          await world.server.proc.stop('SIGKILL');
          await world.server.restart();
          restartedAt = Date.now();
        },
        { maxDelayMs: 600 },
      );
      const took = await consistentWithin(restartedAt, 10_000, `server kill, round ${round}`);
      // Those operations were cut off, and say so (consistentWithin checked their messages).
      expect(count(INTERRUPTED_OPS) - interruptedBefore).toBeGreaterThanOrEqual(1);
      console.log(`crash tests: round ${round}: ${inFlight} workspace operation(s) running at the kill`);
      console.log(
        `crash tests: round ${round}: ${sent} operations sent, ${accepted} accepted, server killed after the ${killAfter + 1}th; consistent ${took} ms after the restart; operations so far: ${outcomes()}`,
      );
    }
    const live = (await api('GET', '/workspaces')).body.workspaces;
    expect(live.every((w: { status: string }) => w.status === 'running')).toBe(true);
  }, 90_000);

  it('of an agent: its running workspaces live through it, are re-adopted within 5 s of its reconnect, and everything is consistent', async () => {
    const m1 = world.machine('m1');
    // Two running workspaces on m1 that the storm leaves alone.
    const steady = ['steady1', 'steady2'];
    for (const name of steady) {
      const r = await api('POST', '/workspaces', { name, node: 'm1' });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
    }
    await waitFor(
      'steady workspaces running',
      async () => {
        const ws = (await api('GET', '/workspaces')).body.workspaces as Array<{ name: string; status: string }>;
        return steady.every((n) => ws.find((w) => w.name === n)?.status === 'running');
      },
      60_000,
      250,
    );
    const containerOf = async (name: string) => {
      const ws = (await api('GET', `/workspaces/${name}`)).body;
      const [c] = await docker.listContainers({ all: true, filters: { label: [`berth.workspace=${ws.id}`] } });
      const info = await docker.getContainer(c!.Id).inspect();
      return { id: info.Id, startedAt: info.State.StartedAt, running: info.State.Running };
    };
    const before = await Promise.all(steady.map(containerOf));

    /** Exec in every steady workspace through the new agent: true when all answer. */
    const execWorks = async () => {
      for (const name of steady) {
        const r = await world.server.cli(['ws', 'exec', name, '--', 'echo', `alive-${name}`]);
        if (r.code !== 0 || r.stdout.trim() !== `alive-${name}`) return false;
      }
      return true;
    };
    // Watched from the agent's restart on, while the storm goes on: when it reconnects, and
    // when exec works again through it.
    let readopted: Promise<{ reconnectedAt: number; reachableAt: number }> | null = null;
    const killAfter = between(Math.floor(OPS_PER_ROUND * 0.3), OPS_PER_ROUND - 1);
    const { accepted, sent } = await fireOps(
      OPS_PER_ROUND,
      killAfter,
      async () => {
        await agents.get('m1')!.stop('SIGKILL');
        await new Promise((r) => setTimeout(r, between(200, 1500)));
        const proc = await startMachineAgent(m1);
        readopted = (async () => {
          const reconnectedAt = await waitFor(
            'm1 agent reconnect',
            async () => (proc.output.includes('connected to the server') ? Date.now() : undefined),
            30_000,
            50,
          );
          const reachableAt = await waitFor('exec in the steady workspaces', async () => ((await execWorks()) ? Date.now() : undefined), 5_000, 100);
          return { reconnectedAt, reachableAt };
        })();
        readopted.catch(() => {});
      },
      { keep: new Set(steady), throughKill: true, maxDelayMs: 2000 },
    );
    expect(readopted).not.toBeNull();
    const { reconnectedAt, reachableAt } = await readopted!;
    // Re-adopted: exec works through the new agent within 5 s of its reconnect, on the same
    // containers, never restarted.
    expect(reachableAt - reconnectedAt).toBeLessThanOrEqual(5_000);
    expect(await Promise.all(steady.map(containerOf))).toEqual(before);
    expect(before.every((c) => c.running)).toBe(true);
    const took = await consistentWithin(reconnectedAt, 15_000, 'agent kill');
    console.log(
      `crash tests: agent round: ${sent} operations sent, ${accepted} accepted, m1's agent killed after the ${killAfter + 1}th; consistent ${took} ms after its reconnect; operations so far: ${outcomes()}`,
    );
  }, 90_000);
});
