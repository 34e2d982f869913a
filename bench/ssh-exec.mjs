// SSH exec latency: berth's pooled SshTransport (one channel on a kept connection) against a
// fresh connection per exec (TCP connect, key exchange, authentication, channel), and against
// a bare ssh2 channel on a kept connection (what pooling can at best reach), 20 of each,
// interleaved, against a private loopback sshd this script starts. Run `npm run build` first.
import ssh2 from 'ssh2';
import { startTestSshd } from '../dist/testing/sshd.js';
import { SshTransport } from '../dist/transport/ssh.js';
import { report, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20);
const CMD = { cmd: ['true'] };

/** One `true` on a bare ssh2 client: no pool, no quoting, no marker. */
function rawExec(client) {
  return new Promise((resolve, reject) => {
    client.exec('true', (err, channel) => {
      if (err) return reject(err);
      channel.stderr.resume();
      channel.resume().on('close', (code) => (code === 0 ? resolve() : reject(new Error(`raw exec exited ${code}`))));
    });
  });
}

const sshd = await startTestSshd();
const pooled = new SshTransport(sshd.clientOptions());
const raw = new ssh2.Client();
await new Promise((resolve, reject) => {
  raw.once('ready', resolve).once('error', reject);
  raw.connect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey });
  raw.setNoDelay(true);
});
try {
  const series = { 'pooled (berth transport)': [], 'bare ssh2, kept connection': [], 'fresh connection per exec': [] };
  // Two warm-up rounds of each: the first dial, JIT and sshd's own caches are not what we measure.
  for (let i = -2; i < N; i++) {
    const tp = await time(async () => {
      const r = await pooled.run(CMD);
      if (r.code !== 0) throw new Error(`pooled exec exited ${r.code}: ${r.stderr}`);
    });
    const tr = await time(() => rawExec(raw));
    // The fresh series stops its clock when the exec is done; closing the connection
    // afterwards is not charged to it.
    const fresh = new SshTransport(sshd.clientOptions());
    const tf = await time(async () => {
      const r = await fresh.run(CMD);
      if (r.code !== 0) throw new Error(`fresh exec exited ${r.code}: ${r.stderr}`);
    });
    await fresh.close();
    if (i >= 0) {
      series['pooled (berth transport)'].push(tp);
      series['bare ssh2, kept connection'].push(tr);
      series['fresh connection per exec'].push(tf);
    }
  }
  if (pooled.stats().dials !== 1) throw new Error(`the pooled transport dialled ${pooled.stats().dials} times; expected 1`);
  const figures = report(`ssh exec of \`true\` on loopback as ${sshd.username} (n=${N}; ratio = p50 / pooled p50)`, series, 'pooled (berth transport)');
  const speedup = figures['fresh connection per exec'].p50 / figures['pooled (berth transport)'].p50;
  console.log(`  pooled exec is ${speedup.toFixed(1)}× faster than a fresh connection per exec (p50)`);
  console.log(JSON.stringify({ bench: 'ssh-exec', n: N, figures, speedup }));
} finally {
  raw.end();
  await pooled.close();
  await sshd.stop();
}
