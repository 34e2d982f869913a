// Client-side timeline of one exec session over the raw WebSocket, in-process: upgrade, started, exit.
import { ROOT, run, startServer } from '../bench/lib.mjs';
import { join } from 'node:path';
const { default: WebSocket } = await import(join(ROOT, 'node_modules/ws/index.js'));
const server = await startServer();
const env = { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
const berth = (...a) => run(join(ROOT, 'bin/berth'), a, { env });
try {
  for (;;) { const { stdout } = await berth('node', 'ls', '--json'); if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break; await new Promise((r) => setTimeout(r, 100)); }
  await berth('image', 'build', 'base', '--from', 'busybox');
  const ws = 'wt-' + Date.now().toString(36);
  await berth('ws', 'create', ws, '--image', 'base');
  const rows = [];
  for (let i = 0; i < Number(process.env.N ?? 20); i++) {
    const t0 = performance.now(); const t = {};
    await new Promise((resolve) => {
      const s = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/workspaces/${ws}/exec`, { headers: { authorization: `Bearer ${server.token}` }, perMessageDeflate: false });
      s.on('upgrade', () => (t.upgrade = performance.now() - t0));
      s.on('open', () => { t.open = performance.now() - t0; s.send(JSON.stringify({ type: 'start', request: { cmd: ['true'], tty: false, env: {} } })); });
      s.on('message', (d) => { const f = JSON.parse(d.toString()); t[f.type] = performance.now() - t0; if (f.type === 'started') s.send(JSON.stringify({ type: 'eof' })); if (f.type === 'exit' || f.type === 'error') { if (f.error) console.log(f.error); s.close(); resolve(); } });
    });
    rows.push(t);
  }
  const keys = Object.keys(rows[0]);
  for (const k of keys) { const xs = rows.map((r) => r[k]).sort((a, b) => a - b); console.log(k.padEnd(10), xs[xs.length >> 1].toFixed(1)); }
  await berth('ws', 'rm', ws);
} finally { await server.stop(); }
