import { join } from 'node:path';
const { default: Docker } = await import(join(process.cwd(), 'node_modules/dockerode/lib/docker.js'));
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const { execFileSync } = await import('node:child_process');
const c = 'perf-insp-' + process.pid;
execFileSync('docker', ['run', '-d', '--init', '--name', c, 'berth/base:latest', 'sleep', '1000']);
let notDone = 0; const t = { create: [], start: [], inspect: [] };
for (let i = 0; i < 20; i++) {
  let t0 = performance.now();
  const e = await docker.getContainer(c).exec({ Cmd: ['true'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
  let t1 = performance.now(); t.create.push(t1 - t0);
  const s = await e.start({ hijack: true, stdin: true });
  s.resume();
  await new Promise((r) => { s.once('end', r); s.once('close', r); });
  let t2 = performance.now(); t.start.push(t2 - t1);
  const info = await e.inspect();
  t.inspect.push(performance.now() - t2);
  if (info.Running || info.ExitCode == null) notDone++;
}
execFileSync('docker', ['rm', '-f', c]);
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(1);
console.log('first inspect not done', notDone, '/20; create', med(t.create), 'start->end', med(t.start), 'inspect', med(t.inspect));
