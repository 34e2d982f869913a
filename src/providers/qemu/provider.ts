/**
 * The QEMU provider: a workspace is a virtual machine booted straight into the kernel of a
 * berth VM image, with a qcow2 overlay on the image's shared disk as its root, a sparse ext4
 * home disk at /root and a read-only seed disk with its SSH keys. QEMU runs daemonised with
 * a pid file and a QMP socket in `<stateDir>/qemu/<workspace>/`; commands reach the guest's
 * sshd over a forwarded loopback port through the pooled SSH transport.
 */

import type { Duplex } from 'node:stream';
import { BerthError, type ExecRequest, isBerthImageName, type OpContext, type ProviderInfo, type WorkspaceSpec } from '../../api/index.js';
import { parseVmImage, VM_PACKAGES, type VmImage, vmImageFile, vmImagePaths } from '../../images/qemu-disk.js';
import { type ExecSession, LocalTransport, type SshTransport, type Transport } from '../../transport/index.js';
import { containerName } from '../naming.js';
import { guestPortSource, type PortSource } from '../ports/scanner.js';
import type { Capabilities, Provider, ProviderStatus, StopOptions, WorkspaceHandle } from '../provider.js';
import { checkSpec } from '../spec-check.js';
import { type AccelVerdict, pickMachine, probeAccel } from './accel.js';
import { checkSocketPath, type Machine, QEMU_BINARY, qemuRoot, type VmPaths, vmPaths, vmSize } from './config.js';
import { makeHandle, parseMeta, readHandle, type VmMeta } from './handle.js';
import { createHomeDisk, createOverlay, hostSize, hostTscKhz, killQemu, must, runningPid, writeSeed } from './host.js';
import { QmpClient } from './qmp.js';
import { BOOT_TIMEOUT_MS, guestTransport, launch, shutdown, waitForSsh } from './vm.js';

/** What a QemuProvider needs. */
export interface QemuProviderOptions {
  /** This node's id, written into every workspace.json. */
  nodeId: string;
  /** The agent's state dir; VMs live in `<stateDir>/qemu`. */
  stateDir: string;
  /** The image cache dir, where the QEMU image exporter puts VM images. */
  imageCacheDir: string;
  /** How host commands run; the local machine by default. */
  transport?: Transport;
}

/** How long the host facts (QEMU version, machine types) are trusted before asking again. */
const HOST_FACTS_TTL_MS = 30_000;
const IMAGE_ADVICE = `build one with \`berth image build vm --from debian:bookworm --packages ${VM_PACKAGES.join(',')}\``;

/** Workspaces as QEMU virtual machines. */
export class QemuProvider implements Provider {
  readonly kind = 'qemu' as const;
  readonly capabilities: Capabilities = { snapshots: false, pause: true, console: false, gpu: false };
  private readonly nodeId: string;
  private readonly root: string;
  private readonly imageCacheDir: string;
  private readonly host: Transport;
  private hostFacts: { at: number; facts: Promise<{ version: string; machine: Machine }> } | null = null;
  private accel: Promise<AccelVerdict> | null = null;
  private readonly guests = new Map<string, { port: number; transport: SshTransport }>();

  constructor(opts: QemuProviderOptions) {
    this.nodeId = opts.nodeId;
    this.root = qemuRoot(opts.stateDir);
    this.imageCacheDir = opts.imageCacheDir;
    this.host = opts.transport ?? new LocalTransport();
  }

  async probe(): Promise<ProviderInfo> {
    const details: Record<string, string> = { stateDir: this.root };
    try {
      const facts = await this.facts();
      details.machine = facts.machine;
      const images = await this.images();
      details.images = String(images.length);
      if (images.length === 0)
        return { kind: 'qemu', usable: false, version: facts.version, reason: `No VM image with a kernel on this node: ${IMAGE_ADVICE}.`, details };
      const verdict = await this.accelerator(images[0].kernel, facts.version);
      details.accelerator = verdict.accel;
      if (verdict.kvmReason) details.kvm = `unusable: ${verdict.kvmReason}; VMs run under TCG (slower)`;
      return { kind: 'qemu', usable: true, version: facts.version, details };
    } catch (err) {
      return { kind: 'qemu', usable: false, reason: err instanceof BerthError ? err.message : `QEMU could not be probed: ${(err as Error).message}.`, details };
    }
  }

