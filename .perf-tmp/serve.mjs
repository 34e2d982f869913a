// Starts a bench server with a workspace `pw` and a raw container `pw-raw`, writes /tmp/perf-env.sh, and waits for SIGTERM.
import { ROOT, run, startServer } from '../bench/lib.mjs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
const server = await startServer();
const env = { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
const berth = (...a) => run(join(ROOT, 'bin/berth'), a, { env });
for (;;) { const { stdout } = await berth('node', 'ls', '--json'); if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break; await new Promise((r) => setTimeout(r, 100)); }
await berth('image', 'build', 'base', '--from', 'busybox');
await berth('ws', 'create', 'pw', '--image', 'base');
await run('docker', ['run', '-d', '--name', 'pw-raw', 'berth/base:latest', 'sleep', '100000']).catch(() => {});
writeFileSync('/tmp/perf-env.sh', `export BERTH_SERVER=${server.url} BERTH_TOKEN=${server.token}\n`);
console.log('ready');
const stop = async () => { await berth('ws', 'rm', 'pw').catch(() => {}); await run('docker', ['rm', '-f', 'pw-raw']).catch(() => {}); await server.stop(); process.exit(0); };
process.on('SIGTERM', stop); process.on('SIGINT', stop);
setInterval(() => {}, 1e6);
