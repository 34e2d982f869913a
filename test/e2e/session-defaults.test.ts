/**
 * A workspace spec's `user` and `workdir` apply to the sessions people open, as they do to
 * hooks and services: `berth ws exec` and an SSH command through the gateway run as the spec's
 * user in its workdir, and `--workdir` still picks another directory. A busybox workspace,
 * whose `nobody` user and /tmp every image has.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Gateway, type GatewayAdmin, runProgram, startGatewayWorld, type TestServer, uniqueName } from './harness.js';

let server: TestServer;
let gw: Gateway;
let admin: GatewayAdmin;
let dir: string;
const plain = uniqueName('sdplain');
const specd = uniqueName('sdspec');

beforeAll(async () => {
  ({ server, gw, admin } = await startGatewayWorld(plain));
  dir = await mkdtemp(join(tmpdir(), 'berth-e2e-session-defaults-'));
  const spec = join(dir, 'berth.yaml');
  await writeFile(spec, 'image: base\nuser: nobody\nworkdir: /tmp\n');
  const r = await server.cli(['ws', 'create', specd, '--spec', spec]);
  if (r.code !== 0) throw new Error(`berth ws create --spec exited ${r.code}: ${r.stderr}`);
});

afterAll(async () => {
  await server?.cli(['ws', 'rm', specd]).catch(() => {});
  await server?.cli(['ws', 'rm', plain]).catch(() => {});
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("runs `berth ws exec` as the spec's user in its workdir; --workdir overrides the directory", async () => {
  const r = await server.cli(['ws', 'exec', specd, '--', 'sh', '-c', 'id -un; pwd']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('nobody\n/tmp\n');
  const w = await server.cli(['ws', 'exec', specd, '--workdir', '/', '--', 'sh', '-c', 'id -un; pwd']);
  expect(w.code, w.stderr).toBe(0);
  expect(w.stdout).toBe('nobody\n/\n');
  // A workspace without a spec keeps running sessions as root.
  const p = await server.cli(['ws', 'exec', plain, '--', 'id', '-un']);
  expect(p.stdout).toBe('root\n');
});

it("runs an SSH command through the gateway as the spec's user in its workdir", async () => {
  const ssh = (name: string) =>
    runProgram('ssh', [
      '-F',
      '/dev/null',
      '-i',
      admin.key,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${admin.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-p',
      String(gw.port),
      `${name}@${gw.host}`,
      'id -un; pwd',
    ]);
  const r = await ssh(specd);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('nobody\n/tmp\n');
  expect((await ssh(plain)).stdout.split('\n')[0]).toBe('root');
});
