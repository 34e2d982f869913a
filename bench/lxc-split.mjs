// Where the CLI's LXC create + exec goes: per round, interleaved, `berth ws create --provider
// lxc` and `berth ws exec -- true` as processes, the same two in-process (one-request create,
// exec over the client), `node -e 0` twice, and the raw lxc tools. BENCH_N rounds (default 10).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BerthClient } from '../dist/client/index.js';
import { lxcCloneStore, percentile, ROOT, rawLxcClone, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 10);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
const imagesDir = await mkdtemp('/var/tmp/berth-bench-lxc-split-');
process.env.BERTH_LXC_IMAGES_DIR = imagesDir;
const server = await startServer();
const home = await mkdtemp(join(tmpdir(), 'berth-bench-home-'));
const env = { ...process.env, HOME: home, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
delete env.BERTH_CONFIG;
const BERTH = process.env.BENCH_BERTH ?? join(ROOT, 'bin/berth');
const berth = (...a) => run(BERTH, a, { env });
// BENCH_BERTH_BEFORE=/other/bin/berth: that build's CLI create + exec too, in the same rounds.
const BEFORE = process.env.BENCH_BERTH_BEFORE;
const before = (...a) => run(BEFORE, a, { env });
const client = new BerthClient({ server: server.url, token: server.token });
const t = {};
const add = (k, ms) => (t[k] ??= []).push(ms);
try {
  const store = await lxcCloneStore(client);
  const build = await client.call('imagesPost', { body: { name: 'lxcbench', from: 'busybox' } });
  await client.waitOperation(build.operation.id);
  const [image] = (await readdir(imagesDir)).filter((d) => d.startsWith('lxcbench_'));
  const stamp = Date.now().toString(36);
  for (let i = -2; i < N; i++) {
    const keep = i >= 0;
    const a = `ls-${stamp}-${i + 2}-c`;
    const c1 = await time(() => berth('ws', 'create', a, '--provider', 'lxc', '--image', 'lxcbench'));
    const e1 = await time(() => berth('ws', 'exec', a, '--', 'true'));
    const e2 = await time(() => berth('ws', 'exec', a, '--', 'true'));
    await berth('ws', 'rm', a);
    if (BEFORE) {
      const o = `ls-${stamp}-${i + 2}-o`;
      const c0 = await time(() => before('ws', 'create', o, '--provider', 'lxc', '--image', 'lxcbench'));
      const e0 = await time(() => before('ws', 'exec', o, '--', 'true'));
      await berth('ws', 'rm', o);
      if (keep) {
        add('before: cli create', c0);
        add('before: cli exec', e0);
        add('before: cli create+exec', c0 + e0);
      }
    }
    const b = `ls-${stamp}-${i + 2}-p`;
    // The in-process create's events, each stamped with when it was first seen after the POST.
    const t0 = performance.now();
    const seen = new Map();
    const stampEvent = (what) => seen.has(what) || seen.set(what, performance.now() - t0);
    const c2 = await time(() =>
      client.createWorkspace(
        { name: b, provider: 'lxc', image: 'lxcbench' },
        (e) => stampEvent(e.type === 'progress' ? `  ${e.stage}` : `  ${e.type}`),
        () => stampEvent('  accepted'),
      ),
    );
    if (keep) for (const [k, ms] of seen) add(`api create: ${k}`, ms);
    const e3 = await time(() => client.exec(b, { cmd: ['true'], tty: false, env: {} }, { stdout: sink(), stderr: sink() }));
    const e4 = await time(() => client.exec(b, { cmd: ['true'], tty: false, env: {} }, { stdout: sink(), stderr: sink() }));
    await berth('ws', 'rm', b);
    const n0 = await time(() => run(process.execPath, ['-e', '0']));
    // Node's own start-up without NODE_EXTRA_CA_CERTS (which makes Node parse that file first).
    const { NODE_EXTRA_CA_CERTS: _, ...bare } = process.env;
    const n1 = await time(() => run(process.execPath, ['-e', '0'], { env: bare }));
    const v = await time(() => berth('ws', 'ls'));
    const cname = `raw-${stamp}-${i + 2}`;
    let rc, rs;
    const ra = await time(async () => {
      rc = await time(() => rawLxcClone(cname, { imagesDir, image, store, ipv4: '10.0.3.250/24' }));
      rs = await time(() => run('lxc-start', ['-n', cname]));
      await run('lxc-attach', ['-n', cname, '--', '/bin/true']);
    });
    await run('lxc-destroy', ['-f', '-n', cname]);
    if (keep) {
      add('cli create', c1);
      add('cli exec (first)', e1);
      add('cli exec (second)', e2);
      add('cli create+exec', c1 + e1);
      add('api create', c2);
      add('api exec (first)', e3);
      add('api exec (second)', e4);
      add('api create+exec', c2 + e3);
      add('node -e 0', n0);
      add('node -e 0, no NODE_EXTRA_CA_CERTS', n1);
      add('berth ws ls', v);
      add('raw copy+config', rc);
      add('raw start', rs);
      add('raw attach', ra - rc - rs);
      add('raw total', ra);
    }
    process.stderr.write(`round ${i + 1}/${N}\n`);
  }
  for (const [k, xs] of Object.entries(t))
    console.log(`  ${k.padEnd(24)} p50 ${percentile(xs, 50).toFixed(1).padStart(7)}  p95 ${percentile(xs, 95).toFixed(1).padStart(7)}`);
} finally {
  await server.stop();
  await rm(home, { recursive: true, force: true });
  await rm(imagesDir, { recursive: true, force: true });
}
