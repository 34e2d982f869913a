// What a preview adds to an HTTP request: a Docker workspace runs a tiny keep-alive HTTP server
// (a busybox sh loop behind `nc -ll`, listening on every interface), and the same GET goes
// N times straight to the container's address and N times through the server's
// /w/NAME/p/PORT/ (bearer token, keep-alive on both), interleaved so machine noise hits both
// alike. Prints p50/p95 of both and the difference, against the aim of ≤ 2 ms at p50.
// BENCH_N sets the requests per series (default 500). Run `npm run build` first.
import { Agent, request } from 'node:http';
import { BerthClient } from '../dist/client/index.js';
import { busyboxWorkspace, percentile, removeWorkspaceQuietly, run, startServer } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 500);
const WARMUP = 50;
const PORT = 9300;
const AIM_MS = 2;

// Answers every request on a connection with the same small body; keeps the connection.
const SERVICE = `#!/bin/sh
cr=$(printf '\\r')
while read -r method target proto; do
  len=0
  while IFS= read -r line; do
    line=\${line%"$cr"}
    [ -z "$line" ] && break
    case "$line" in [Cc]ontent-[Ll]ength:*) len=\${line#*: };; esac
  done
  [ "$len" -gt 0 ] && head -c "$len" >/dev/null
  printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 6\\r\\n\\r\\nhello\\n'
done
`;

/** One GET over a keep-alive agent; resolves with its duration in ms. */
function get(agent, host, port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ agent, host, port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200 || body !== 'hello\n') return reject(new Error(`${path}: ${res.statusCode} ${body.slice(0, 200)}`));
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const name = `pvb-${Date.now().toString(36)}`;
try {
  const wsId = await busyboxWorkspace(client, name);
  const container = (await run('docker', ['ps', '-q', '--filter', `label=berth.workspace=${wsId}`])).stdout.trim();
  const ip = (await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container])).stdout.trim();
  // The script travels as an argument (execFile writes no stdin).
  await run('docker', ['exec', container, 'sh', '-c', `printf '%s' "$0" > /tmp/svc.sh && chmod +x /tmp/svc.sh`, SERVICE]);
  await run('docker', ['exec', '-d', container, 'nc', '-ll', '-p', String(PORT), '-e', '/tmp/svc.sh']);

  const serverPort = Number(new URL(server.url).port);
  const direct = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaPreview = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${server.token}` };
  const path = `/w/${name}/p/${PORT}/`;
  for (let i = 0; i < 100; i++) {
    if (
      await get(direct, ip, PORT, '/').then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < WARMUP; i++) {
    await get(direct, ip, PORT, '/');
    await get(viaPreview, '127.0.0.1', serverPort, path, auth);
  }
  const d = [];
  const p = [];
  for (let i = 0; i < N; i++) {
    // Alternate which goes first, so neither always follows the other.
    if (i % 2 === 0) {
      d.push(await get(direct, ip, PORT, '/'));
      p.push(await get(viaPreview, '127.0.0.1', serverPort, path, auth));
    } else {
      p.push(await get(viaPreview, '127.0.0.1', serverPort, path, auth));
      d.push(await get(direct, ip, PORT, '/'));
    }
  }
  direct.destroy();
  viaPreview.destroy();
  const added = percentile(p, 50) - percentile(d, 50);
  console.log(`\npreview: GET through /w/NAME/p/PORT/ vs straight to the container (keep-alive, n = ${N})`);
  console.log('  series          p50 ms   p95 ms');
  console.log(`  direct        ${percentile(d, 50).toFixed(2).padStart(8)} ${percentile(d, 95).toFixed(2).padStart(8)}`);
  console.log(`  preview       ${percentile(p, 50).toFixed(2).padStart(8)} ${percentile(p, 95).toFixed(2).padStart(8)}`);
  console.log(`  added at p50  ${added.toFixed(2).padStart(8)} ms   (aim ≤ ${AIM_MS} ms: ${added <= AIM_MS ? 'met' : 'MISSED'})`);
  console.log(
    JSON.stringify({
      bench: 'preview',
      n: N,
      directP50: percentile(d, 50),
      directP95: percentile(d, 95),
      previewP50: percentile(p, 50),
      previewP95: percentile(p, 95),
      addedP50: added,
    }),
  );
} finally {
  await removeWorkspaceQuietly(client, name);
  await server.stop();
}
