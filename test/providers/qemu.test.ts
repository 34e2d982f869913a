/**
 * The QEMU provider against real QEMU (TCG on machines where KVM does not work): the shared
 * conformance suite, plus what only VMs have — disks and overlays, QMP pause and resume, the
 * accelerator report, and probes on nodes without QEMU or without a VM image. The VM image
 * is built from the same cached Debian rootfs the image pipeline uses (minutes when cold).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, silentOp, type WorkspaceSpec } from '../../src/api/index.js';
import { ensureDebianRootfs } from '../../src/images/debootstrap.js';
import { defaultCacheDir } from '../../src/images/index.js';
import { QemuImageExporter, VM_PACKAGES, vmImageFile } from '../../src/images/qemu-disk.js';
import type { WorkspaceHandle } from '../../src/providers/provider.js';
import { QemuProvider } from '../../src/providers/qemu/index.js';
import { providerConformance, runCommand } from '../../src/testing/provider-conformance.js';
import { LocalTransport, type Transport } from '../../src/transport/index.js';

const run = randomBytes(3).toString('hex');
const nodeId = `qemu-node-${run}`;
const cacheDir = defaultCacheDir();
const imageName = `qemu-conf-${run}`;

/** Builds (or finds in the cache) the Debian rootfs with a kernel and sshd, and exports it as VM image `name`. */
async function buildVmImage(name: string): Promise<void> {
  const request = { name, source: { kind: 'debian' as const, suite: 'bookworm' }, packages: [...VM_PACKAGES].sort() };
  const rootfsDir = await ensureDebianRootfs({ cacheDir, suite: 'bookworm', packages: request.packages }, silentOp());
  const result = await new QemuImageExporter(cacheDir).export(
    { request, labels: {}, rootfsDir, rootfsTar: () => Promise.reject(new Error('unused')) },
    silentOp(),
  );
  if (!result) throw new Error(`the QEMU exporter made no VM image from ${rootfsDir}`);
}

/** QEMU processes on this host whose command line mentions `needle`. */
async function qemuProcesses(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(needle)) found.push(`qemu process ${pid}`);
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** True when something accepts connections on 127.0.0.1:port. */
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

let stateDir = '';

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'bq-'));
  await buildVmImage(imageName);
}, 900_000);