  /** The metadata file of the VM image `image`; NOT_FOUND when this node has no VM image of that name. */
  async findImage(image: string): Promise<string> {
    await this.resolveImage(image);
    return vmImageFile(this.imageCacheDir, image);
  }

  async create(spec: WorkspaceSpec, op: OpContext): Promise<WorkspaceHandle> {
    checkSpec(spec);
    const size = vmSize(spec, await hostSize(this.host));
    op.progress('resolving image', 0.1);
    const image = await this.resolveImage(spec.image);
    const paths = vmPaths(this.root, spec.id);
    checkSocketPath(paths);
    if ((await this.host.run({ cmd: ['test', '-e', paths.dir] })).code === 0) {
      throw new BerthError('ALREADY_EXISTS', `The VM directory ${paths.dir} already exists: delete workspace ${spec.name} first, or remove the directory.`);
    }
    op.signal.throwIfAborted();
    try {
      await must(this.host, ['mkdir', '-p', paths.dir], 'making the VM directory');
      const meta: VmMeta = {
        workspaceId: spec.id,
        nodeId: this.nodeId,
        name: spec.name,
        image: image.name,
        disk: image.disk,
        kernel: image.kernel,
        initrd: image.initrd,
        cpus: size.cpus,
        memoryMiB: size.memoryMiB,
        env: spec.env,
        hostFingerprint: '',
        createdAt: new Date().toISOString(),
      };
      // Written first, so that list() finds (and a restarted agent reaps) a create that dies half-way.
      await this.writeMeta(paths, meta);
      op.progress('making keys and seed disk', 0.3);
      meta.hostFingerprint = await writeSeed(this.host, paths, spec.name);
      await this.writeMeta(paths, meta);
      op.signal.throwIfAborted();
      op.progress('making root overlay and home disk', 0.6);
      await createOverlay(this.host, paths, image.disk);
      await createHomeDisk(this.host, paths);
      op.signal.throwIfAborted();
      op.log(`created VM ${spec.name} (${size.cpus} vCPU, ${size.memoryMiB} MiB) from ${image.name} in ${paths.dir}`);
      op.progress('created', 1);
      return makeHandle(spec.id, { dir: paths.dir });
    } catch (err) {
      // Nothing half-made may remain.
      await this.host.run({ cmd: ['rm', '-rf', paths.dir] }).catch(() => {});
      throw err;
    }
  }

  async start(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const { paths, meta } = await this.open(h);
    if ((await runningPid(this.host, paths)) !== null) return;
    const facts = await this.facts();
    const verdict = await this.accelerator(meta.kernel, facts.version);
    op.progress('starting', null);
    const port = await launch(
      this.host,
      {
        paths,
        name: containerName({ id: meta.workspaceId, name: meta.name }),
        machine: facts.machine,
        accel: verdict.accel,
        cpus: meta.cpus,
        memoryMiB: meta.memoryMiB,
        kernel: meta.kernel,
        initrd: meta.initrd,
        tscKhz: await hostTscKhz(this.host),
      },
      op,
    );
    const guest = await this.guest(h.workspaceId, paths, meta, port);
    try {
      await waitForSsh(this.host, paths, guest, BOOT_TIMEOUT_MS[verdict.accel], op);
    } catch (err) {
      await this.dropGuest(h.workspaceId);
      await killQemu(this.host, paths);
      throw err;
    }
    op.progress('started', 1);
  }

  async stop(h: WorkspaceHandle, opts: StopOptions, op: OpContext): Promise<void> {
    const { paths } = await this.open(h);
    await this.dropGuest(h.workspaceId);
    await shutdown(this.host, paths, opts, op);
    op.progress('stopped', 1);
  }

  async destroy(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const paths = vmPaths(this.root, h.workspaceId);
    readHandle(h);
    await this.dropGuest(h.workspaceId);
    op.progress('stopping the VM', 0.3);
    await killQemu(this.host, paths);
    op.progress('removing disks', 0.7);
    await must(this.host, ['rm', '-rf', paths.dir], 'removing the VM directory');
    op.log(`removed workspace ${h.workspaceId}`);
    op.progress('removed', 1);
  }

