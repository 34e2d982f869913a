// Workspace create until exec works: berth (HTTP API → server → agent → Docker) against a
// plain `docker run -d` + `docker exec` of the same image, and against the same two calls on
// the Docker Engine API, 20 of each, interleaved. Run `npm run build` first.

import { Writable } from 'node:stream';
import Dockerode from 'dockerode';
import { BerthClient } from '../dist/client/index.js';
import { report, run, startServer, time } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20);
const IMAGE = 'berth/base:latest';
const KEEPALIVE = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

const server = await startServer();
const client = new BerthClient({ server: server.url, token: server.token });
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
try {
  for (let i = 0; i < 100; i++) {
    const { nodes } = await client.call('nodesList');
    if (nodes.some((n) => n.status === 'online')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const build = await client.call('imagesPost', { body: { name: 'base', from: 'busybox' } });
  await client.waitOperation(build.operation.id);

  const berth = [];
  const dockerCli = [];
  const engineApi = [];
  const stamp = Date.now().toString(36);
  for (let i = -2; i < N; i++) {
    const name = `bench-${stamp}-${i + 2}`;
    // berth
    const tb = await time(async () => {
      const { operation } = await client.call('workspacesPost', { body: { name, image: 'base' } });
      await client.waitOperation(operation.id);
      const code = await client.exec(name, { cmd: ['true'], tty: false, env: {} }, { stdout: sink(), stderr: sink() });
      if (code !== 0) throw new Error(`exec exited ${code}`);
    });
    const del = await client.call('workspaceDelete', { params: { name } });
    await client.waitOperation(del.operation.id);
    // docker CLI
    const cname = `${name}-cli`;
    const tc = await time(async () => {
      await run('docker', ['run', '-d', '--name', cname, IMAGE, ...KEEPALIVE]);
      await run('docker', ['exec', cname, 'true']);
    });
    await run('docker', ['rm', '-f', cname]);
    // Engine API
    const aname = `${name}-api`;
    const ta = await time(async () => {
      const c = await docker.createContainer({ name: aname, Image: IMAGE, Cmd: KEEPALIVE });
      await c.start();
      const e = await c.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
      const stream = await e.start({});
      await new Promise((r) => {
        stream.on('end', r);
        stream.resume();
      });
    });
    await docker.getContainer(aname).remove({ force: true });
    if (i >= 0) {
      berth.push(tb);
      dockerCli.push(tc);
      engineApi.push(ta);
    }
  }
  const figures = report(
    `workspace create → exec works (n=${N})`,
    { 'docker run + docker exec': dockerCli, 'engine API create+exec': engineApi, 'berth ws create + exec': berth },
    'docker run + docker exec',
  );
  console.log(JSON.stringify({ bench: 'workspace-create', n: N, figures }));
} finally {
  await server.stop();
}