afterAll(async () => {
  await rm(vmImageFile(cacheDir, imageName), { force: true });
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const provider = (node = nodeId, transport?: Transport): QemuProvider => new QemuProvider({ nodeId: node, stateDir, imageCacheDir: cacheDir, transport });

providerConformance('qemu', async () => {
  // An image whose disk does not exist: create gets as far as the overlay, then must undo everything.
  const broken = `qemu-broken-${run}`;
  const file = vmImageFile(cacheDir, broken);
  const good = JSON.parse(await readFile(vmImageFile(cacheDir, imageName), 'utf8'));
  await writeFile(file, JSON.stringify({ ...good, name: broken, disk: `/nonexistent/berth-${run}.qcow2` }));
  return {
    provider: provider(),
    image: imageName,
    reopen: async () => provider(),
    otherNode: async () => provider(`${nodeId}-other`),
    missingImage: broken,
    leftovers: async (id) => [...((await exists(join(stateDir, 'qemu', id))) ? [`directory ${id}`] : []), ...(await qemuProcesses(id))],
    cleanup: async () => {
      await rm(file, { force: true });
    },
  };
});

describe('qemu provider specifics', () => {
  let p: QemuProvider;
  const handles: WorkspaceHandle[] = [];
  const spec = (label: string, extra: Partial<WorkspaceSpec> = {}): WorkspaceSpec => ({
    id: `q${run}${label}${randomBytes(4).toString('hex')}`,
    name: `q-${label}-${run}`,
    provider: 'qemu',
    image: imageName,
    cpus: 1,
    memoryBytes: 256 * 1024 ** 2,
    env: {},
    ...extra,
  });

  beforeAll(() => {
    p = provider(); // Not at collection time: the state dir is made in the file's beforeAll.
  });

  afterAll(async () => {
    for (const h of handles) await p.destroy(h, silentOp()).catch(() => {});
  });

  it('reports the accelerator in the probe, and why KVM is not used when it is not', async () => {
    const info = await p.probe();
    expect(info.usable, info.reason).toBe(true);
    expect(['kvm', 'tcg']).toContain(info.details.accelerator);
    expect(info.details.machine).toBe('microvm');
    if (info.details.accelerator === 'tcg') expect(info.details.kvm).toMatch(/unusable: .+/);
  });

  it('boots on an overlay of the shared disk, with its own home disk, and leaves no process, file or port after destroy', async () => {
    const h = await p.create(spec('disk'), silentOp());
    handles.push(h);
    const dir = join(stateDir, 'qemu', h.workspaceId);
    const overlay = await stat(join(dir, 'overlay.qcow2'));
    // Creating a workspace copies nothing big: the overlay is a header pointing at the base.
    expect(overlay.blocks * 512).toBeLessThan(5 * 1024 ** 2);
    await p.start(h, silentOp());
    const port = Number((await readFile(join(dir, 'ssh-port'), 'utf8')).trim());
    expect(await listening(port)).toBe(true);
    const mounts = await runCommand(p, h, { cmd: ['/bin/sh', '-c', 'grep -E " (/|/root) " /proc/mounts; uname -r; hostname'] });
    expect(mounts.stdout).toMatch(/ \/ ext4 rw/);
    expect(mounts.stdout).toMatch(/ \/root ext4 rw/);
    expect(mounts.stdout).toContain(`q-disk-${run}`);
    await p.destroy(h, silentOp());
    expect(await exists(dir)).toBe(false);
    expect(await qemuProcesses(h.workspaceId)).toEqual([]);
    expect(await listening(port)).toBe(false);
  });

  it('pauses and resumes through QMP', async () => {
    const h = await p.create(spec('pause'), silentOp());
    handles.push(h);
    await p.start(h, silentOp());
    await p.pause(h);
    expect(await p.inspect(h)).toBe('unknown');
    await p.resume(h);
    expect(await p.inspect(h)).toBe('running');
    expect(await runCommand(p, h, { cmd: ['echo', 'awake'] })).toMatchObject({ code: 0, stdout: 'awake\n' });
    await p.destroy(h, silentOp());
  });

  it('refuses fractional vCPUs, naming the field', async () => {
    const err = (await p.create(spec('frac', { cpus: 0.5 }), silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe('cpus');
  });

  it('reports NOT_FOUND for an image that has no VM disk, with the build command', async () => {
    const err = (await p.create(spec('noimg', { image: `never-built-${run}` }), silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err.code).toBe('NOT_FOUND');
    expect(err.field).toBe('image');
    expect(err.message).toContain(`berth image build never-built-${run} --from debian:bookworm --packages linux-image-cloud-amd64,openssh-server`);
  });
});

describe('qemu provider on unprepared nodes', () => {
  it('probes unusable without qemu-system, saying what to install', async () => {
    const local = new LocalTransport();
    // A node without QEMU: the same machine, with the QEMU binary's name pointing nowhere.
    const noQemu: Transport = {
      description: 'local without qemu',
      exec: (x) => local.exec({ ...x, cmd: x.cmd[0] === 'qemu-system-x86_64' ? [`/nonexistent/${run}/qemu-system-x86_64`, ...x.cmd.slice(1)] : x.cmd }),
      run(x) {
        return local.run({ ...x, cmd: x.cmd[0] === 'qemu-system-x86_64' ? [`/nonexistent/${run}/qemu-system-x86_64`, ...x.cmd.slice(1)] : x.cmd });
      },
      readFile: (f) => local.readFile(f),
      writeFile: (f, d, m) => local.writeFile(f, d, m),
      close: () => local.close(),
    };
    const info = await provider(nodeId, noQemu).probe();
    expect(info.usable).toBe(false);
    expect(info.reason).toContain('apt-get install qemu-system-x86');
  });

  it('probes unusable without a VM image, saying how to build one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bq-empty-'));
    try {
      const info = await new QemuProvider({ nodeId, stateDir, imageCacheDir: empty }).probe();
      expect(info.usable).toBe(false);
      expect(info.reason).toContain('berth image build vm --from debian:bookworm --packages linux-image-cloud-amd64,openssh-server');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
