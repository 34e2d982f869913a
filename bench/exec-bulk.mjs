// Bulk bytes through `berth ws exec` against `docker exec`, as typed: `berth ws exec NAME --
// cat FILE > /dev/null` vs `docker exec C cat FILE > /dev/null` of the same file in the same
// container (the workspace's own), interleaved, and the same the other way, a file piped into
// `cat > /dev/null` through stdin. Whole commands, process start-up included.
//
// Run `npm run build` first. BENCH_MIB (default 256) per transfer, BENCH_N (default 5) rounds
// after one warm-up. BENCH_BERTH_BEFORE=/path/to/other/bin/berth adds that build's CLI.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { BerthClient } from '../dist/client/index.js';
import { busyboxWorkspace, ROOT, removeWorkspaceQuietly, report, startServer, time } from './lib.mjs';

const MIB = Number(process.env.BENCH_MIB ?? 256);
const N = Number(process.env.BENCH_N ?? 5);
const BEFORE = process.env.BENCH_BERTH_BEFORE;

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const dir = await mkdtemp(join(tmpdir(), 'berth-bench-bulk-'));
const name = `bulk-${Date.now().toString(36)}`;
const env = { ...process.env, HOME: dir, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
delete env.BERTH_CONFIG;

/** Runs a command with stdout to /dev/null and, optionally, a file on stdin; rejects on a non-zero exit. */
const command = (cmd, args, input) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: [input ? 'pipe' : 'ignore', 'ignore', 'inherit'] });
    if (input) createReadStream(input).pipe(child.stdin);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });

try {
  const id = await busyboxWorkspace(client, name);
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  const [container] = await docker.listContainers({ filters: { label: [`berth.workspace=${id}`] } });
  const file = join(dir, 'big');
  await writeFile(file, Buffer.alloc(MIB * 1024 * 1024, 7));
  await command('docker', ['exec', container.Id, 'sh', '-c', `head -c ${MIB * 1024 * 1024} /dev/zero > /tmp/big`]);

  const berths = { berth: join(ROOT, 'bin/berth'), ...(BEFORE ? { 'berth (before)': BEFORE } : {}) };
  const out = { 'docker exec': [] };
  const into = { 'docker exec -i': [] };
  for (const k of Object.keys(berths)) {
    out[`${k} ws exec`] = [];
    into[`${k} ws exec (stdin)`] = [];
  }
  for (let i = -1; i < N; i++) {
    const d = await time(() => command('docker', ['exec', container.Id, 'cat', '/tmp/big']));
    const di = await time(() => command('docker', ['exec', '-i', container.Id, 'sh', '-c', 'cat > /dev/null'], file));
    if (i >= 0) out['docker exec'].push(d);
    if (i >= 0) into['docker exec -i'].push(di);
    for (const [k, bin] of Object.entries(berths)) {
      const b = await time(() => command(bin, ['ws', 'exec', name, '--', 'cat', '/tmp/big']));
      const bi = await time(() => command(bin, ['ws', 'exec', name, '--', 'sh', '-c', 'cat > /dev/null'], file));
      if (i >= 0) out[`${k} ws exec`].push(b);
      if (i >= 0) into[`${k} ws exec (stdin)`].push(bi);
    }
  }
  const rate = (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, (MIB * 1000) / v.p50]));
  const o = report(`${MIB} MiB of output (cat FILE)`, out, 'docker exec');
  const n = report(`${MIB} MiB of input (cat > /dev/null)`, into, 'docker exec -i');
  console.log(JSON.stringify({ bench: 'exec-bulk', mib: MIB, outputMiBps: rate(o), inputMiBps: rate(n) }));
} finally {
  await removeWorkspaceQuietly(client, name);
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
