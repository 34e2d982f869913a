// Fleet memory per connected agent: a real `berth server --tls` and two batches of simulated
// agents (bench/fleet-agents.mjs, the real agent protocol over TLS WebSockets); after each batch
// has joined and heartbeated for 15 s, the server's mappings are read from /proc/PID/smaps. The
// growth between the batches, divided by the second batch's size, is the cost of one more
// agent, split into glibc's heap (`[heap]`: OpenSSL, Node's TLS buffers, libuv, Buffer backing
// stores) and the other anonymous mappings (V8's heap). With BENCH_SNAPSHOTS=1 the server also
// writes a heap snapshot at each point (`--heapsnapshot-signal`) and the JS objects' growth per
// agent is printed by type; snapshots allocate natively, so smaps figures of such a run are not
// comparable with one without.
//
//   npm run build
//   flock /tmp/berth-heavy.lock node bench/fleet-memory.mjs
//   env: BENCH_FIRST (500 agents), BENCH_AGENTS (1500 in all), BENCH_SNAPSHOTS (0),
//   BENCH_BERTH_ROOT (the checkout whose bin/berth runs the server; default this one)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, residentByMapping } from './lib.mjs';

const FIRST = Number(process.env.BENCH_FIRST ?? 500);
const N = Number(process.env.BENCH_AGENTS ?? 1500);
const M = N * 5;
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS === '1';
const BERTH_ROOT = process.env.BENCH_BERTH_ROOT ?? ROOT;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (!(FIRST > 0 && N > FIRST)) throw new Error('BENCH_AGENTS must be larger than BENCH_FIRST, both positive');

const dataDir = await mkdtemp(join(tmpdir(), 'berth-fleet-memory-'));
const children = [];
const cleanup = async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void cleanup().then(() => process.exit(130)));

const port = await freePort();
const server = spawn(
  'taskset',
  // As a user starts it: bin/berth gives Node the server's own flags (and NODE_OPTIONS the signal).
  ['-c', '0', join(BERTH_ROOT, 'bin/berth'), 'server', '--tls'].concat(['--listen', `127.0.0.1:${port}`, '--ssh-listen', 'off', '--data-dir', dataDir]),
  {
    cwd: dataDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      BERTH_LOG_LEVEL: 'warn',
      ...(SNAPSHOTS ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2`.trim() } : {}),
    },
  },
);
children.push(server);

/** RSS of the server's mappings in KiB: glibc's heap, other anonymous memory, and all. */
const mappings = () => residentByMapping(server.pid);

/** Resolves once the server answers GET /health. */
async function health() {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = get(`https://127.0.0.1:${port}/api/v1/health`, { ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(200);
  }
}

/** Has the server write a heap snapshot; resolves with its path once written. */
async function snapshot(label) {
  const before = new Set(readdirSync(dataDir));
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 1200; i++) {
    await sleep(500);
    const made = readdirSync(dataDir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!made) continue;
    // The snapshot is written on the server's main thread: once it answers again, the file is whole.
    await health();
    const path = join(tmpdir(), `berth-fleet-memory-${label}-${server.pid}.heapsnapshot`);
    renameSync(join(dataDir, made), path);
    return path;
  }
  throw new Error('the server wrote no heap snapshot in 10 minutes');
}

