// The commands a person types: the `berth` CLI (a new process per command, exactly as from a
// shell) against the raw tools' CLIs, interleaved round by round in one run so whatever else
// the machine does hits every series alike. Prints p50/p95 and ratios per comparison.
//
//   create + exec  `berth ws create` + `berth ws exec -- true`  vs  `docker run -d` + `docker exec true`
//                  (and vs the same with `--init -v VOL:/root`, which is what a workspace is)
//   exec           `berth ws exec NAME -- true`                 vs  `docker exec C true`
//   list           `berth ws ls`                                vs  `docker ps`, `node -e 0`
//   version        `berth --version`                            vs  `node -e 0`
//   LXC            `berth ws create --provider lxc` + exec      vs  lxc-copy + lxc-start + lxc-attach (a clone of
//                  a prepared image, as berth makes) and lxc-create -t busybox + lxc-start + lxc-attach
//
// Run `npm run build` first. BENCH_N rounds (default 15) after 2 warm-up rounds; BENCH_LXC=0
// leaves LXC out (it needs root, LXC and lxcbr0). BENCH_BERTH_BEFORE=/path/to/other/bin/berth
// adds that build's CLI as a series of its own beside each berth series (against the same
// server), for before/after figures from one interleaved run. BENCH_BEFORE_ROOT=/path/to/other
// checkout (built) adds that build whole instead: its own server and local agent on the same
// engine, driven by its own CLI, as "(before)" series — for changes on the server or agent side.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, ROOT, rawLxcClone, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 15);
const WITH_LXC = process.env.BENCH_LXC !== '0';
const BERTH = join(ROOT, 'bin/berth');
const IMAGE = 'berth/base:latest';
const KEEPALIVE = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

