// Timeline of creates in-process: POST → each operation event → done; vs docker run -d (create+start) via dockerode.
import { ROOT, run, startServer } from '../bench/lib.mjs';
import { join } from 'node:path';
const server = await startServer();
const env = { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
const berth = (...a) => run(join(ROOT, 'bin/berth'), a, { env });
const { BerthClient } = await import(join(ROOT, 'dist/client/index.js'));
const client = new BerthClient({ server: server.url, token: server.token });
try {
  for (;;) { const { stdout } = await berth('node', 'ls', '--json'); if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break; await new Promise((r) => setTimeout(r, 100)); }
  await berth('image', 'build', 'base', '--from', 'busybox');
  const totals = [];
  for (let i = 0; i < Number(process.env.N ?? 6); i++) {
    const name = `cs-${Date.now().toString(36)}-${i}`;
    const t0 = performance.now(); const lines = [];
    const accepted = await client.call('workspacesPost', { body: { name, image: 'base' } });
    lines.push(`${(performance.now() - t0).toFixed(1)} accepted`);
    await client.waitOperation(accepted.operation.id, (e) => lines.push(`${(performance.now() - t0).toFixed(1)} ${e.type} ${e.message ?? e.progress?.message ?? e.operation?.status ?? ''}`.slice(0, 100)));
    totals.push(performance.now() - t0);
    if (i === Number(process.env.N ?? 6) - 1) console.log(lines.join('\n'));
    await berth('ws', 'rm', name);
  }
  console.log('create p50', totals.sort((a, b) => a - b)[totals.length >> 1].toFixed(1), totals.map((x) => x.toFixed(0)).join(' '));
  const raw = [];
  for (let i = 0; i < 6; i++) { const c = `cs-raw-${i}`; const t0 = performance.now(); await run('docker', ['run', '-d', '--init', '-v', `${c}:/root`, '--name', c, 'berth/base:latest', 'sleep', '1000']); raw.push(performance.now() - t0); await run('docker', ['rm', '-f', c]); await run('docker', ['volume', 'rm', c]); }
  console.log('docker run -d --init -v p50', raw.sort((a, b) => a - b)[3].toFixed(1));
} finally { await server.stop(); }
