// VM boot until exec works: berth (HTTP API → server → agent → QEMU provider: disks, keys,
// boot, SSH through the pooled transport, then `true`) against a plain qemu-system-x86_64
// boot of the same kernel, initrd and base disk (overlay and seed made beforehand, untimed)
// until its sshd runs `true`. Same accelerator for both, 10 of each, interleaved.
// Run `npm run build` first; the first run builds the Debian VM image (minutes, then cached).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { BerthClient } from '../dist/client/index.js';
import { defaultCacheDir } from '../dist/images/index.js';
import { vmImageFile } from '../dist/images/qemu-disk.js';
import { freePort, report, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 10);
const IMAGE = 'bench-vm';
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls the guest's sshd every 100 ms until it runs `true` (ssh2, like berth's transport). */
async function untilSshRuns(port, privateKey, deadlineMs = 180_000) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = new ssh2.Client();
      const done = (v) => {
        c.end();
        resolve(v);
      };
      c.on('ready', () => c.exec('true', (err, ch) => (err ? done(false) : ch.on('close', (code) => done(code === 0)).resume())));
      c.on('error', () => done(false));
      c.connect({ host: '127.0.0.1', port, username: 'root', privateKey, readyTimeout: 5000 });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${port} did not answer`);
    await sleep(100);
  }
}

/** Disks and keys for the plain boots, made once: an overlay per boot is made (untimed) in plainBoot. */
async function plainFixture(dir) {
  const client = ssh2.utils.generateKeyPairSync('ed25519');
  const host = ssh2.utils.generateKeyPairSync('ed25519');
  const seed = join(dir, 'seed');
  await mkdir(seed, { recursive: true });
  await writeFile(join(seed, 'authorized_keys'), `${client.public}\n`, { mode: 0o600 });
  await writeFile(join(seed, 'ssh_host_ed25519_key'), host.private, { mode: 0o600 });
  await writeFile(join(seed, 'hostname'), 'plain\n');
  await run('mke2fs', ['-q', '-F', '-t', 'ext2', '-L', 'berth-seed', '-d', seed, join(dir, 'seed.img'), '1M']);
  return { privateKey: client.private };
}

async function plainBoot(img, dir, accel, fx) {
  await rm(join(dir, 'overlay.qcow2'), { force: true });
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', img.disk, '-F', 'qcow2', join(dir, 'overlay.qcow2')]);
  await run('truncate', ['-s', '8G', join(dir, 'home.img')]);
  await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'berth-home', '-E', 'lazy_itable_init=1,lazy_journal_init=1', join(dir, 'home.img')]);
  const port = await freePort();
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  const append = `console=ttyS0 quiet panic=-1 reboot=t${accel === 'tcg' && mhz ? ` tsc_early_khz=${Math.round(mhz * 1000)}` : ''}`;
  const drive = (id, file, fmt, ro = '') => ['-drive', `id=${id},file=${file},format=${fmt},if=none${ro}`, '-device', `virtio-blk-device,drive=${id}`];
  const args = [
    '-M',
    'microvm,x-option-roms=off,isa-serial=on,rtc=on',
    '-accel',
    accel,
    '-smp',
    '1',
    '-m',
    '256M',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    img.kernel,
    '-initrd',
    img.initrd,
    '-append',
    append,
    '-serial',
    'null',
    ...drive('root', join(dir, 'overlay.qcow2'), 'qcow2'),
    ...drive('home', join(dir, 'home.img'), 'raw'),
    ...drive('seed', join(dir, 'seed.img'), 'raw', ',readonly=on'),
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-device',
    'virtio-net-device,netdev=net0',
  ];
  let child;
  const ms = await time(async () => {
    child = spawn('qemu-system-x86_64', args, { stdio: 'ignore' });
    await untilSshRuns(port, fx.privateKey);
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return ms;
}

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const dir = await mkdtemp(join(tmpdir(), 'berth-bench-qemu-'));
try {
  for (let i = 0; i < 100; i++) {
    const { nodes } = await client.call('nodesList');
    if (nodes.some((n) => n.status === 'online')) break;
    await sleep(100);
  }
  const build = await client.call('imagesPost', { body: { name: IMAGE, from: 'debian:bookworm', packages: ['linux-image-cloud-amd64', 'openssh-server'] } });
  await client.waitOperation(build.operation.id);
  // The server learns that the node can now run VMs from the agent's next heartbeat.
  for (let i = 0; i < 300; i++) {
    const { nodes } = await client.call('nodesList');
    if (nodes.some((n) => n.providers.some((p) => p.kind === 'qemu' && p.usable))) break;
    await sleep(100);
  }
  const img = JSON.parse(await readFile(vmImageFile(defaultCacheDir(), IMAGE), 'utf8'));
  const accel = JSON.parse(await readFile(join(defaultCacheDir(), 'qemu', 'accel.json'), 'utf8')).verdict.accel;
  const fx = await plainFixture(dir);

  const berth = [];
  const plain = [];
  const stamp = Date.now().toString(36);
  for (let i = -1; i < N; i++) {
    const name = `bench-vm-${stamp}-${i + 1}`;
    const tb = await time(async () => {
      const { operation } = await client.call('workspacesPost', { body: { name, image: IMAGE, provider: 'qemu', cpus: 1, memory: '256m' } });
      await client.waitOperation(operation.id);
      const code = await client.exec(name, { cmd: ['true'], tty: false, env: {} }, { stdout: sink(), stderr: sink() });
      if (code !== 0) throw new Error(`exec exited ${code}`);
    });
    const del = await client.call('workspaceDelete', { params: { name } });
    await client.waitOperation(del.operation.id);
    const tp = await plainBoot(img, dir, accel, fx);
    if (i >= 0) {
      berth.push(tb);
      plain.push(tp);
    }
  }
  const figures = report(
    `VM boot → exec works, ${accel} (n=${N})`,
    { 'plain qemu until ssh true': plain, 'berth ws create + exec': berth },
    'plain qemu until ssh true',
  );
  console.log(JSON.stringify({ bench: 'qemu-boot', accel, n: N, figures }));
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
