/**
 * LXC end to end through the CLI: one image build makes both the Docker image and the LXC
 * rootfs; an LXC workspace goes through create, exec, stop, start and delete while a Docker
 * workspace runs beside it on the same node; after delete, lxc-ls shows no berth container of
 * the test and no rootfs is left on disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLeftovers, LXC_PATH, lxcContainersOf, ROOT, TestServer, uniqueName } from './harness.js';

let server: TestServer;
let imagesDir = '';
const lxcName = uniqueName('lxc');
const dockerName = uniqueName('dock');
let lxcWs: any;

beforeAll(async () => {
  // The test's LXC images stay in a directory of its own, removed afterwards.
  imagesDir = await mkdtemp('/var/tmp/berth-e2e-lxc-images-');
  server = await TestServer.start({ localAgent: true, env: { BERTH_LXC_IMAGES_DIR: imagesDir } });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'lxcbase', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  try {
    await server?.cli(['ws', 'rm', lxcName]).catch(() => {});
    await server?.cli(['ws', 'rm', dockerName]).catch(() => {});
    await server?.destroy();
  } finally {
    if (imagesDir) await rm(imagesDir, { recursive: true, force: true });
  }
});

describe('an LXC workspace through the CLI', () => {
  it('reports LXC usable on the node, with its backing store', async () => {
    const [node] = await server.json<any>(['node', 'ls']).then((r) => r.nodes as any[]);
    const lxc = node.providers.find((p: any) => p.kind === 'lxc');
    expect(lxc.usable, lxc.reason).toBe(true);
    expect(lxc.details.backingStore).toMatch(/overlay|dir/);
  });

  it('builds the LXC rootfs from the same image build', async () => {
    const builds = (await readdir(imagesDir)).filter((d) => d.startsWith('lxcbase_'));
    expect(builds).toHaveLength(1);
    expect((await stat(join(imagesDir, builds[0], 'rootfs/bin/busybox'))).isFile()).toBe(true);
  });

  it('creates an LXC workspace with limits and shows it running', async () => {
    const r = await server.cli(['ws', 'create', lxcName, '--provider', 'lxc', '--image', 'lxcbase', '--cpus', '1', '--memory', '256m']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    lxcWs = await server.json<any>(['ws', 'show', lxcName]);
    expect(lxcWs).toMatchObject({ status: 'running', provider: 'lxc', memoryBytes: 256 * 1024 ** 2 });
    const [container] = await lxcContainersOf(lxcWs.id);
    expect(container).toBeDefined();
    const meta = JSON.parse(await readFile(join(LXC_PATH, container, 'berth.json'), 'utf8'));
    expect(meta['berth.node']).toBe(lxcWs.nodeId);
    // The agent copies berth-in in through lxc-attach before the first command that runs it, as through Docker's exec.
    const helper = await server.cli(['ws', 'exec', lxcName, '--', '/.berth/bin/berth-in', 'version']);
    expect(helper.code, helper.stderr).toBe(0);
    expect(helper.stdout.trim()).toBe((await readFile(join(ROOT, 'dist/native/berth-in.version'), 'utf8')).trim());
  });

  it('execs with separate streams, exit codes, stdin, env and working directory', async () => {
    const r = await server.cli(['ws', 'exec', lxcName, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stdout: 'out\n' });
    expect(r.stderr).toContain('err\n');
    const cat = await server.cli(['ws', 'exec', lxcName, '--', 'cat'], { input: 'through stdin\n' });
    expect(cat.stdout).toBe('through stdin\n');
    const env = await server.cli([
      'ws',
      'exec',
      lxcName,
      '-e',
      'GREETING=hi there',
      '-w',
      '/tmp',
      '--',
      'sh',
      '-c',
      'echo "$GREETING in $(pwd) on $(hostname)"',
    ]);
    expect(env.stdout).toBe(`hi there in /tmp on ${lxcName}\n`);
  });

  it('runs a Docker workspace beside it on the same node', async () => {
    const r = await server.cli(['ws', 'create', dockerName, '--provider', 'docker', '--image', 'lxcbase']);
    expect(r.code, r.stderr).toBe(0);
    const list = await server.json<any>(['ws', 'ls']).then((x) => x.workspaces as any[]);
    const mine = list.filter((w) => w.name === lxcName || w.name === dockerName);
    expect(mine.map((w) => `${w.provider}:${w.status}`).sort()).toEqual(['docker:running', 'lxc:running']);
    expect(new Set(mine.map((w) => w.nodeId)).size).toBe(1);
    for (const name of [lxcName, dockerName]) {
      const e = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo alive']);
      expect(e.stdout).toBe('alive\n');
    }
  });

  it('keeps the home directory across stop and start', async () => {
    expect((await server.cli(['ws', 'exec', lxcName, '--', 'sh', '-c', 'echo kept > /root/marker'])).code).toBe(0);
    const stop = await server.cli(['ws', 'stop', lxcName]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', lxcName])).status).toBe('stopped');
    const execStopped = await server.cli(['ws', 'exec', lxcName, '--', 'true']);
    expect(execStopped.stderr).toContain('FAILED_PRECONDITION');
    const start = await server.cli(['ws', 'start', lxcName]);
    expect(start.code, start.stderr).toBe(0);
    expect((await server.cli(['ws', 'exec', lxcName, '--', 'cat', '/root/marker'])).stdout).toBe('kept\n');
  });

  it('deletes both, leaving no container and no rootfs behind', async () => {
    const container = (await lxcContainersOf(lxcWs.id))[0];
    for (const name of [lxcName, dockerName]) {
      const r = await server.cli(['ws', 'rm', name]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await lxcContainersOf(lxcWs.id)).toEqual([]);
    const ls = spawnSync('lxc-ls', ['-1'], { encoding: 'utf8' });
    expect(ls.stdout.split('\n')).not.toContain(container);
    await expect(stat(join(LXC_PATH, container))).rejects.toThrow();
    expect(await dockerLeftovers({ node: lxcWs.nodeId })).toEqual([]);
  });
});
