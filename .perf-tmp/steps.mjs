// Times the pieces of `berth ws exec NAME -- true`: whole CLI, in-process client exec (server+agent+engine),
// docker exec CLI, in-process dockerode exec, node -e 0, snapshot-only start (berth --help-ish).
import { ROOT, run, startServer, time, percentile } from '../bench/lib.mjs';
import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
const N = Number(process.env.N ?? 15);
const server = await startServer();
const home = await mkdtemp(join(tmpdir(), 'bh-'));
const env = { ...process.env, HOME: home, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
const BERTH = join(ROOT, 'bin/berth');
const BEFORE = process.env.BEFORE;
const berth = (...a) => run(BERTH, a, { env });
const { BerthClient } = await import(join(ROOT, 'dist/client/index.js'));
const client = new BerthClient({ server: server.url, token: server.token });
const { default: Docker } = await import(join(ROOT, 'node_modules/dockerode/lib/docker.js'));
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
try {
  for (let i = 0; ; i++) { const { stdout } = await berth('node', 'ls', '--json'); if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break; await new Promise((r) => setTimeout(r, 100)); }
  await berth('image', 'build', 'base', '--from', 'busybox');
  const ws = 'st-' + Date.now().toString(36);
  await berth('ws', 'create', ws, '--image', 'base');
  const c = ws + '-raw';
  await run('docker', ['run', '-d', '--name', c, 'berth/base:latest', 'sleep', '100000']);
  const sink = { write: () => true, on() {}, once() {}, end() {} };
  const { Writable } = await import('node:stream');
  const nul = () => new Writable({ write(_c, _e, cb) { cb(); } });
  const series = {
    'node -e 0': () => run(process.execPath, ['-e', '0']),
    'docker exec': () => run('docker', ['exec', c, 'true']),
    'dockerode exec (create+start+inspect)': async () => { const e = await docker.getContainer(c).exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true }); const s = await e.start({}); await new Promise((r) => { s.on('end', r); s.resume(); }); await e.inspect(); },
    'client.exec in-process': () => client.exec(ws, { cmd: ['true'], tty: false, env: {} }, { stdin: null, stdout: nul(), stderr: nul() }),
    'berth ws exec': () => berth('ws', 'exec', ws, '--', 'true'),
    'berth ws exec --help (no request)': () => berth('ws', 'exec', '--help'),
    ...(BEFORE ? { 'berth ws exec (before)': () => run(BEFORE, ['ws', 'exec', ws, '--', 'true'], { env }), 'berth ws exec --help (before)': () => run(BEFORE, ['ws', 'exec', '--help'], { env }) } : {}),
  };
  const times = Object.fromEntries(Object.keys(series).map((k) => [k, []]));
  const names = Object.keys(series);
  for (let r = -2; r < N; r++) {
    const shift = ((r % names.length) + names.length) % names.length;
    for (const k of [...names.slice(shift), ...names.slice(0, shift)]) { const ms = await time(series[k]); if (r >= 0) times[k].push(ms); }
  }
  for (const k of names) console.log(k.padEnd(42), percentile(times[k], 50).toFixed(1).padStart(8), percentile(times[k], 95).toFixed(1).padStart(8));
  if (process.env.PROF) {
    await run(process.execPath, ['--cpu-prof', '--cpu-prof-dir', process.env.PROF, '--snapshot-blob', join(ROOT, 'dist/snapshot/berth.blob'), '--', BERTH, 'ws', 'exec', ws, '--', 'true'], { env });
  }
  await berth('ws', 'rm', ws);
  await run('docker', ['rm', '-f', c]);
} finally { await server.stop(); }
