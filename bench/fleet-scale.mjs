// Fleet scale: a real `berth server --tls` with N simulated agents speaking the real agent
// protocol (bench/fleet-agents.mjs) and M workspaces, measured from outside.
//
//   flock /tmp/berth-heavy.lock node bench/fleet-scale.mjs
//   env: BENCH_AGENTS (1000), BENCH_WORKSPACES (5 per agent), BENCH_SECONDS (60, the steady
//   window), BENCH_STORM (1: also drop every agent socket at once; BENCH_STORM_TIMEOUT, 180 s, the longest it waits), BENCH_JOIN_CONCURRENCY (1),
//   BENCH_BERTH_ROOT (the checkout whose bin/berth runs the server; default this one),
//   BENCH_SERVER_LOG (a file for the server's log), BENCH_SERVER_NODE_ARGS (node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`;
//   then they replace the ones bin/berth gives the server).
//   BENCH_TLS_RESUME (1: each simulated agent's redials resume its last TLS session, as the real agent's do; 0: full handshakes).
//
// Separation of costs: the server is pinned to CPU 0 (taskset), the simulated agents and this
// measuring loop to CPU 1. The server's CPU share is the change of utime+stime in
// /proc/PID/stat over a window, divided by its wall time: "% of one core". The steady window
// has two halves: heartbeats only (the fleet's own cost, what the CPU aim is about), then the
// same with this loop calling the API (lists, heartbeat flips polled through the API, creates).
// RSS is VmRSS from /proc/PID/status, sampled every 500 ms (every 100 ms during the storm).
//
// Seeding: the M workspaces are inserted straight into the server's SQLite database (WAL, the
// server running) as `running` rows on the simulated nodes, before the agents connect and
// report them. The real create path (POST /workspaces on a simulated node, which places,
// records and asks the node) is measured in the steady window instead: it runs one placement
// at a time over every node, so 50,000 creates through it would take longer than the bench.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, percentile, ROOT, residentByMapping } from './lib.mjs';

const N = Number(process.env.BENCH_AGENTS ?? 1000);
const M = Number(process.env.BENCH_WORKSPACES ?? N * 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const STORM = process.env.BENCH_STORM !== '0';
const STORM_TIMEOUT_S = Number(process.env.BENCH_STORM_TIMEOUT ?? 180);
const JOIN_CONCURRENCY = Number(process.env.BENCH_JOIN_CONCURRENCY ?? 1);
const BERTH_ROOT = process.env.BENCH_BERTH_ROOT ?? ROOT;
const PROCS = Math.max(1, Math.ceil(N / 5000));
const AIMS = { rssMiB: 512, cpuPct: 25, heartbeatP99: 50, listP99: 50, stormS: 60, stormRssMiB: 1024 };
const PAGE = 100;

const children = new Set();
let dataDir = null;
let cleaned = false;
let server = null;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  // The server first, gently (so a --cpu-prof given through BENCH_SERVER_NODE_ARGS is written).
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), sleep(10_000)]);
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => void cleanup().then(() => process.exit(130)));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
/** utime+stime of a process, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
/** Where a process's resident memory is (glibc's heap, other anonymous, files), in MiB. */
function memoryParts(pid) {
  const kib = residentByMapping(pid);
  return { heap: kib.heap / 1024, anon: kib.anon / 1024, file: kib.file / 1024 };
}
/** The server's V8 heap (total and used) and external memory from its process metrics, in MiB; null without them. */
async function v8Memory() {
  const r = await api('GET', '/api/v1/metrics').catch(() => null);
  if (r?.status !== 200 || typeof r.body !== 'string') return null;
  const v = (name) => Number(new RegExp(`^berth_server_${name}\\s+(\\S+)`, 'm').exec(r.body)?.[1] ?? NaN) / 2 ** 20;
  const newSpace = Number(/^berth_server_nodejs_heap_space_size_total_bytes\{space="new"\}\s+(\S+)/m.exec(r.body)?.[1] ?? NaN) / 2 ** 20;
  return { heapTotal: v('nodejs_heap_size_total_bytes'), heapUsed: v('nodejs_heap_size_used_bytes'), newSpace, external: v('nodejs_external_memory_bytes') };
}

/** The median of five GET /metrics in a row (each counts every node and workspace), in ms; null without the route. */
async function metricsScrapeMs() {
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const r = await api('GET', '/api/v1/metrics').catch(() => null);
    if (r?.status !== 200) return null;
    ms.push(r.ms);
  }
  return percentile(ms, 50);
}

