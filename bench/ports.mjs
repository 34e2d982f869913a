// How soon a port that starts listening inside a workspace shows in `GET /workspaces/:name/ports`
// (what `berth ports` reads), against the aim of 2 s; and how soon it is gone after its
// process stops. The listener is busybox httpd started through the engine directly (`docker
// exec -d`), so the clock starts when the process exists, not when a berth exec returned.
// N rounds; prints p50/p95 of both. Run `npm run build` first.
import { BerthClient } from '../dist/client/index.js';
import { busyboxWorkspace, percentile, removeWorkspaceQuietly, run, startServer } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 10);
const AIM_MS = 2000;

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const name = `ports-${Date.now().toString(36)}`;
try {
  const container = (await run('docker', ['ps', '-q', '--filter', `label=berth.workspace=${await busyboxWorkspace(client, name)}`])).stdout.trim();

  const visible = async (port, want) => {
    const { ports } = await client.call('workspacePortsGet', { params: { name } });
    return ports.some((p) => p.port === port) === want;
  };
  const until = async (port, want) => {
    const t0 = performance.now();
    while (!(await visible(port, want))) {
      if (performance.now() - t0 > 10_000) throw new Error(`port ${port} never ${want ? 'appeared' : 'went away'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return performance.now() - t0;
  };
  const appear = [];
  const vanish = [];
  for (let i = 0; i < N; i++) {
    const port = 9100 + i;
    // A random pause first: otherwise each round starts just after the previous one saw a
    // scan, always the same distance from the next one.
    await new Promise((r) => setTimeout(r, Math.random() * 1000));
    await run('docker', ['exec', '-d', container, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/tmp']);
    appear.push(await until(port, true));
    await new Promise((r) => setTimeout(r, Math.random() * 1000));
    await run('docker', ['exec', container, 'killall', 'httpd']);
    vanish.push(await until(port, false));
  }
  const row = (label, xs) =>
    `  ${label.padEnd(28)} ${percentile(xs, 50).toFixed(0).padStart(6)} ms ${percentile(xs, 95).toFixed(0).padStart(6)} ms   ${(percentile(xs, 95) / AIM_MS).toFixed(2)}× of the 2 s aim (p95)`;
  console.log(`\nports: listening → visible in the API (n = ${N})\n  ${'series'.padEnd(28)}    p50       p95`);
  console.log(row('port appears', appear));
  console.log(row('port disappears', vanish));
  console.log(
    JSON.stringify({
      bench: 'ports',
      n: N,
      appearP50: percentile(appear, 50),
      appearP95: percentile(appear, 95),
      vanishP50: percentile(vanish, 50),
      vanishP95: percentile(vanish, 95),
    }),
  );
} finally {
  await removeWorkspaceQuietly(client, name);
  await server.stop();
}
