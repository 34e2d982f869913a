// How low a Node.js CLI command can go on this machine: `berth ws ls` against the floors any
// Node CLI that asks a server something stands on, each a new process as from a shell, and
// interleaved round by round in one run:
//
//   node -e 0                     Node starting and exiting, nothing else (the aim's yardstick)
//   empty startup snapshot        the same from a V8 startup snapshot holding nothing of berth's
//   node + one GET                node:http asking the server for the workspace list, JSON.parse,
//                                 one line printed: the request a `ws ls` cannot do without
//   empty snapshot + one GET      both of the above
//   berth ws ls                   the real command (snapshot, arguments, config, the contract's
//                                 check of the answer, the table)
//
// NODE_EXTRA_CA_CERTS is removed from every series' environment: with it Node parses the whole
// bundle at start-up, which makes `node -e 0` slow and every ratio flattering (see
// docs/performance.md). Run `npm run build` first; BENCH_N rounds (default 20) after 2 warm-up
// rounds.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, ROOT, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20);
const BERTH = join(ROOT, 'bin/berth');

const server = await startServer();
const work = await mkdtemp(join(tmpdir(), 'berth-bench-floor-'));
const env = { ...process.env, HOME: work, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
delete env.NODE_EXTRA_CA_CERTS;
delete env.BERTH_CONFIG;
try {
  // The GET a list command makes, in plain CommonJS on Node's own http client.
  const get = `const http = require('node:http');
    http.get(process.env.BERTH_SERVER + '/api/v1/workspaces?limit=100', { headers: { authorization: 'Bearer ' + process.env.BERTH_TOKEN } }, (res) => {
      let text = ''; res.setEncoding('utf8'); res.on('data', (d) => { text += d; });
      res.on('end', () => { process.stdout.write(JSON.parse(text).workspaces.length + ' workspaces\\n'); });
    });`;
  await writeFile(join(work, 'get.cjs'), get);
  // Two snapshots built by this Node: one whose main does nothing, one whose main makes the GET.
  await writeFile(join(work, 'empty.cjs'), `require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});`);
  await writeFile(
    join(work, 'empty-get.cjs'),
    // node:http cannot be in a Node 20 snapshot, so the main function loads it, as berth's does.
    `require('node:v8').startupSnapshot.setDeserializeMainFunction(() => { ${get} });`,
  );
  for (const name of ['empty', 'empty-get']) {
    const made = spawnSync(process.execPath, ['--snapshot-blob', join(work, `${name}.blob`), '--build-snapshot', join(work, `${name}.cjs`)], {
      encoding: 'utf8',
    });
    if (made.status !== 0) throw new Error(`this Node cannot build a startup snapshot: ${made.stderr}`);
  }
  const node = (...args) => run(process.execPath, args, { env });
  const series = {
    'node -e 0': () => node('-e', '0'),
    'empty startup snapshot': () => node('--snapshot-blob', join(work, 'empty.blob')),
    'node + one GET': () => node(join(work, 'get.cjs')),
    'empty snapshot + one GET': () => node('--snapshot-blob', join(work, 'empty-get.blob')),
    'berth ws ls': () => run(BERTH, ['ws', 'ls'], { env }),
  };
  // Each must work before it is timed: a floor that fails fast would look fast.
  for (const [name, fn] of Object.entries(series)) {
    const { stdout } = await fn();
    if (name.includes('GET') && !/^\d+ workspaces$/m.test(stdout)) throw new Error(`${name} printed ${JSON.stringify(stdout)}`);
    if (name === 'berth ws ls' && !stdout.includes('No workspaces yet')) throw new Error(`berth ws ls printed ${JSON.stringify(stdout)}`);
  }
  const names = Object.keys(series);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -2; round < N; round++) {
    // Rotate the order each round so no series always runs first (or right after a slow one).
    const order = names.map((_, i) => names[(i + round + 2) % names.length]);
    for (const name of order) {
      const ms = await time(series[name]);
      if (round >= 0) times[name].push(ms);
    }
  }
  const base = percentile(times['node -e 0'], 50);
  console.log(`\nCLI floors, n=${N}, NODE_EXTRA_CA_CERTS unset, ${process.version}`);
  console.log('  series                        p50 ms    p95 ms   p50 ratio');
  const figures = {};
  for (const name of names) {
    const p50 = percentile(times[name], 50);
    const p95 = percentile(times[name], 95);
    figures[name] = { p50, p95, ratio: p50 / base };
    console.log(`  ${name.padEnd(28)} ${p50.toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(9)} ${(p50 / base).toFixed(2).padStart(10)}×`);
  }
  console.log(JSON.stringify({ bench: 'cli-floor', n: N, figures }));
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
