// The server's CPU per TLS handshake with berth's own certificates (an ECDSA P-256 CA and
// serving certificate, TLS 1.3): full handshakes against ones that resume the client's last
// session, as the agent's redials do (src/agent/connection/tls-resume.ts). Alternating series
// in one run, so machine noise hits both alike. Needs `npm run build` (dist/server/tls/certs.js).
//
//   flock /tmp/berth-heavy.lock taskset -c 0 node bench/tls-handshake.mjs
//   env: BENCH_N (2000 handshakes a series), BENCH_ROUNDS (2 of each)
//
// The server is this process (its CPU from process.cpuUsage); each series' client is a child
// process doing one handshake after another, each sending a byte and waiting for the answer.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { connect, createSecureContext, createServer } from 'node:tls';
import { ROOT } from './lib.mjs';

if (process.argv[2] === 'client') {
  const { port, ca, n, resume } = JSON.parse(process.argv[3]);
  const secureContext = createSecureContext({ ca });
  let session;
  for (let i = 0; i < n; i++) {
    await new Promise((done, fail) => {
      const s = connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost', session: resume ? session : undefined }, () => s.write('x'));
      s.on('session', (ticket) => {
        session ??= ticket;
      });
      s.on('data', () => s.end());
      s.on('close', done);
      s.on('error', fail);
    });
  }
  process.exit(0);
}

const N = Number(process.env.BENCH_N ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const { createCa, issueServerCert } = await import(join(ROOT, 'dist/server/tls/certs.js'));
const ca = await createCa('tls-handshake bench');
const leaf = await issueServerCert(ca, ['localhost', '127.0.0.1']);
const server = createServer({ cert: leaf.cert + ca.cert, key: leaf.key }, (s) => s.on('data', () => s.end('y')));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
let resumed = 0;
server.on('secureConnection', (s) => {
  if (s.isSessionReused()) resumed++;
});
const { port } = server.address();
console.log(`tls-handshake: ${N} handshakes a series, ${ROUNDS} rounds, TLS 1.3, ECDSA P-256 chain`);
for (let round = 0; round < ROUNDS; round++) {
  for (const resume of [false, true]) {
    resumed = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const child = fork(new URL(import.meta.url).pathname, ['client', JSON.stringify({ port, ca: ca.cert, n: N, resume })]);
    const code = await new Promise((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`the client exited with ${code}`);
    const cpu = process.cpuUsage(cpu0);
    const perMs = (cpu.user + cpu.system) / N / 1000;
    console.log(
      `  ${resume ? 'resumed' : 'full   '}  server CPU ${perMs.toFixed(3)} ms a handshake, wall ${((performance.now() - t0) / N).toFixed(2)} ms a connection (${resumed} of ${N} resumed)`,
    );
  }
}
server.close();
