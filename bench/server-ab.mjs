// The server side of create and exec, A/B between two builds: this checkout's server and the
// one in BENCH_BEFORE_ROOT (another checkout, built), each with its local agent on the same
// engines, creates alternating between them round by round. Timed in-process with each build's
// own client (no CLI start-up), so only the server + agent + engine path is compared:
// create until running, then the first `exec true`. BENCH_PROVIDER=docker (default) or lxc;
// BENCH_N rounds (default 12) after one warm-up round. Without BENCH_BEFORE_ROOT it says so
// and does nothing (so `npm run bench` can run it).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, percentile, ROOT } from './lib.mjs';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 12);
const PROVIDER = process.env.BENCH_PROVIDER ?? 'docker';
const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT;
if (!BEFORE_ROOT) {
  console.log('server-ab: set BENCH_BEFORE_ROOT to a built checkout to compare this server against; skipped.');
  process.exit(0);
}
async function start(root) {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-ab-'));
  const port = await freePort(),
    sshPort = await freePort();
  const imagesDir = await mkdtemp('/var/tmp/berth-bench-ab-lxc-');
  const child = spawn(
    process.execPath,
    [join(root, 'bin/berth'), 'server', '--local-agent', '--listen', `127.0.0.1:${port}`, '--ssh-listen', `127.0.0.1:${sshPort}`, '--data-dir', dataDir],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_LXC_IMAGES_DIR: imagesDir } },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const { BerthClient } = await import(join(root, 'dist/client/index.js'));
  const client = new BerthClient({ server: url, token });
  const env = { ...process.env, BERTH_SERVER: url, BERTH_TOKEN: token };
  const berth = (...a) => run(join(root, 'bin/berth'), a, { env });
  for (let i = 0; ; i++) {
    const { stdout } = await berth('node', 'ls', '--json');
    const n = JSON.parse(stdout).nodes.find((x) => x.status === 'online');
    if (n?.providers.find((p) => p.kind === PROVIDER)?.usable) break;
    if (i === 150) throw new Error(`${root}: no online node with a usable ${PROVIDER} provider after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await berth('image', 'build', 'abimg', '--from', 'busybox');
  return {
    client,
    berth,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
      await rm(imagesDir, { recursive: true, force: true });
    },
  };
}
const { Writable } = await import('node:stream');
const nul = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
const sides = { after: await start(ROOT), before: await start(BEFORE_ROOT) };
const times = { after: { create: [], exec: [] }, before: { create: [], exec: [] } };
try {
  for (let r = -1; r < N; r++) {
    for (const side of r % 2 ? ['after', 'before'] : ['before', 'after']) {
      const { client, berth } = sides[side];
      const name = `ab-${side}-${r + 1}-${Date.now().toString(36)}`;
      let t0 = performance.now();
      const accepted = await client.call('workspacesPost', { body: { name, image: 'abimg', provider: PROVIDER } });
      await client.waitOperation(accepted.operation.id);
      const c = performance.now() - t0;
      t0 = performance.now();
      await client.exec(name, { cmd: ['true'], tty: false, env: {} }, { stdin: null, stdout: nul(), stderr: nul() });
      const e = performance.now() - t0;
      if (r >= 0) {
        times[side].create.push(c);
        times[side].exec.push(e);
      }
      await berth('ws', 'rm', name);
    }
  }
  const figures = {};
  for (const side of ['before', 'after']) figures[side] = { createP50: percentile(times[side].create, 50), execP50: percentile(times[side].exec, 50) };
  for (const side of ['before', 'after'])
    console.log(
      `${PROVIDER} ${side.padEnd(7)} create p50 ${percentile(times[side].create, 50).toFixed(1)} p95 ${percentile(times[side].create, 95).toFixed(1)}   first exec p50 ${percentile(times[side].exec, 50).toFixed(1)}`,
    );
  console.log(JSON.stringify({ bench: 'server-ab', provider: PROVIDER, n: N, figures }));
} finally {
  for (const s of Object.values(sides)) await s.stop();
}