/** VmRSS and VmHWM of a process, in MiB. */
function memory(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

let agent;
let base;
let adminToken;
/** One API call over the pinned TLS; returns { status, body, ms }. */
function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const data = body ? JSON.stringify(body) : undefined;
    const req = request(
      base + path,
      { method, agent, headers: { authorization: `Bearer ${adminToken}`, ...(data ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, body: parsed, ms: performance.now() - t0 });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every node, following nextCursor when the server pages (an unpaged server answers all at once). */
async function allNodes() {
  const nodes = [];
  let cursor = null;
  do {
    const r = await api('GET', `/api/v1/nodes?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(`GET /nodes: ${r.status} ${JSON.stringify(r.body)}`);
    nodes.push(...r.body.nodes);
    cursor = r.body.nextCursor ?? null;
  } while (cursor);
  return nodes;
}

/** Histogram buckets of berth_heartbeat_handling_seconds from GET /metrics, or null when the route is absent. */
async function heartbeatBuckets() {
  for (const path of ['/metrics', '/api/v1/metrics']) {
    const r = await api('GET', path).catch(() => null);
    if (r?.status !== 200 || typeof r.body !== 'string') continue;
    const buckets = new Map();
    for (const m of r.body.matchAll(/^berth_heartbeat_handling_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/gm))
      buckets.set(m[1], (buckets.get(m[1]) ?? 0) + Number(m[2]));
    return buckets.size ? buckets : null;
  }
  return null;
}
/** The p-th percentile (upper bucket bound, ms) of the heartbeats between two bucket snapshots. */
function bucketPercentile(before, after, p) {
  const les = [...after.keys()].sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
  const count = (le) => after.get(le) - (before?.get(le) ?? 0);
  const total = count('+Inf');
  if (!total) return null;
  for (const le of les) if (count(le) >= (p / 100) * total) return le === '+Inf' ? Infinity : Number(le) * 1000;
  return null;
}

async function main() {
  try {
    execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  } catch {
    throw new Error('taskset (util-linux) is needed to pin the server and the agents to separate cores');
  }
  dataDir = await mkdtemp(join(tmpdir(), 'berth-fleet-scale-'));
  const port = await freePort();
  // As a user starts it: bin/berth, which gives Node the server's own flags. With
  // BENCH_SERVER_NODE_ARGS, node runs bin/berth's JavaScript with exactly those flags instead.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  server = spawn(
    'taskset',
    [
      '-c',
      '0',
      ...(nodeArgs.length ? [process.execPath, ...nodeArgs] : []),
      join(BERTH_ROOT, 'bin/berth'),
      'server',
      '--tls',
      '--listen',
      `127.0.0.1:${port}`,
      '--ssh-listen',
      'off',
      '--data-dir',
      dataDir,
    ],
    {
      stdio: ['ignore', process.env.BENCH_SERVER_LOG ? openSync(process.env.BENCH_SERVER_LOG, 'w') : 'ignore', 'inherit'],
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
    },
  );
  children.add(server);
  base = `https://127.0.0.1:${port}`;
  let ca = null;
  for (let i = 0; i < 300 && !ca; i++) {
    await sleep(100);
    ca = await readFile(join(dataDir, 'tls', 'ca.pem'), 'utf8').catch(() => null);
  }
  if (!ca) throw new Error('the server made no CA in 30 s');
  agent = new Agent({ ca, keepAlive: true, maxSockets: 8 });
  for (let i = 0; i < 300; i++) {
    if (
      await api('GET', '/api/v1/health').then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const protocolVersion = (await import(join(BERTH_ROOT, 'dist/api/index.js'))).AGENT_PROTOCOL_VERSION;
  console.log(
    `fleet-scale: ${N} agents in ${PROCS} process(es), ${M} workspaces, ${SECONDS} s steady window, server pid ${server.pid} on CPU 0 (${BERTH_ROOT})`,
  );

  // The simulated agents.
  const procs = [];
  const waiters = new Map();
  const per = Math.ceil(N / PROCS);
  for (let p = 0; p < PROCS; p++) {
    const from = p * per;
    const to = Math.min(N, from + per);
    const config = { url: base, ca, adminToken, from, to, total: N, workspaces: M, prefix: 'sim-', protocolVersion, joinConcurrency: JOIN_CONCURRENCY };
    const child = spawn('taskset', ['-c', '1', process.execPath, join(ROOT, 'bench/fleet-agents.mjs')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, FLEET_AGENTS_CONFIG: JSON.stringify(config) },
    });
    children.add(child);
    const proc = { child, from, to, inbox: [] };
    child.on('message', (m) => {
      if (m.cmd === 'error') {
        console.error(m.message);
        void cleanup().then(() => process.exit(1));
      }
      const w = waiters.get(`${m.cmd}:${m.id ?? p}`);
      if (w) {
        waiters.delete(`${m.cmd}:${m.id ?? p}`);
        w(m);
      }
    });
    procs.push(proc);
  }
  const waitFor = (key) => new Promise((r) => waiters.set(key, r));
  await Promise.all(procs.map((_, p) => waitFor(`ready:${p}`)));

  // Joins: real join tokens, real POST /nodes/join, each node connecting (hello, heartbeats) right after.
  let t = Date.now();
  const joined = await Promise.all(
    procs.map((proc, p) => {
      proc.child.send({ cmd: 'join' });
      return waitFor(`joined:${p}`);
    }),
  );
  const joinWall = Date.now() - t;
  const joinMs = joined.flatMap((j) => j.joinMs);
  const nodes = joined.flatMap((j) => j.nodes).sort((a, b) => a.k - b.k);
  console.log(
    `joined and connected ${N} nodes in ${(joinWall / 1000).toFixed(1)} s (POST /nodes/join p50 ${percentile(joinMs, 50).toFixed(1)} ms, p99 ${percentile(joinMs, 99).toFixed(1)} ms)`,
  );

  // Seed the workspaces (see the file comment for why not through the create path). The
  // agents already report them; rows that agree with a report need no reconcile.
  t = Date.now();
  const Database = createRequire(join(BERTH_ROOT, 'package.json'))('better-sqlite3');
  const db = new Database(join(dataDir, 'berth.db'));
  db.pragma('busy_timeout = 10000');
  const owner = db.prepare("SELECT id FROM users WHERE role = 'admin' LIMIT 1").get().id;
  const old = new Date(Date.now() - 3600_000).toISOString();
  const insert = db.prepare(
    "INSERT INTO workspaces (id, name, owner_id, node_id, provider, image, status, cpus, memory_bytes, error_json, created_at, updated_at) VALUES (?, ?, ?, ?, 'docker', 'base', 'running', NULL, NULL, NULL, ?, ?)",
  );
  db.transaction(() => {
    for (let i = 0; i < M; i++) insert.run(`bw-${i}`, `bws-${i}`, owner, nodes[i % N].id, old, old);
  })();
  db.close();
  console.log(`seeded ${M} workspaces in ${Date.now() - t} ms`);
  await sleep(10_000); // two heartbeat intervals to settle

  // Steady window.
  const lat = { nodes: [], workspaces: [], health: [], heartbeat: [], createAccepted: [], createRunning: [] };
  const rss = [];
  const hbBefore = await heartbeatBuckets();
  const sampler = setInterval(() => rss.push(memory(server.pid).rss), 500);
  // First half: heartbeats only, nobody calling the API: the server's steady cost of the fleet.
  const quiet0 = { server: cpuSeconds(server.pid), agents: procs.reduce((a, p) => a + cpuSeconds(p.child.pid), 0), at: performance.now() };
  await sleep((SECONDS * 1000) / 2);
  const quietWall = (performance.now() - quiet0.at) / 1000;
  const cpuQuiet = ((cpuSeconds(server.pid) - quiet0.server) / quietWall) * 100;
  const cpuAgents = ((procs.reduce((a, p) => a + cpuSeconds(p.child.pid), 0) - quiet0.agents) / quietWall) * 100;
  // Second half: the same, with this loop calling the API (lists, flips, creates) all along.
  const cpu0 = { server: cpuSeconds(server.pid), at: performance.now() };
  const end = Date.now() + (SECONDS * 1000) / 2;
  let flipId = 0;
  let iter = 0;
  let created = 0;
  let polls = 0;
  while (Date.now() < end) {
    iter++;
    lat.nodes.push((await api('GET', `/api/v1/nodes?limit=${PAGE}`)).ms);
    lat.workspaces.push((await api('GET', `/api/v1/workspaces?limit=${PAGE}`)).ms);
    lat.health.push((await api('GET', '/api/v1/health')).ms);
    if (iter % 2 === 0) {
      // Heartbeat handling from outside: a report that stops one workspace, until the API shows it.
      const i = (flipId * 7919) % M;
      const k = i % N;
      const proc = procs.find((p) => k >= p.from && k < p.to);
      const id = ++flipId;
      const flipped = waitFor(`flipped:${id}`);
      proc.child.send({ cmd: 'flip', id, k, workspaceId: `bw-${i}`, status: 'stopped' });
      const { at } = await flipped;
      let shown = false;
      while (!shown && Date.now() - at < 30_000) {
        const r = await api('GET', `/api/v1/workspaces/bws-${i}`);
        polls++;
        shown = r.body?.status === 'stopped';
        if (!shown) await sleep(5);
      }
      lat.heartbeat.push(shown ? Date.now() - at : Infinity);
    }
    if (iter % 10 === 0) {
      // The real create path, on a simulated node (which answers at once).
      const name = `bc-${++created}`;
      const r = await api('POST', '/api/v1/workspaces', { name, node: nodes[(created * 31) % N].name });
      lat.createAccepted.push(r.ms);
      const t1 = performance.now() - r.ms;
      let running = false;
      while (!running && performance.now() - t1 < 30_000) {
        running = (await api('GET', `/api/v1/workspaces/${name}`)).body?.status === 'running';
        polls++;
        if (!running) await sleep(5);
      }
      lat.createRunning.push(running ? performance.now() - t1 : Infinity);
    }
    await sleep(100);
  }
  clearInterval(sampler);
  const wall = (performance.now() - cpu0.at) / 1000;
  const cpuBusy = ((cpuSeconds(server.pid) - cpu0.server) / wall) * 100;
  const apiCalls = lat.nodes.length + lat.workspaces.length + lat.health.length + polls;
  const hbAfter = await heartbeatBuckets();
  const metricsP99 = hbAfter ? bucketPercentile(hbBefore, hbAfter, 99) : null;
  // What the steady RSS is made of, at the end of the window.
  const parts = { ...memoryParts(server.pid), v8: await v8Memory() };
  const scrapeMs = await metricsScrapeMs();

  // Storm: every agent socket dropped at once.
  let storm = null;
  if (STORM) {
    const peak = [];
    const s = setInterval(() => peak.push(memory(server.pid).rss), 100);
    // CPU seconds each side spends on the storm: says whether the server or the clients limit it.
    const cpuAt = { server: cpuSeconds(server.pid), agents: procs.reduce((a, p) => a + cpuSeconds(p.child.pid), 0) };
    t = Date.now();
    // A server that cannot take the storm may never welcome every agent again: give up after BENCH_STORM_TIMEOUT s.
    const giveUp = sleep(STORM_TIMEOUT_S * 1000).then(() => null);
    const done = await Promise.race([
      Promise.all(
        procs.map((proc, p) => {
          proc.child.send({ cmd: 'storm' });
          return waitFor(`storm-done:${p}`);
        }),
      ),
      giveUp,
    ]);
    const welcomedMs = done ? Math.max(...done.map((d) => d.ms)) : Infinity;
    let all = false;
    while (done && !all && Date.now() - t < STORM_TIMEOUT_S * 1000) {
      const list = await allNodes();
      all = list.length === N && list.every((n) => n.status === 'online');
      if (!all) await sleep(200);
    }
    const settledMs = Date.now() - t;
    clearInterval(s);
    const serverCpuS = cpuSeconds(server.pid) - cpuAt.server;
    const agentsCpuS = procs.reduce((a, p) => a + cpuSeconds(p.child.pid), 0) - cpuAt.agents;
    storm = {
      welcomedMs,
      settledMs: all ? settledMs : Infinity,
      peakRssMiB: Math.max(...peak, 0),
      hwmMiB: memory(server.pid).hwm,
      timeoutS: STORM_TIMEOUT_S,
      serverCpuS,
      agentsCpuS,
    };
  }

  const q = (xs, p) => (xs.length ? percentile(xs, p) : NaN);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
  const rssMax = Math.max(...rss);
  const results = {
    agents: N,
    workspaces: M,
    joinPerJoinP50Ms: q(joinMs, 50),
    joinPerJoinP99Ms: q(joinMs, 99),
    joinTotalS: joinWall / 1000,
    rssMiB: rssMax,
    cpuPct: cpuQuiet,
    cpuWithApiPct: cpuBusy,
    apiCallsPerS: apiCalls / wall,
    agentsCpuPct: cpuAgents,
    heartbeatP50Ms: q(lat.heartbeat, 50),
    heartbeatP99Ms: q(lat.heartbeat, 99),
    metricsHeartbeatP99Ms: metricsP99,
    nodesP50Ms: q(lat.nodes, 50),
    nodesP99Ms: q(lat.nodes, 99),
    workspacesP50Ms: q(lat.workspaces, 50),
    workspacesP99Ms: q(lat.workspaces, 99),
    healthP99Ms: q(lat.health, 99),
    createAcceptedP50Ms: q(lat.createAccepted, 50),
    createRunningP50Ms: q(lat.createRunning, 50),
    memoryParts: parts,
    metricsScrapeP50Ms: scrapeMs,
    storm,
  };
  console.log(
    `\nfleet-scale: ${N} agents, ${M} workspaces, ${SECONDS / 2} s heartbeats only, then ${SECONDS / 2} s with API calls (server on CPU 0; agents and this loop on CPU 1)`,
  );
  const row = (label, value, aim) =>
    console.log(`  ${label.padEnd(42)} ${String(value).padStart(12)}${aim ? `   aim ${aim.text}, ratio ${(aim.value / aim.limit).toFixed(2)}` : ''}`);
  row('POST /nodes/join p50 (ms)', f(results.joinPerJoinP50Ms));
  row('POST /nodes/join p99 (ms)', f(results.joinPerJoinP99Ms));
  row(`join + connect all ${N} (s, ${JOIN_CONCURRENCY} at a time per process)`, f(results.joinTotalS));
  row('server RSS, steady max (MiB)', f(rssMax), { text: `≤ ${AIMS.rssMiB}`, value: rssMax, limit: AIMS.rssMiB });
  row('  at the end: glibc heap / other anon / files', `${f(parts.heap)} / ${f(parts.anon)} / ${f(parts.file)}`);
  if (parts.v8)
    row(
      '  V8 heap total / used / new space, external',
      `${f(parts.v8.heapTotal)} / ${f(parts.v8.heapUsed)} / ${f(parts.v8.newSpace)}, ${f(parts.v8.external)}`,
    );
  row('GET /metrics at the end, p50 of 5 (ms)', scrapeMs === null ? 'absent' : f(scrapeMs));
  row('server CPU, heartbeats only (% of one core)', f(cpuQuiet), { text: `≤ ${AIMS.cpuPct}`, value: cpuQuiet, limit: AIMS.cpuPct });
  row(`server CPU, + ${f(results.apiCallsPerS)} API calls/s (%)`, f(cpuBusy));
  row('simulated agents CPU (% of one core)', f(cpuAgents));
  row('heartbeat → API, from outside p50 (ms)', f(results.heartbeatP50Ms));
  row('heartbeat → API, from outside p99 (ms)', f(results.heartbeatP99Ms), {
    text: `≤ ${AIMS.heartbeatP99}`,
    value: results.heartbeatP99Ms,
    limit: AIMS.heartbeatP99,
  });
  row('berth_heartbeat_handling_seconds p99 (ms)', hbAfter ? f(metricsP99) : 'absent (no GET /metrics)');
  row(`GET /nodes?limit=${PAGE} p50 (ms)`, f(results.nodesP50Ms));
  row(`GET /nodes?limit=${PAGE} p99 (ms)`, f(results.nodesP99Ms), { text: `≤ ${AIMS.listP99}`, value: results.nodesP99Ms, limit: AIMS.listP99 });
  row(`GET /workspaces?limit=${PAGE} p50 (ms)`, f(results.workspacesP50Ms));
  row(`GET /workspaces?limit=${PAGE} p99 (ms)`, f(results.workspacesP99Ms), { text: `≤ ${AIMS.listP99}`, value: results.workspacesP99Ms, limit: AIMS.listP99 });
  row('GET /health p99 (ms)', f(results.healthP99Ms));
  row('create on a simulated node, 202 p50 (ms)', f(results.createAcceptedP50Ms));
  row('create on a simulated node, running p50 (ms)', f(results.createRunningP50Ms));
  if (storm) {
    row('storm: every agent welcomed again (s)', f(storm.welcomedMs / 1000));
    row('storm: all online through the API (s)', f(storm.settledMs / 1000), { text: `≤ ${AIMS.stormS}`, value: storm.settledMs / 1000, limit: AIMS.stormS });
    row('storm: server peak RSS (MiB)', f(storm.peakRssMiB), { text: `≤ ${AIMS.stormRssMiB}`, value: storm.peakRssMiB, limit: AIMS.stormRssMiB });
    row('storm: CPU s spent, server / agents', `${f(storm.serverCpuS)} / ${f(storm.agentsCpuS)}`);
  }
  console.log(`\n${JSON.stringify(results)}`);
  for (const p of procs) p.child.send({ cmd: 'stop' });
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  // Exit at once: a pending give-up timer or a keep-alive socket must not hold the lock longer.
  .finally(() => cleanup().then(() => process.exit()));
