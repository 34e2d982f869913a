/**
 * The LXC provider against real LXC on this machine: the shared conformance suite, then what
 * only LXC has (labels in berth.json, the config berth writes, plain-copy clones, loopback port
 * forwarding, a node without a bridge or without the tools). Needs root, the lxc package and
 * the lxcbr0 bridge, as scripts/lib/host-lxc.sh sets them up; without them these tests fail.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type OpContext, silentOp, type WorkspaceSpec } from '../../src/api/index.js';
import { ImageStore } from '../../src/images/index.js';
import { LxcImageExporter } from '../../src/images/lxc-images.js';
import { type BackingStore, LxcProvider } from '../../src/providers/lxc/index.js';
import type { WorkspaceHandle } from '../../src/providers/provider.js';
import { providerConformance, runCommand } from '../../src/testing/provider-conformance.js';
import { LocalTransport, type Transport } from '../../src/transport/index.js';

const run = randomBytes(3).toString('hex');
const nodeId = `test-node-${run}`;
const imageName = `lxc-conf-${run}`;
const LXC_PATH = '/var/lib/lxc';
const transport = new LocalTransport();
let imagesDir = '';
let exporter: LxcImageExporter;

/** Builds the busybox image through the real pipeline (Docker import, then the LXC exporter), once per file. */
async function buildImage(): Promise<void> {
  if (exporter) return;
  imagesDir = await mkdtemp('/var/tmp/berth-lxc-images-');
  exporter = new LxcImageExporter({ imagesDir });
  const docker = new Dockerode({ socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' });
  const store = new ImageStore({ docker, pull: false, exporters: [exporter] });
  await store.build({ name: imageName, from: 'busybox', packages: [] }, silentOp());
  await docker
    .getImage(`berth/${imageName}:latest`)
    .remove({ force: true })
    .catch(() => {});
}

// Names starting berth-missing- resolve to an image container that does not exist: create then
// fails in lxc-copy, after berth began making the container, which is the rollback to check.
const resolveImage = (image: string, _op: OpContext) =>
  image.startsWith('berth-missing-') ? Promise.resolve({ lxcPath: imagesDir, container: image }) : exporter.resolve(image);

function provider(node = nodeId, opts: { backingStore?: BackingStore; bridge?: string; transport?: Transport } = {}): LxcProvider {
  return new LxcProvider({ nodeId: node, transport: opts.transport ?? transport, resolveImage, lxcPath: LXC_PATH, ...opts });
}

/** Every container or directory on the host that belongs to the workspace: by lxc-ls, by label, by name. */
async function leftovers(workspaceId: string): Promise<string[]> {
  const short = workspaceId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8);
  const found = new Set<string>();
  const ls = await transport.run({ cmd: ['lxc-ls', '-1', '-P', LXC_PATH] });
  const labelled = async (name: string) => (await readFile(join(LXC_PATH, name, 'berth.json'), 'utf8').catch(() => '')).includes(`"${workspaceId}"`);
  for (const name of ls.stdout.split('\n').filter(Boolean)) if (await labelled(name)) found.add(`container ${name}`);
  for (const dir of await readdir(LXC_PATH)) {
    const meta = await readFile(join(LXC_PATH, dir, 'berth.json'), 'utf8').catch(() => null);
    if (meta?.includes(`"${workspaceId}"`)) found.add(`labelled ${LXC_PATH}/${dir}`);
    // An unlabelled directory with the workspace's name suffix is what a half-made create would leave.
    else if (meta === null && dir.endsWith(`-${short}`)) found.add(`directory ${LXC_PATH}/${dir}`);
  }
  return [...found];
}

providerConformance('lxc', async () => {
  await buildImage();
  return {
    provider: provider(),
    image: imageName,
    reopen: async () => provider(),
    otherNode: async () => provider(`${nodeId}-other`),
    leftovers,
    cleanup: async () => {},
  };
});

function spec(label: string, extra: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
  const id = `${label}${run}${randomBytes(4).toString('hex')}`;
  return { id, name: `lxc-${label}-${run}`, provider: 'lxc', image: imageName, cpus: null, memoryBytes: null, env: {}, ...extra };
}

describe('lxc provider specifics', () => {
  const handles: Array<{ p: LxcProvider; h: WorkspaceHandle }> = [];
  const make = async (p: LxcProvider, s: WorkspaceSpec): Promise<WorkspaceHandle> => {
    const h = await p.create(s, silentOp());
    handles.push({ p, h });
    return h;
  };

  beforeAll(buildImage);

  afterAll(async () => {
    for (const { p, h } of handles) await p.destroy(h, silentOp()).catch(() => {});
    if (imagesDir) await rm(imagesDir, { recursive: true, force: true });
  });

  it('probes the backing store, cgroups and bridge it will use', async () => {
    const info = await provider().probe();
    expect(info.usable, info.reason).toBe(true);
    expect(info.details).toMatchObject({ lxcPath: LXC_PATH, bridge: 'lxcbr0' });
    expect(info.details.backingStore).toMatch(/^(overlay \(copy-on-write clone\)|dir \(plain copy\))$/);
    expect(info.details.cgroup).toMatch(/^v[12]$/);
    expect(info.version).toMatch(/^\d+\.\d+/);
  });

  it('labels the container in berth.json and writes limits, address and init into its config', async () => {
    const p = provider();
    const s = spec('cfg', { cpus: 0.5, memoryBytes: 64 * 1024 ** 2, env: { A: '1' } });
    const h = await make(p, s);
    expect(h).toMatchObject({ workspaceId: s.id, kind: 'lxc', version: 1 });
    const name = String(h.driverState.containerName);
    expect(name).toBe(`berth-lxc-cfg-${run}-${s.id.slice(0, 8)}`);
    const meta = JSON.parse(await readFile(join(LXC_PATH, name, 'berth.json'), 'utf8'));
    expect(meta).toMatchObject({ 'berth.workspace': s.id, 'berth.node': nodeId, 'berth.managed': 'true', env: { A: '1' } });
    const config = await readFile(join(LXC_PATH, name, 'config'), 'utf8');
    expect(config).toContain(`lxc.uts.name = ${s.name}`);
    expect(config).toMatch(/lxc\.cgroup2?\.(cpu\.cfs_quota_us = 50000|cpu\.max = 50000 100000)/);
    expect(config).toMatch(/lxc\.cgroup2?\.memory\.(limit_in_bytes|max) = 67108864/);
    expect(config).toContain(`lxc.net.0.ipv4.address = ${h.driverState.ipv4}/`);
    const ls = await transport.run({ cmd: ['lxc-ls', '-1'] });
    expect(ls.stdout.split('\n')).toContain(name);
  });

  it("boots the image's own systemd as PID 1, which runs its services and halts on stop", async () => {
    // A Debian image with systemd-sysv, through the same pipeline (debootstrap is cached).
    const docker = new Dockerode({ socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' });
    const sysd = `lxc-sysd-${run}`;
    await new ImageStore({ docker, pull: false, exporters: [exporter] }).build({ name: sysd, from: 'debian:bookworm', packages: ['systemd-sysv'] }, silentOp());
    await docker
      .getImage(`berth/${sysd}:latest`)
      .remove({ force: true })
      .catch(() => {});
    const p = provider();
    const s = { ...spec('sysd'), image: sysd };
    const h = await make(p, s);
    const config = await readFile(join(LXC_PATH, String(h.driverState.containerName), 'config'), 'utf8');
    expect(config).toContain('lxc.init.cmd = /sbin/init');
    expect(config).toContain('lxc.signal.halt = SIGRTMIN+3');
    await p.start(h, silentOp());
    expect((await runCommand(p, h, { cmd: ['cat', '/proc/1/comm'] })).stdout).toBe('systemd\n');
    // Right after start systemd may not have opened its control socket yet: wait for it first.
    const waitThenAsk = 'for i in $(seq 1 300); do [ -S /run/systemd/private ] && break; sleep 0.1; done; timeout 60 systemctl is-system-running --wait';
    const state = await runCommand(p, h, { cmd: ['/bin/sh', '-c', waitThenAsk] });
    expect(state.stdout.trim(), state.stderr).toMatch(/^(running|degraded)$/);
    const t0 = Date.now();
    await p.stop(h, { timeoutMs: 20_000, force: false }, silentOp());
    expect(await p.inspect(h)).toBe('stopped');
    // systemd heard SIGRTMIN+3 and halted; it was not killed at the end of the timeout.
    expect(Date.now() - t0).toBeLessThan(15_000);
    await p.destroy(h, silentOp());
    expect(await leftovers(h.workspaceId)).toEqual([]);
  });

  it('makes plain-copy workspaces too, and removes their rootfs on delete', async () => {
    const p = provider(nodeId, { backingStore: 'dir' });
    const h = await make(p, spec('copy'));
    const name = String(h.driverState.containerName);
    expect(await readFile(join(LXC_PATH, name, 'config'), 'utf8')).toContain(`lxc.rootfs.path = dir:${LXC_PATH}/${name}/rootfs`);
    await p.start(h, silentOp());
    expect(await runCommand(p, h, { cmd: ['/bin/sh', '-c', 'echo copied > /root/f; cat /root/f'] })).toMatchObject({ code: 0, stdout: 'copied\n' });
    await p.destroy(h, silentOp());
    expect(await leftovers(h.workspaceId)).toEqual([]);
  });

  it('reaches a workspace port through a loopback forwarder', async () => {
    const p = provider();
    const h = await make(p, spec('port'));
    await p.start(h, silentOp());
    const serve = await runCommand(p, h, {
      cmd: ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo hello-from-lxc > /tmp/www/index.html && httpd -p 8080 -h /tmp/www'],
    });
    expect(serve.code, serve.stderr).toBe(0);
    const fwd = await p.forwardPort(h, 8080);
    try {
      expect(fwd.host).toBe('127.0.0.1');
      const res = await fetch(`http://127.0.0.1:${fwd.port}/index.html`);
      expect(await res.text()).toBe('hello-from-lxc\n');
    } finally {
      await fwd.close();
    }
  });

  it('refuses to start a second workspace with the name of an existing container', async () => {
    const p = provider();
    const s = spec('dup');
    await make(p, s);
    const err = (await p.create(s, silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe('ALREADY_EXISTS');
  });

  it('reports NOT_FOUND for an image nobody built, with the build command', async () => {
    const err = (await provider()
      .create(spec('img', { image: `never-built-${run}` }), silentOp())
      .catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', field: 'image' });
    expect(err.message).toContain(`berth image build never-built-${run} --from busybox`);
  });
});

describe('lxc unusable', () => {
  it('without a bridge: probes unusable with the reason, and create fails PROVIDER_UNAVAILABLE with it', async () => {
    const p = provider(nodeId, { bridge: `nobr${run}` });
    const info = await p.probe();
    expect(info.usable).toBe(false);
    expect(info.reason).toContain(`nobr${run}`);
    expect(info.reason).toContain('ip link add');
    const err = (await p.create(spec('nobr'), silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: info.reason });
  });

  it('without the LXC tools: probes unusable naming the package', async () => {
    // The real local transport, with a PATH on which no LXC tool can be found.
    const bare: Transport = {
      description: 'local without lxc',
      exec: (p) => transport.exec({ ...p, env: { ...p.env, PATH: '/nonexistent' } }),
      run: (p) => transport.run({ ...p, env: { ...p.env, PATH: '/nonexistent' } }),
      readFile: (path) => transport.readFile(path),
      writeFile: (path, data, mode) => transport.writeFile(path, data, mode),
      close: async () => {},
    };
    const p = provider(nodeId, { transport: bare });
    const info = await p.probe();
    expect(info.usable).toBe(false);
    expect(info.reason).toContain('apt-get install lxc');
    const err = (await p.create(spec('notools'), silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });
});
