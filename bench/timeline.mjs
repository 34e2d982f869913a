// Where berth's own time goes in a create and an exec, in-process (no CLI start-up): a create's
// operation events with the time each arrived after the POST, and an exec session over the raw
// exec WebSocket with the time of the upgrade, `started` and `exit`; beside them `docker run -d
// --init -v` (what a workspace is on the engine) through the docker CLI, and the first exec of
// each new workspace right after its create. BENCH_N rounds
// (default 8); p50 per step.
import { join } from 'node:path';
import { percentile, ROOT, run, startServer } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 8);
const server = await startServer();
const env = { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
const berth = (...a) => run(join(ROOT, 'bin/berth'), a, { env });
const { BerthClient } = await import(join(ROOT, 'dist/client/index.js'));
const { default: WebSocket } = await import(join(ROOT, 'node_modules/ws/index.js'));
const client = new BerthClient({ server: server.url, token: server.token });
const p50 = (xs) => percentile(xs, 50).toFixed(1);

/** One `true` over the exec WebSocket, as the CLI opens it: ms after connecting of the upgrade, `started` and `exit`. */
function execOnce(ws) {
  const t0 = performance.now();
  const marks = {};
  return new Promise((resolve, reject) => {
    const s = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/workspaces/${ws}/exec`, {
      headers: { authorization: `Bearer ${server.token}` },
      perMessageDeflate: false,
    });
    s.on('error', reject);
    s.on('upgrade', () => {
      marks.upgrade = performance.now() - t0;
    });
    s.on('open', () => s.send(JSON.stringify({ type: 'start', request: { cmd: ['true'], tty: false, env: {} } })));
    s.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.type === 'started') {
        marks.started = performance.now() - t0;
        s.send(JSON.stringify({ type: 'eof' }));
      }
      if (f.type === 'error') reject(new Error(f.error.message));
      if (f.type === 'exit') {
        marks.exit = performance.now() - t0;
        s.close();
        resolve(marks);
      }
    });
  });
}
try {
  for (let i = 0; ; i++) {
    const { stdout } = await berth('node', 'ls', '--json');
    if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break;
    if (i === 300) throw new Error('no node came online');
    await new Promise((r) => setTimeout(r, 100));
  }
  await berth('image', 'build', 'base', '--from', 'busybox');

  // Create: the time of each step's progress message (the first time it was seen), per round.
  const steps = new Map();
  const totals = [];
  /** The first exec of each new workspace, started as soon as its create is done. */
  const first = { upgrade: [], started: [], exit: [] };
  const stamp = Date.now().toString(36);
  for (let r = 0; r < N; r++) {
    const name = `tl-${stamp}-${r}`;
    const t0 = performance.now();
    const accepted = await client.call('workspacesPost', { body: { name, image: 'base' } });
    const seen = new Map([['accepted', performance.now() - t0]]);
    await client.waitOperation(accepted.operation.id, (e) => {
      const what = e.type === 'progress' ? `progress: ${e.stage}` : e.type;
      if (!seen.has(what)) seen.set(what, performance.now() - t0);
    });
    totals.push(performance.now() - t0);
    for (const [k, ms] of Object.entries(await execOnce(name))) first[k].push(ms);
    for (const [k, ms] of seen) (steps.get(k) ?? steps.set(k, []).get(k)).push(ms);
    await berth('ws', 'rm', name);
  }
  const raw = [];
  for (let r = 0; r < N; r++) {
    const c = `tl-${stamp}-raw-${r}`;
    const t0 = performance.now();
    await run('docker', ['run', '-d', '--init', '-v', `${c}:/root`, '--name', c, 'berth/base:latest', 'sleep', '1000']);
    raw.push(performance.now() - t0);
    await run('docker', ['rm', '-f', c]);
    await run('docker', ['volume', 'rm', c]);
  }
  console.log(`\ncreate until running (n=${N}), ms after the POST, p50`);
  for (const [k, xs] of steps) console.log(`  ${k.slice(0, 50).padEnd(50)} ${p50(xs).padStart(8)}`);
  console.log(`  ${'done (berth, in-process)'.padEnd(50)} ${p50(totals).padStart(8)}`);
  console.log(`  ${'docker run -d --init -v (docker CLI)'.padEnd(50)} ${p50(raw).padStart(8)}`);
  console.log(`\nthe first exec true of each new workspace, right after its create (n=${N}), ms after connecting, p50`);
  for (const [k, xs] of Object.entries(first)) console.log(`  ${k.padEnd(50)} ${p50(xs).padStart(8)}`);

  // Exec: one session over the exec WebSocket, as the CLI opens it.
  const ws = `tl-${stamp}-exec`;
  await berth('ws', 'create', ws, '--image', 'base');
  const marks = { upgrade: [], started: [], exit: [] };
  for (let r = 0; r < N * 2; r++) for (const [k, ms] of Object.entries(await execOnce(ws))) marks[k].push(ms);
  await berth('ws', 'rm', ws);
  console.log(`\nexec true over the exec WebSocket (n=${N * 2}), ms after connecting, p50`);
  for (const [k, xs] of Object.entries(marks)) console.log(`  ${k.padEnd(50)} ${p50(xs).padStart(8)}`);
  console.log(
    JSON.stringify({
      bench: 'timeline',
      n: N,
      create: Object.fromEntries([...steps].map(([k, xs]) => [k, percentile(xs, 50)])),
      createDone: percentile(totals, 50),
      dockerRunInit: percentile(raw, 50),
      firstExec: Object.fromEntries(Object.entries(first).map(([k, xs]) => [k, percentile(xs, 50)])),
      exec: Object.fromEntries(Object.entries(marks).map(([k, xs]) => [k, percentile(xs, 50)])),
    }),
  );
} finally {
  await server.stop();
}