  /** `missing` without its directory; `running` while QEMU runs (and is not paused), else `stopped`. */
  async inspect(h: WorkspaceHandle): Promise<ProviderStatus> {
    readHandle(h);
    const paths = vmPaths(this.root, h.workspaceId);
    if ((await this.readMeta(paths)) === null) return 'missing';
    if ((await runningPid(this.host, paths)) === null) return 'stopped';
    // QMP takes one client at a time: a busy monitor (a stop in progress) means "still running".
    const qmp = await QmpClient.connect(paths.qmp, 1000).catch(() => null);
    if (!qmp) return 'running';
    try {
      const s = await qmp.status();
      return s.running ? 'running' : s.status === 'paused' ? 'unknown' : 'stopped';
    } catch {
      return 'running';
    } finally {
      qmp.close();
    }
  }

  /** QEMU keeps running without the agent: re-adopting needs only the files, read on demand. */
  async recover(h: WorkspaceHandle): Promise<ProviderStatus> {
    return this.inspect(h);
  }

  async exec(h: WorkspaceHandle, req: ExecRequest): Promise<ExecSession> {
    const { paths, meta } = await this.open(h);
    if ((await runningPid(this.host, paths)) === null) {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${meta.name} is not running: start it with \`berth start ${meta.name}\`, then retry.`);
    }
    const port = Number((await this.host.readFile(paths.port).catch(() => Buffer.from(''))).toString().trim());
    const guest = await this.guest(h.workspaceId, paths, meta, port);
    return guest.exec({ cmd: req.cmd, tty: req.tty, cols: req.cols, rows: req.rows, cwd: req.cwd, env: { ...meta.env, ...req.env } });
  }

  /** Through the guest's pooled SSH connection: a direct-tcpip channel to the guest's loopback, no process in the guest. */
  async connect(h: WorkspaceHandle, port: number): Promise<Duplex> {
    return (await this.runningGuest(h)).connectTcp('127.0.0.1', port);
  }

  /** The guest's own /proc, read through its SSH connection. */
  async portSource(h: WorkspaceHandle): Promise<PortSource> {
    return guestPortSource(await this.runningGuest(h));
  }

  /** The pooled SSH transport of a running guest; FAILED_PRECONDITION when it is not running. */
  private async runningGuest(h: WorkspaceHandle): Promise<SshTransport> {
    const { paths, meta } = await this.open(h);
    if ((await runningPid(this.host, paths)) === null) {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${meta.name} is not running: start it with \`berth ws start ${meta.name}\`, then retry.`, {
        field: 'name',
      });
    }
    const sshPort = Number((await this.host.readFile(paths.port).catch(() => Buffer.from(''))).toString().trim());
    return this.guest(h.workspaceId, paths, meta, sshPort);
  }

  async list(): Promise<WorkspaceHandle[]> {
    const r = await this.host.run({ cmd: ['ls', '-1', this.root] });
    const out: WorkspaceHandle[] = [];
    for (const name of r.code === 0 ? r.stdout.split('\n').filter(Boolean) : []) {
      let paths: VmPaths;
      try {
        paths = vmPaths(this.root, name);
      } catch {
        continue; // accel.json and other files that are not workspaces.
      }
      const meta = await this.readMeta(paths);
      if (meta?.nodeId === this.nodeId) out.push(makeHandle(meta.workspaceId, { dir: paths.dir }));
    }
    return out;
  }

  /** Freezes the VM's vCPUs (QMP stop); its memory stays allocated. */
  async pause(h: WorkspaceHandle): Promise<void> {
    await this.qmp(h, (q) => q.execute('stop'));
  }

  /** Lets a paused VM run again (QMP cont). */
  async resume(h: WorkspaceHandle): Promise<void> {
    await this.qmp(h, (q) => q.execute('cont'));
  }

  private async qmp<T>(h: WorkspaceHandle, fn: (q: QmpClient) => Promise<T>): Promise<T> {
    const { paths, meta } = await this.open(h);
    if ((await runningPid(this.host, paths)) === null) throw new BerthError('FAILED_PRECONDITION', `Workspace ${meta.name} is not running: start it first.`);
    const q = await QmpClient.connect(paths.qmp);
    try {
      return await fn(q);
    } finally {
      q.close();
    }
  }

  /** The handle's paths and workspace.json; NOT_FOUND when the VM's files are gone. */
  private async open(h: WorkspaceHandle): Promise<{ paths: VmPaths; meta: VmMeta }> {
    readHandle(h);
    const paths = vmPaths(this.root, h.workspaceId);
    const meta = await this.readMeta(paths);
    if (!meta)
      throw new BerthError('NOT_FOUND', `The VM files of workspace ${h.workspaceId} are gone from ${paths.dir}: delete the workspace and create it again.`);
    return { paths, meta };
  }

  private async readMeta(paths: VmPaths): Promise<VmMeta | null> {
    const text = await this.host.readFile(paths.meta).then(
      (b) => b.toString('utf8'),
      () => '',
    );
    return parseMeta(text);
  }

  private async writeMeta(paths: VmPaths, meta: VmMeta): Promise<void> {
    await this.host.writeFile(paths.meta, `${JSON.stringify(meta, null, 2)}\n`, 0o600);
  }

  /** The pooled SSH transport to a guest, made anew when its port changed (a restart). */
  private async guest(workspaceId: string, paths: VmPaths, meta: VmMeta, port: number): Promise<SshTransport> {
    const known = this.guests.get(workspaceId);
    if (known && known.port === port) return known.transport;
    await this.dropGuest(workspaceId);
    if (!Number.isInteger(port) || port <= 0) throw new BerthError('INTERNAL', `Workspace ${meta.name} runs but its SSH port is unknown: restart it.`);
    const transport = guestTransport(port, await this.host.readFile(paths.clientKey), meta.hostFingerprint);
    this.guests.set(workspaceId, { port, transport });
    return transport;
  }

  private async dropGuest(workspaceId: string): Promise<void> {
    const known = this.guests.get(workspaceId);
    this.guests.delete(workspaceId);
    await known?.transport.close().catch(() => {});
  }

  /** Resolves --image to a VM image; NOT_FOUND naming the field, with the build command. */
  private async resolveImage(name: string): Promise<VmImage> {
    // The name becomes a file name under the image cache: anything but a berth image name is refused before any path is built.
    if (!isBerthImageName(name)) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        `QEMU workspaces run berth VM images only, and "${JSON.stringify(name.slice(0, 80)).slice(1, -1)}" is not a berth image name: ${IMAGE_ADVICE}.`,
        { field: 'image' },
      );
    }
    const text = await this.host.readFile(vmImageFile(this.imageCacheDir, name)).then(
      (b) => b.toString('utf8'),
      () => '',
    );
    const image = parseVmImage(text);
    if (!image) throw new BerthError('NOT_FOUND', `No VM image named ${name} on this node: ${IMAGE_ADVICE.replace(' vm ', ` ${name} `)}.`, { field: 'image' });
    return image;
  }

  private async images(): Promise<VmImage[]> {
    const dir = vmImagePaths(this.imageCacheDir).images;
    const r = await this.host.run({ cmd: ['ls', '-1', dir] });
    const out: VmImage[] = [];
    for (const n of r.code === 0 ? r.stdout.split('\n').filter((x) => x.endsWith('.json')) : []) {
      const img = parseVmImage(
        await this.host.readFile(`${dir}/${n}`).then(
          (b) => b.toString('utf8'),
          () => '',
        ),
      );
      if (img) out.push(img);
    }
    return out;
  }

  /** QEMU's version and machine type, asked at most every HOST_FACTS_TTL_MS (probes run on every heartbeat). */
  private facts(): Promise<{ version: string; machine: Machine }> {
    if (this.hostFacts && Date.now() - this.hostFacts.at < HOST_FACTS_TTL_MS) return this.hostFacts.facts;
    const facts = (async () => {
      const version = /version (\S+)/.exec(await must(this.host, [QEMU_BINARY, '--version'], 'asking its version', 10_000))?.[1] ?? 'unknown';
      await must(this.host, ['qemu-img', '--version'], 'asking its version', 10_000);
      await must(this.host, ['mke2fs', '-V'], 'asking its version', 10_000);
      const help = await must(this.host, [QEMU_BINARY, '-machine', 'help'], 'listing machine types', 10_000);
      return { version, machine: pickMachine(help, process.env.BERTH_QEMU_MACHINE) };
    })();
    this.hostFacts = { at: Date.now(), facts };
    facts.catch(() => (this.hostFacts = null));
    return facts;
  }

  /** The accelerator verdict, probed once per provider (and cached on disk for every agent on the host). */
  private accelerator(kernel: string, qemuVersion: string): Promise<AccelVerdict> {
    // Cached next to the VM images: the verdict is the host's, shared by every agent on it.
    this.accel ??= probeAccel(this.host, { cacheRoot: `${this.imageCacheDir}/qemu`, kernel, qemuVersion });
    this.accel.catch(() => (this.accel = null));
    return this.accel;
  }
}
