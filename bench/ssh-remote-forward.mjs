// ssh -R throughput against plain TCP. A busybox workspace; on "the laptop" (this machine's
// loopback) a TCP source that sends BENCH_BULK_MIB MiB and closes. Inside the workspace,
// `nc` reads it through the gateway's remote forward (berth-in relay → node exec → server →
// ssh client → source) and, as the baseline, from a busybox `nc -l` serving the same bytes on
// the workspace's own loopback (plain TCP). Each figure is one `ssh ws 'nc … | wc -c'` minus
// the median of `ssh ws true` (the session's own cost), interleaved.
// Run `npm run build` first.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthClient } from '../dist/client/index.js';
import { percentile, removeWorkspaceQuietly, report, run, startServer, time } from './lib.mjs';

const BULK_MIB = Number(process.env.BENCH_BULK_MIB ?? 64);
const N = Number(process.env.BENCH_BULK_N ?? 5);
const BYTES = BULK_MIB * 1024 * 1024;

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const dir = await mkdtemp(join(tmpdir(), 'berth-bench-sshr-'));
const name = `sshrbench-${Date.now().toString(36)}`;
const chunk = Buffer.alloc(1024 * 1024);
const source = createServer((s) => {
  let left = BYTES;
  const pump = () => {
    while (left > 0) {
      left -= chunk.length;
      if (!s.write(chunk)) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
  s.on('error', () => {});
});
let fwd;
try {
  await new Promise((r) => source.listen(0, '127.0.0.1', r));
  for (let i = 0; i < 300; i++) {
    const { nodes } = await client.call('nodesList');
    if (nodes.some((n) => n.status === 'online')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const key = join(dir, 'id');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await client.call('sshKeysPost', { body: { name: 'bench', publicKey: (await readFile(key + '.pub', 'utf8')).trim() } });
  const build = await client.call('imagesPost', { body: { name: 'base', from: 'busybox', packages: [] } });
  await client.waitOperation(build.operation.id);
  const created = await client.call('workspacesPost', { body: { name, image: 'base' } });
  await client.waitOperation(created.operation.id);
  const { ssh: gw } = await client.call('gatewayGet');
  const common = [
    '-F',
    '/dev/null',
    '-i',
    key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-p',
    String(gw.port),
  ];
  const inWs = (cmd) => run('ssh', [...common, '-o', 'LogLevel=ERROR', `${name}@127.0.0.1`, cmd], { maxBuffer: 1024 * 1024 });

  const port = await new Promise((resolve, reject) => {
    fwd = spawn(
      'ssh',
      [...common, '-o', 'LogLevel=INFO', '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${source.address().port}`, `${name}@127.0.0.1`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    fwd.stderr.on('data', (d) => {
      err += d;
      const m = /Allocated port (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    fwd.once('exit', () => reject(new Error(`ssh -R exited: ${err}`)));
    setTimeout(() => reject(new Error(`ssh -R printed no allocated port: ${err}`)), 30_000).unref();
  });
  // The plain-TCP baseline: the same bytes from a listener on the workspace's loopback.
  await inWs(`head -c ${BYTES} /dev/zero > /tmp/big`);
  const plain = `(nc -l -p 7777 < /tmp/big &) ; sleep 0.2; nc 127.0.0.1 7777 | wc -c`;
  const viaR = `nc 127.0.0.1 ${port} | wc -c`;
  const series = { session: [], 'plain tcp': [], 'ssh -R': [] };
  for (let i = -1; i < N; i++) {
    const s = await time(() => inWs('true'));
    let out;
    const p = await time(async () => (out = await inWs(plain)));
    if (Number(out.stdout.trim()) !== BYTES) throw new Error(`plain tcp moved ${out.stdout.trim()} bytes`);
    const r = await time(async () => (out = await inWs(viaR)));
    if (Number(out.stdout.trim()) !== BYTES) throw new Error(`ssh -R moved ${out.stdout.trim()} bytes`);
    if (i >= 0) {
      series.session.push(s);
      series['plain tcp'].push(p - 200);
      series['ssh -R'].push(r);
    }
  }
  const base = percentile(series.session, 50);
  for (const k of ['plain tcp', 'ssh -R']) series[k] = series[k].map((ms) => Math.max(1, ms - base));
  const rep = report(
    `${BULK_MIB} MiB into the workspace (ms, less the session's own ${base.toFixed(0)} ms)`,
    { 'plain tcp': series['plain tcp'], 'ssh -R': series['ssh -R'] },
    'plain tcp',
  );
  const mibps = Object.fromEntries(Object.entries(rep).map(([k, r]) => [k, (BULK_MIB * 1000) / r.p50]));
  for (const [k, v] of Object.entries(mibps)) console.log(`  ${k.padEnd(26)} ${v.toFixed(1).padStart(8)} MiB/s`);
  console.log(JSON.stringify({ bench: 'ssh-remote-forward', bulkMiBps: mibps, ratio: mibps['ssh -R'] / mibps['plain tcp'] }));
} finally {
  fwd?.kill();
  source.close();
  await removeWorkspaceQuietly(client, name);
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