/** Self sizes and counts of a heap snapshot's objects, by type and constructor. */
function objectsByType(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]];
    const key = ['string', 'concatenated string', 'sliced string'].includes(type) ? '(strings)' : `${type} ${snap.strings[snap.nodes[i + ni]].slice(0, 50)}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + si];
    out.set(key, e);
  }
  return out;
}

let ca = null;
for (let i = 0; i < 300 && !ca; i++) {
  await sleep(100);
  ca = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8').catch(() => null);
}
if (!ca) throw new Error('the server made no CA in 30 s');
await sleep(1500);
const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
const protocolVersion = (await import(join(BERTH_ROOT, 'dist/api/index.js'))).AGENT_PROTOCOL_VERSION;

/** Joins and connects agents from..to-1 (of N); resolves with their nodes once all are welcomed. */
function batch(from, to) {
  const config = { url: `https://127.0.0.1:${port}`, ca, adminToken, from, to, total: N, workspaces: M, prefix: 'sim-', protocolVersion, joinConcurrency: 4 };
  const child = spawn('taskset', ['-c', '1', process.execPath, join(ROOT, 'bench/fleet-agents.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, FLEET_AGENTS_CONFIG: JSON.stringify(config) },
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.cmd === 'ready') child.send({ cmd: 'join' });
      else if (m.cmd === 'joined') resolve(m.nodes);
      else if (m.cmd === 'error') reject(new Error(m.message));
    });
  });
}

/** The batch's workspaces as `running` rows on its nodes, as bench/fleet-scale.mjs seeds them. */
function seed(nodes) {
  const Database = createRequire(join(BERTH_ROOT, 'package.json'))('better-sqlite3');
  const db = new Database(join(dataDir, 'berth.db'));
  db.pragma('busy_timeout = 10000');
  const owner = db.prepare("SELECT id FROM users WHERE role = 'admin' LIMIT 1").get().id;
  const insert = db.prepare(
    "INSERT INTO workspaces (id, name, owner_id, node_id, provider, image, status, cpus, memory_bytes, error_json, created_at, updated_at) VALUES (?, ?, ?, ?, 'docker', 'base', 'running', NULL, NULL, NULL, ?, ?)",
  );
  const old = new Date(Date.now() - 3600_000).toISOString();
  db.transaction(() => {
    for (const n of nodes) for (let i = n.k; i < M; i += N) insert.run(`bw-${i}`, `bws-${i}`, owner, n.id, old, old);
  })();
  db.close();
}

try {
  const points = [];
  for (const [from, to] of [
    [0, FIRST],
    [FIRST, N],
  ]) {
    seed(await batch(from, to));
    await sleep(15_000); // three heartbeats each
    points.push({ agents: to, smaps: mappings(), snapshot: SNAPSHOTS ? await snapshot(`${to}`) : null });
  }
  const [a, b] = points;
  const per = (k) => ((b.smaps[k] - a.smaps[k]) / (N - FIRST)).toFixed(1);
  console.log(`fleet-memory: ${FIRST} then ${N} agents (5 workspaces each), server pid ${server.pid} (${BERTH_ROOT})`);
  for (const p of points)
    console.log(
      `  at ${String(p.agents).padStart(6)} agents: RSS ${(p.smaps.rss / 1024).toFixed(1)} MiB ([heap] ${(p.smaps.heap / 1024).toFixed(1)}, other anonymous ${(p.smaps.anon / 1024).toFixed(1)})`,
    );
  console.log(`  per agent, between the two: RSS ${per('rss')} KB, [heap] ${per('heap')} KB, other anonymous ${per('anon')} KB`);
  if (SNAPSHOTS) {
    const [x, y] = [objectsByType(a.snapshot), objectsByType(b.snapshot)];
    const rows = [...y].map(([k, v]) => ({ k, count: v.count - (x.get(k)?.count ?? 0), bytes: v.bytes - (x.get(k)?.bytes ?? 0) }));
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`  JS objects per agent: ${(total / (N - FIRST) / 1024).toFixed(1)} KB; the largest by type:`);
    for (const r of rows.sort((p, q) => q.bytes - p.bytes).slice(0, 30))
      console.log(`    ${(r.bytes / (N - FIRST)).toFixed(0).padStart(6)} B  ${(r.count / (N - FIRST)).toFixed(2).padStart(6)} each  ${r.k}`);
    console.log(`  snapshots: ${a.snapshot} ${b.snapshot}`);
  }
} finally {
  await cleanup();
}
