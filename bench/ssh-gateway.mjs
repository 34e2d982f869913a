// SSH gateway against plain sshd, in the same workspace: a Debian image with openssh-server
// (and busybox for its httpd), one workspace, sshd started inside it by this script. Direct
// means OpenSSH straight to that sshd at the container's own address (a container this bench
// created, reached from the node). Measures, interleaved:
//   exec round trip: `ssh -p GW ws@127.0.0.1 true` vs `ssh root@CONTAINER true` (fresh
//   connection each time: TCP, key exchange, auth, channel, command, exit status);
//   bulk download of a file from busybox httpd inside: through the gateway's `ssh -L`, through
//   `ssh -L` to the workspace's own sshd, and a direct TCP connection to the container.
// Run `npm run build` first. The first run builds the Debian image (debootstrap, minutes).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { BerthClient } from '../dist/client/index.js';
import { freePort, ROOT, removeWorkspaceQuietly, report, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20);
const BULK_MIB = Number(process.env.BENCH_BULK_MIB ?? 64);
const BULK_N = Number(process.env.BENCH_BULK_N ?? 5);
const HTTP_PORT = 9000;

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const dir = await mkdtemp(join(tmpdir(), 'berth-bench-ssh-'));
const name = `sshbench-${Date.now().toString(36)}`;
const tunnels = [];
try {
  for (let i = 0; i < 300; i++) {
    const { nodes } = await client.call('nodesList');
    if (nodes.some((n) => n.status === 'online')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const key = join(dir, 'id');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = (await readFile(key + '.pub', 'utf8')).trim();
  await client.call('sshKeysPost', { body: { name: 'bench', publicKey: pub } });

  console.error('building the sshd image (debootstrap; cached after the first run)...');
  const build = await client.call('imagesPost', { body: { name: 'sshd', from: 'debian:bookworm', packages: ['openssh-server', 'busybox'] } });
  await client.waitOperation(build.operation.id);
  const created = await client.call('workspacesPost', { body: { name, image: 'sshd' } });
  await client.waitOperation(created.operation.id);
  const ws = await client.call('workspaceGet', { params: { name } });
  const { ssh: gw } = await client.call('gatewayGet');

  // sshd inside the workspace, and a file for httpd to serve.
  const setup = [
    'mkdir -p /run/sshd /root/.ssh /tmp/www',
    `printf '%s\\n' '${pub}' > /root/.ssh/authorized_keys`,
    'chmod 700 /root/.ssh; chmod 600 /root/.ssh/authorized_keys',
    'ssh-keygen -A >/dev/null',
    '/usr/sbin/sshd',
    `head -c ${BULK_MIB * 1024 * 1024} /dev/zero > /tmp/www/big`,
    `busybox httpd -p ${HTTP_PORT} -h /tmp/www`,
  ].join(' && ');
  const out = { stdout: process.stderr, stderr: process.stderr };
  const code = await client.exec(name, { cmd: ['/bin/sh', '-c', setup], tty: false, env: {} }, out);
  if (code !== 0) throw new Error(`setting up sshd in the workspace exited ${code}`);
  const [container] = await docker.listContainers({ filters: { label: [`berth.workspace=${ws.id}`] } });
  const ip = (await docker.getContainer(container.Id).inspect()).NetworkSettings.IPAddress;

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
    '-o',
    'LogLevel=ERROR',
  ];
  const viaGateway = ['-p', String(gw.port), `${name}@127.0.0.1`];
  const direct = [`root@${ip}`];

  // Exec round trips, interleaved, after two warm-ups each.
  const gatewayExec = [];
  const directExec = [];
  for (let i = -2; i < N; i++) {
    const g = await time(() => run('ssh', [...common, ...viaGateway, 'true']));
    const d = await time(() => run('ssh', [...common, ...direct, 'true']));
    if (i >= 0) {
      gatewayExec.push(g);
      directExec.push(d);
    }
  }
  const exec = report('exec round trip (fresh ssh connection + `true`)', { 'direct sshd': directExec, 'berth gateway': gatewayExec }, 'direct sshd');

  // Bulk download through tunnels.
  const tunnel = async (args) => {
    const port = await freePort();
    const child = spawn('ssh', [...common, '-N', '-L', `${port}:127.0.0.1:${HTTP_PORT}`, ...args], { stdio: 'ignore' });
    tunnels.push(child);
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return `http://127.0.0.1:${port}/big`;
  };
  // `berth port-forward` (a WebSocket to the server, no SSH), waited for like the tunnels.
  const portForward = async () => {
    const port = await freePort();
    const child = spawn(join(ROOT, 'bin/berth'), ['port-forward', name, `${port}:${HTTP_PORT}`], {
      stdio: 'ignore',
      env: { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token, BERTH_CONFIG: join(dir, 'cli-config.json') },
    });
    tunnels.push(child);
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return `http://127.0.0.1:${port}/big`;
  };
  // OpenSSH picks the first cipher of its own list the server offers: chacha20-poly1305 from
  // sshd, aes128-ctr (with hmac-sha2-256-etm) from the gateway. The -c series fix both on
  // aes128-gcm, the fastest with AES-NI, to show what the cipher alone is worth.
  const gcm = ['-c', 'aes128-gcm@openssh.com'];
  const urls = {
    'direct tcp': `http://${ip}:${HTTP_PORT}/big`,
    'ssh -L via sshd': await tunnel(direct),
    'ssh -L via gateway': await tunnel(viaGateway),
    'ssh -L via sshd, gcm': await tunnel([...gcm, ...direct]),
    'ssh -L via gateway, gcm': await tunnel([...gcm, ...viaGateway]),
    'berth port-forward': await portForward(),
  };
  const bulk = Object.fromEntries(Object.keys(urls).map((k) => [k, []]));
  for (let i = -1; i < BULK_N; i++) {
    for (const [k, url] of Object.entries(urls)) {
      const ms = await time(() => run('curl', ['-sS', '-o', '/dev/null', '--fail', url], { maxBuffer: 1024 * 1024 }));
      if (i >= 0) bulk[k].push(ms);
    }
  }
  const rates = Object.fromEntries(Object.entries(bulk).map(([k, xs]) => [k, xs.map((ms) => ms)]));
  const bulkReport = report(`bulk download of ${BULK_MIB} MiB (ms; MiB/s below)`, rates, 'direct tcp');
  for (const [k, r] of Object.entries(bulkReport)) console.log(`  ${k.padEnd(26)} ${((BULK_MIB * 1000) / r.p50).toFixed(1).padStart(8)} MiB/s`);

  const result = {
    bench: 'ssh-gateway',
    execRatio: exec['berth gateway'].p50 / exec['direct sshd'].p50,
    exec,
    bulkMiBps: Object.fromEntries(Object.entries(bulkReport).map(([k, r]) => [k, (BULK_MIB * 1000) / r.p50])),
  };
  result.throughputVsDirectTcp = result.bulkMiBps['ssh -L via gateway'] / result.bulkMiBps['direct tcp'];
  result.throughputVsSshd = result.bulkMiBps['ssh -L via gateway'] / result.bulkMiBps['ssh -L via sshd'];
  console.log(JSON.stringify(result));
  await writeFile(join(dir, 'result.json'), JSON.stringify(result));
} finally {
  for (const t of tunnels) t.kill();
  await removeWorkspaceQuietly(client, name);
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