// LXC image containers for this run live in a directory of their own, removed at the end.
const imagesDir = WITH_LXC ? await mkdtemp('/var/tmp/berth-bench-cli-lxc-') : undefined;
if (imagesDir) process.env.BERTH_LXC_IMAGES_DIR = imagesDir;
const server = await startServer();
// The CLI gets its server from the environment and a HOME of its own, so no saved login matters.
const home = await mkdtemp(join(tmpdir(), 'berth-bench-home-'));
const env = { ...process.env, HOME: home, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
delete env.BERTH_CONFIG;
const berth = (...args) => run(BERTH, args, { env });
const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT;
const BEFORE = BEFORE_ROOT ? join(BEFORE_ROOT, 'bin/berth') : process.env.BENCH_BERTH_BEFORE;
// The other build whole: its own server (and local agent), which its CLI talks to.
const beforeServer = BEFORE_ROOT ? await startServer(BEFORE_ROOT) : null;
const beforeEnv = beforeServer ? { ...env, BERTH_SERVER: beforeServer.url, BERTH_TOKEN: beforeServer.token } : env;
const node = (...args) => run(process.execPath, args);

const made = { docker: [], lxc: [], berth: [], beforeBerth: [] };
try {
  let lxcStore = 'overlay';
  for (let i = 0; ; i++) {
    const { stdout } = await berth('node', 'ls', '--json');
    const online = JSON.parse(stdout).nodes.find((n) => n.status === 'online');
    const lxc = online?.providers.find((p) => p.kind === 'lxc');
    if (online && (!WITH_LXC || lxc?.usable)) {
      if (lxc?.usable) lxcStore = lxc.details.backingStore.startsWith('overlay') ? 'overlay' : 'dir';
      break;
    }
    if (i === 100)
      throw new Error(WITH_LXC ? `LXC is not usable on this node (${lxc?.reason ?? 'no node online'}); run with BENCH_LXC=0` : 'no node came online');
    await new Promise((r) => setTimeout(r, 100));
  }
  await berth('image', 'build', 'base', '--from', 'busybox');
  if (beforeServer) {
    for (let i = 0; ; i++) {
      const { stdout } = await run(BEFORE, ['node', 'ls', '--json'], { env: beforeEnv });
      if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break;
      if (i === 100) throw new Error('no node of the before build came online');
      await new Promise((r) => setTimeout(r, 100));
    }
    await run(BEFORE, ['image', 'build', 'base', '--from', 'busybox'], { env: beforeEnv });
    if (WITH_LXC) await run(BEFORE, ['image', 'build', 'lxcbench', '--from', 'busybox'], { env: beforeEnv });
  }
  let lxcImage;
  if (WITH_LXC) {
    await berth('image', 'build', 'lxcbench', '--from', 'busybox');
    [lxcImage] = (await readdir(imagesDir)).filter((d) => d.startsWith('lxcbench_'));
  }

  // One long-lived workspace and container for the exec series.
  const stamp = Date.now().toString(36);
  const execWs = `cb-${stamp}-exec`;
  await berth('ws', 'create', execWs, '--image', 'base');
  made.berth.push(execWs);
  if (beforeServer) {
    await run(BEFORE, ['ws', 'create', execWs, '--image', 'base'], { env: beforeEnv });
    made.beforeBerth.push(execWs);
  }
  const execC = `cb-${stamp}-exec-raw`;
  await run('docker', ['run', '-d', '--name', execC, IMAGE, ...KEEPALIVE]);
  made.docker.push(execC);

  /** Each series: [comparison, name, fn timed, cleanup not timed]. */
  const series = [
    [
      'create + exec',
      'docker run -d + docker exec',
      async (r) => {
        const c = `cb-${stamp}-${r}-d`;
        made.docker.push(c);
        return [
          () => run('docker', ['run', '-d', '--name', c, IMAGE, ...KEEPALIVE]).then(() => run('docker', ['exec', c, 'true'])),
          () => run('docker', ['rm', '-f', c]).then(() => made.docker.splice(made.docker.indexOf(c), 1)),
        ];
      },
    ],
    // What a berth workspace is on the engine: the same container with tini as PID 1 and a
    // named home volume, typed as docker commands. The difference to the row above is the
    // engine's own price of those two, which berth pays on every create.
    [
      'create + exec',
      'docker run -d --init -v VOL:/root + exec',
      async (r) => {
        const c = `cb-${stamp}-${r}-dv`;
        made.docker.push(c);
        return [
          () => run('docker', ['run', '-d', '--init', '-v', `${c}:/root`, '--name', c, IMAGE, ...KEEPALIVE]).then(() => run('docker', ['exec', c, 'true'])),
          () =>
            run('docker', ['rm', '-f', c])
              .then(() => run('docker', ['volume', 'rm', c]))
              .then(() => made.docker.splice(made.docker.indexOf(c), 1)),
        ];
      },
    ],
    [
      'create + exec',
      'berth ws create + ws exec',
      async (r, cli = berth) => {
        const w = `cb-${stamp}-${r}-b`;
        const list = cli === berth || !beforeServer ? made.berth : made.beforeBerth;
        list.push(w);
        return [
          () => cli('ws', 'create', w, '--image', 'base').then(() => cli('ws', 'exec', w, '--', 'true')),
          () => (cli === berth ? berth : cli.rm)('ws', 'rm', w).then(() => list.splice(list.indexOf(w), 1)),
        ];
      },
    ],
    ['exec', 'docker exec', async () => [() => run('docker', ['exec', execC, 'true'])]],
    ['exec', 'berth ws exec', async (_r, cli = berth) => [() => cli('ws', 'exec', execWs, '--', 'true')]],
    ['list', 'node -e 0', async () => [() => node('-e', '0')]],
    ['list', 'docker ps', async () => [() => run('docker', ['ps'])]],
    ['list', 'berth ws ls', async (_r, cli = berth) => [() => cli('ws', 'ls')]],
    ['version', 'node -e 0', async () => [() => node('-e', '0')]],
    ['version', 'berth --version', async (_r, cli = berth) => [() => cli('--version')]],
  ];
  if (WITH_LXC) {
    /** A raw LXC series: `make(c)` makes container c, which is then started and `true` attached in it. */
    const rawLxc = (name, prefix, make) => [
      'LXC create + exec',
      name,
      async (r) => {
        const c = `${prefix}-${stamp}-${r}`;
        made.lxc.push(c);
        return [
          async () => {
            await make(c);
            await run('lxc-start', ['-n', c]);
            await run('lxc-attach', ['-n', c, '--', '/bin/true']);
          },
          () => run('lxc-destroy', ['-f', '-n', c]).then(() => made.lxc.splice(made.lxc.indexOf(c), 1)),
        ];
      },
    ];
    series.push(
      rawLxc('lxc-copy + start + attach', 'cbraw', (c) => rawLxcClone(c, { imagesDir, image: lxcImage, store: lxcStore, ipv4: '10.0.3.249/24' })),
      // The issue's own raw path, as a person without berth types it: a container made by
      // LXC's busybox template (no prepared image to clone), started, and `true` attached.
      rawLxc('lxc-create -t busybox + start + attach', 'cbtpl', (c) => run('lxc-create', ['-n', c, '-t', 'busybox'])),
      [
        'LXC create + exec',
        'berth ws create --provider lxc + exec',
        async (r, cli = berth) => {
          const w = `cbl-${stamp}-${r}`;
          const list = cli === berth || !beforeServer ? made.berth : made.beforeBerth;
          list.push(w);
          return [
            () => cli('ws', 'create', w, '--provider', 'lxc', '--image', 'lxcbench').then(() => cli('ws', 'exec', w, '--', 'true')),
            () => (cli === berth ? berth : cli.rm)('ws', 'rm', w).then(() => list.splice(list.indexOf(w), 1)),
          ];
        },
      ],
    );
  }

  if (BEFORE) {
    // The same berth series again with the other build's CLI, named "(before)" (against its
    // own server when BENCH_BEFORE_ROOT gave one; it removes what it made there too).
    const before = (...args) => run(BEFORE, args, { env: beforeEnv });
    before.rm = beforeServer ? before : berth;
    for (const entry of [...series]) {
      const [cmp, name, prepare] = entry;
      if (!name.startsWith('berth')) continue;
      series.splice(series.indexOf(entry) + 1, 0, [cmp, `${name} (before)`, (r) => prepare(`${r}x`, before)]);
    }
  }

  const times = new Map(series.map(([cmp, name]) => [`${cmp}\0${name}`, []]));
  for (let r = -2; r < N; r++) {
    // Rotate the order each round so no series always runs right after the same neighbour.
    const shift = ((r % series.length) + series.length) % series.length;
    for (const [cmp, name, prepare] of [...series.slice(shift), ...series.slice(0, shift)]) {
      const [fn, cleanup] = await prepare(r + 2);
      const ms = await time(fn);
      if (cleanup) await cleanup();
      if (r >= 0) times.get(`${cmp}\0${name}`).push(ms);
    }
    process.stderr.write(`round ${r + 1}/${N}\n`);
  }

  const figures = {};
  let lastCmp;
  let base;
  for (const [cmp, name] of series) {
    const xs = times.get(`${cmp}\0${name}`);
    const p50 = percentile(xs, 50);
    const p95 = percentile(xs, 95);
    if (cmp !== lastCmp) {
      console.log(`\n${cmp} (n=${N})\n  series                                      p50 ms    p95 ms   p50 ratio`);
      lastCmp = cmp;
      base = p50;
    }
    (figures[cmp] ??= {})[name] = { p50, p95, ratio: p50 / base };
    console.log(`  ${name.padEnd(42)} ${p50.toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(9)} ${(p50 / base).toFixed(2).padStart(10)}×`);
  }
  // The LXC table's ratios are against the clone of a prepared image (what berth itself does);
  // against the template path the issue named, as well.
  const lxc = figures['LXC create + exec'];
  const template = lxc?.['lxc-create -t busybox + start + attach'];
  if (template) {
    for (const [name, f] of Object.entries(lxc)) {
      if (name.startsWith('berth')) console.log(`  ${name} against lxc-create -t busybox + start + attach: ${(f.p50 / template.p50).toFixed(2)}×`);
    }
  }
  console.log(JSON.stringify({ bench: 'cli', n: N, figures }));
} finally {
  for (const c of made.docker) {
    await run('docker', ['rm', '-f', c]).catch(() => {});
    if (c.endsWith('-dv')) await run('docker', ['volume', 'rm', c]).catch(() => {});
  }
  for (const c of made.lxc) await run('lxc-destroy', ['-f', '-n', c]).catch(() => {});
  for (const w of made.berth) await berth('ws', 'rm', w).catch(() => {});
  for (const w of made.beforeBerth) await run(BEFORE, ['ws', 'rm', w], { env: beforeEnv }).catch(() => {});
  await server.stop();
  await beforeServer?.stop();
  await rm(home, { recursive: true, force: true });
  if (imagesDir) await rm(imagesDir, { recursive: true, force: true });
}
