// Shared bench helpers: a real berth server with its local agent in a temp dir, timing and
// percentiles. Benchmarks measure berth and the raw engine in the same run, interleaved,
// so machine noise hits both alike.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const run = promisify(execFile);

/** A free loopback port. */
export function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** `n` distinct free loopback ports. */
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((res) => {
          const s = createServer().listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return ports;
}

/** Starts `berth server --local-agent` of the checkout at `root` (this one by default); returns { url, token, stop }. */
export async function startServer(root = ROOT) {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  // Both held open until both are known: two freePort() calls in a row can get the same port.
  const [port, sshPort] = await freePorts(2);
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server itself.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // As a user starts it (bin/berth gives Node the server's flags); with node flags, node runs bin/berth's JavaScript with just those.
  const child = spawn(
    nodeArgs.length ? process.execPath : join(root, 'bin/berth'),
    [
      ...nodeArgs,
      ...(nodeArgs.length ? [join(root, 'bin/berth')] : []),
      'server',
      '--local-agent',
      '--listen',
      `127.0.0.1:${port}`,
      '--ssh-listen',
      `127.0.0.1:${sshPort}`,
      '--data-dir',
      dataDir,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (
      await fetch(`${url}/api/v1/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    url,
    token,
    sshPort,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Milliseconds taken by `fn`. */
/**
 * On a fresh bench server: waits for its local node, builds the busybox `base` image and
 * creates workspace `name` on it; answers the workspace's id.
 */
export async function busyboxWorkspace(client, name) {
  for (let i = 0; i < 100; i++) {
    if ((await client.call('nodesList')).nodes.some((n) => n.status === 'online')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const build = await client.call('imagesPost', { body: { name: 'base', from: 'busybox' } });
  await client.waitOperation(build.operation.id);
  const created = await client.call('workspacesPost', { body: { name, image: 'base' } });
  await client.waitOperation(created.operation.id);
  return (await client.call('workspaceGet', { params: { name } })).id;
}

export async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The p-th percentile (0..100) of `xs`, nearest-rank. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Prints a comparison table and returns its figures. */
export function report(title, rows, baseline) {
  const out = {};
  console.log(`\n${title}`);
  console.log('  series                      p50 ms    p95 ms   p50 ratio');
  for (const [name, xs] of Object.entries(rows)) {
    const p50 = percentile(xs, 50);
    const p95 = percentile(xs, 95);
    out[name] = { p50, p95, n: xs.length };
    const ratio = baseline && rows[baseline] ? p50 / percentile(rows[baseline], 50) : null;
    console.log(`  ${name.padEnd(26)} ${p50.toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(9)} ${ratio ? ratio.toFixed(2).padStart(10) + '×' : ''}`);
  }
  return out;
}

/** Where LXC keeps its containers on this host. */
export const LXC_PATH = '/var/lib/lxc';

/**
 * The raw tools' side of the LXC benches: `lxc-copy` of the image container (an overlay
 * snapshot or a full copy) plus the same config lines berth writes, with no berth process in
 * the way. The caller then runs `lxc-start` and `lxc-attach` itself and times them as it likes.
 */
export async function rawLxcClone(name, { imagesDir, image, store, ipv4 }) {
  const { INIT_FILE, INIT_SCRIPT, workspaceConfigLines } = await import('../dist/providers/lxc/config.js');
  const dir = `${LXC_PATH}/${name}`;
  await run('lxc-copy', ['-P', imagesDir, '-n', image, '-p', LXC_PATH, '-N', name, ...(store === 'overlay' ? ['-s', '-B', 'overlay'] : ['-B', 'dir'])]);
  const spec = { id: name, name, provider: 'lxc', image: 'lxcbench', cpus: null, memoryBytes: null, env: {} };
  const lines = workspaceConfigLines(spec, { containerDir: dir, bridge: 'lxcbr0', ipv4, gateway: '10.0.3.1', cgroup: 'v1', memswAvailable: false });
  const config = (await readFile(`${dir}/config`, 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('lxc.uts.name'));
  await writeFile(`${dir}/${INIT_FILE}`, INIT_SCRIPT, { mode: 0o755 });
  await writeFile(`${dir}/config`, [...config, ...lines.filter((l) => !l.startsWith('lxc.cgroup')), ''].join('\n'));
}

/** Deletes a bench's workspace and waits for it, ignoring any failure (cleanup in `finally`). */
export async function removeWorkspaceQuietly(client, name) {
  await client
    .call('workspaceDelete', { params: { name } })
    .then((r) => client.waitOperation(r.operation.id))
    .catch(() => {});
}

/** Waits for the local node's LXC provider to be usable; answers its clone store, 'overlay' or 'dir'. */
export async function lxcCloneStore(client) {
  for (let i = 0; i < 100; i++) {
    const { nodes } = await client.call('nodesList');
    const lxc = nodes.find((n) => n.status === 'online')?.providers.find((p) => p.kind === 'lxc');
    if (lxc?.usable) return lxc.details.backingStore.startsWith('overlay') ? 'overlay' : 'dir';
    if (i === 99) throw new Error(`LXC is not usable on this node: ${lxc?.reason ?? 'no node online'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Where a process's resident memory is, in KiB, from /proc/PID/smaps: glibc's main heap
 * (`[heap]`), other anonymous mappings (V8's heap, thread stacks, other arenas, the
 * bracketed kernel ones), mapped files, and all of it.
 */
export function residentByMapping(pid) {
  const kib = { heap: 0, anon: 0, file: 0, rss: 0 };
  let kind = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) kind = m[1] === '[heap]' ? 'heap' : m[1] === '' || m[1].startsWith('[') ? 'anon' : 'file';
    else if (line.startsWith('Rss:')) {
      const n = Number(line.split(/\s+/)[1]);
      kib[kind] += n;
      kib.rss += n;
    }
  }
  return kib;
}
