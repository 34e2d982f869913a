// LXC workspace create until exec works: berth (HTTP API → server → agent → lxc-copy,
// lxc-start, lxc-attach) against the raw tools on the same image container with the same
// config lines, 20 of each, interleaved. Run `npm run build` first; needs root, lxc and lxcbr0.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { BerthClient } from '../dist/client/index.js';
import { lxcCloneStore, rawLxcClone, report, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20);
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

// The bench's image containers live in a directory of its own, removed at the end.
const imagesDir = await mkdtemp('/var/tmp/berth-bench-lxc-images-');
process.env.BERTH_LXC_IMAGES_DIR = imagesDir;
const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
try {
  const store = await lxcCloneStore(client);
  const build = await client.call('imagesPost', { body: { name: 'lxcbench', from: 'busybox' } });
  await client.waitOperation(build.operation.id);
  const [image] = (await readdir(imagesDir)).filter((d) => d.startsWith('lxcbench_'));

  const berth = [];
  const raw = [];
  const stamp = Date.now().toString(36);
  for (let i = -2; i < N; i++) {
    const name = `lb-${stamp}-${i + 2}`;
    const tb = await time(async () => {
      const { operation } = await client.call('workspacesPost', { body: { name, provider: 'lxc', image: 'lxcbench' } });
      await client.waitOperation(operation.id);
      const code = await client.exec(name, { cmd: ['true'], tty: false, env: {} }, { stdout: sink(), stderr: sink() });
      if (code !== 0) throw new Error(`exec exited ${code}`);
    });
    const del = await client.call('workspaceDelete', { params: { name } });
    await client.waitOperation(del.operation.id);

    // The raw tools: the same clone, the same config lines, start, attach.
    const cname = `raw-${name}`;
    const tr = await time(async () => {
      await rawLxcClone(cname, { imagesDir, image, store, ipv4: '10.0.3.250/24' });
      await run('lxc-start', ['-n', cname]);
      await run('lxc-attach', ['-n', cname, '--', '/bin/true']);
    });
    await run('lxc-destroy', ['-f', '-n', cname]);
    if (i >= 0) {
      berth.push(tb);
      raw.push(tr);
    }
  }
  const figures = report(
    `LXC workspace create → exec works (n=${N}, ${store})`,
    { 'lxc-copy + start + attach': raw, 'berth ws create + exec': berth },
    'lxc-copy + start + attach',
  );
  console.log(JSON.stringify({ bench: 'lxc-create', n: N, backingStore: store, figures }));
} finally {
  await server.stop();
  await rm(imagesDir, { recursive: true, force: true });
}
