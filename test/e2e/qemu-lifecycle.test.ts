/**
 * A QEMU workspace end to end through the CLI: a VM image built by the image pipeline, then
 * create, exec, stop, start, re-adoption by a restarted agent, and delete — after which no
 * QEMU process, overlay, QMP socket or forwarded port may be left on the node.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentOp } from '../../src/api/index.js';
import { defaultCacheDir } from '../../src/images/index.js';
import { LxcImageExporter } from '../../src/images/lxc-images.js';
import { vmImageFile } from '../../src/images/qemu-disk.js';
import { docker, TestServer, uniqueName } from './harness.js';

const name = uniqueName('vm');
// A fixed name: a rerun replaces the image instead of piling up 300 MB copies of it.
const image = 'e2e-qemu-vm';
let server: TestServer;
let vmDir = '';
let sshPort = 0;

/** QEMU processes whose command line mentions `needle`. */
async function qemuProcesses(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(needle)) found.push(pid);
  }
  return found;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  // The same Debian build feeds Docker and the VM disk; the rootfs is cached outside the clone.
  const build = await server.cli(['image', 'build', image, '--from', 'debian:bookworm', '--packages', 'linux-image-cloud-amd64,openssh-server'], {
    timeoutMs: 900_000,
  });
  expect(build.code, build.stderr).toBe(0);
}, 900_000);

afterAll(async () => {
  await server.cli(['ws', 'rm', name]).catch(() => {});
  await server.destroy();
  // The build made the image for every engine on the node; the cached rootfs and VM disk stay.
  await docker
    .getImage(`berth/${image}:latest`)
    .remove({ force: true })
    .catch(() => {});
  await new LxcImageExporter().remove(image, silentOp()).catch(() => {});
  await rm(vmImageFile(defaultCacheDir(), image), { force: true });
});

describe('QEMU workspace through the CLI', () => {
  it('shows the qemu provider usable in node ls, with its accelerator', async () => {
    const node = await server.waitNodeOnline();
    const qemu = await (async () => {
      for (let i = 0; i < 30; i++) {
        const n = (await server.json<any>(['node', 'ls'])).nodes[0];
        const q = n.providers.find((p: any) => p.kind === 'qemu');
        if (q?.usable) return q;
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error(`qemu provider not usable on ${node.name}`);
    })();
    expect(['kvm', 'tcg']).toContain(qemu.details.accelerator);
    const human = await server.cli(['node', 'ls']);
    expect(human.stdout).toContain(`qemu ✓ (${qemu.details.accelerator})`);
  });

  it('creates a VM workspace and runs commands in it', async () => {
    const r = await server.cli(['ws', 'create', name, '--provider', 'qemu', '--image', image, '--cpus', '1', '--memory', '256m']);
    expect(r.code, r.stderr).toBe(0);
    const ws = await server.json<any>(['ws', 'show', name]);
    expect(ws).toMatchObject({ status: 'running', provider: 'qemu', cpus: 1, memoryBytes: 256 * 1024 ** 2 });
    vmDir = join(server.dataDir, 'local-agent', 'qemu', ws.id);
    sshPort = Number((await readFile(join(vmDir, 'ssh-port'), 'utf8')).trim());
    expect(await qemuProcesses(vmDir)).toHaveLength(1);
    const exec = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; nproc; exit 3']);
    expect(exec.code).toBe(3);
    expect(exec.stdout).toBe('out\n1\n');
    expect(exec.stderr).toContain('err\n');
    const env = await server.cli(['ws', 'exec', name, '-e', 'GREETING=hi there', '-w', '/tmp', '--', 'sh', '-c', 'echo "$GREETING in $(pwd)"']);
    expect(env.stdout).toBe('hi there in /tmp\n');
  });

  it('keeps the home disk across stop and start', async () => {
    expect((await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo kept > /root/marker'])).code).toBe(0);
    const stop = await server.cli(['ws', 'stop', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', name])).status).toBe('stopped');
    expect(await qemuProcesses(vmDir)).toEqual([]);
    const start = await server.cli(['ws', 'start', name]);
    expect(start.code, start.stderr).toBe(0);
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat', '/root/marker']);
    expect(cat).toMatchObject({ code: 0, stdout: 'kept\n' });
    sshPort = Number((await readFile(join(vmDir, 'ssh-port'), 'utf8')).trim());
  });

  it('is re-adopted by a restarted agent, not reaped', async () => {
    const before = await qemuProcesses(vmDir);
    await server.proc?.stop();
    await server.launch();
    await server.waitNodeOnline();
    expect(await qemuProcesses(vmDir)).toEqual(before);
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat', '/root/marker']);
    expect(cat).toMatchObject({ code: 0, stdout: 'kept\n' });
  });

  it('deletes the workspace leaving no process, overlay, socket or forwarded port', async () => {
    const rm = await server.cli(['ws', 'rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await qemuProcesses(vmDir)).toEqual([]);
    await expect(stat(vmDir)).rejects.toThrow(/ENOENT/);
    expect(await listening(sshPort)).toBe(false);
  });
});
