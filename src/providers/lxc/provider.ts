/**
 * The LXC provider: a workspace is a privileged system container cloned with lxc-copy from a
 * berth image container (an overlay clone where the filesystem allows, a plain copy
 * otherwise), attached to the node's bridge with a static address, limited through cgroups
 * and labelled by a berth.json next to its config. Every host command goes through a Transport.
 */
import type { Duplex } from 'node:stream';
import { BerthError, type ExecRequest, type OpContext, type ProviderInfo, silentOp, type WorkspaceSpec } from '../../api/index.js';
import type { LxcImageRef } from '../../images/lxc-images.js';
import { type ExecSession, LocalTransport, type Transport } from '../../transport/index.js';
import { connectDirect } from '../direct-connect.js';
import { containerName } from '../naming.js';
import { connectInNetns } from '../netns-connect.js';
import { hostPortSource, type PortSource } from '../ports/scanner.js';
import type { Capabilities, Provider, ProviderStatus, StopOptions, WorkspaceHandle } from '../provider.js';
import { LABELS } from '../provider.js';
import { checkSpec } from '../spec-check.js';
import {
  type BackingStore,
  DEFAULT_BRIDGE,
  DEFAULT_LXC_PATH,
  INIT_FILE,
  INIT_SCRIPT,
  isSystemdInit,
  type LxcMetadata,
  METADATA_FILE,
  parseMetadata,
  validateLimits,
  workspaceConfigLines,
  workspaceMetadata,
} from './config.js';
import { startAttach } from './exec.js';
import { type LxcDriverState, makeHandle, readHandle } from './handle.js';
import { addressesInConfigs, allocateAddress, parseBridgeAddress } from './network.js';
import { forwardLoopback, type PortForward } from './ports.js';
import { chooseBackingStore, type LxcFacts, parseProbe, probeScript, verdict } from './probe.js';
import { LxcTools } from './tools.js';

/** What an LxcProvider needs. */
export interface LxcProviderOptions {
  /** This node's id, written in every container's labels. */
  nodeId: string;
  /** Where host commands run. */
  transport: Transport;
  /** Turns what the user typed for --image into an image container to clone (LxcImageExporter.resolve). */
  resolveImage: (image: string, op: OpContext) => Promise<LxcImageRef>;
  /** The lxcpath workspaces live in; /var/lib/lxc, where a plain `lxc-ls` looks, by default. */
  lxcPath?: string;
  /** The bridge workspaces attach to; lxcbr0 by default. */
  bridge?: string;
  /** Force a backing store instead of the probe's choice (overlay when the filesystem allows). */
  backingStore?: BackingStore;
}

/** The same promise, marked as handled: a step started early whose failure is seen when it is awaited (or not at all, if an earlier step failed). */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Maps an LXC state to the provider's view of it. */
export function statusOfState(state: string | null): ProviderStatus {
  if (state === null) return 'missing';
  if (state === 'RUNNING') return 'running';
  if (state === 'STOPPED') return 'stopped';
  return 'unknown';
}

/** Workspaces as LXC system containers. */
export class LxcProvider implements Provider {
  readonly kind = 'lxc' as const;
  readonly capabilities: Capabilities = { snapshots: false, pause: false, console: false, gpu: false };
  readonly lxcPath: string;
  readonly bridge: string;
  private readonly tools: LxcTools;
  /** Init PIDs of running containers, by name (see runningPid). */
  private readonly initPids = new Map<string, number>();
  private readonly nodeId: string;
  private readonly resolveImage: LxcProviderOptions['resolveImage'];
  private readonly forcedStore?: BackingStore;
  /** Whether an overlay mount works in the lxcpath; asked once, the filesystem does not change under us. */
  private overlay: boolean | null = null;
  /** The last probe's facts and when they were gathered: the agent probes right before every create. */
  private cached: { at: number; facts: LxcFacts } | null = null;
  /** Address allocation and cloning run one at a time, so two creates never take the same address. */
  private createLock: Promise<unknown> = Promise.resolve();

  constructor(opts: LxcProviderOptions) {
    this.nodeId = opts.nodeId;
    this.lxcPath = opts.lxcPath ?? DEFAULT_LXC_PATH;
    this.bridge = opts.bridge ?? DEFAULT_BRIDGE;
    this.tools = new LxcTools(opts.transport, this.lxcPath);
    this.resolveImage = opts.resolveImage;
    this.forcedStore = opts.backingStore;
  }

  /** The backing store new workspaces get, as the last probe decided. */
  get backingStore(): BackingStore {
    return chooseBackingStore({ overlay: this.overlay ?? false }, this.forcedStore);
  }

  async probe(): Promise<ProviderInfo> {
    try {
      const facts = await this.facts();
      return verdict(facts, { bridge: this.bridge, lxcPath: this.lxcPath, backingStore: this.backingStore });
    } catch (err) {
      const reason = err instanceof BerthError ? err.message : `The LXC probe could not run on ${this.tools.transport.description}: ${(err as Error).message}.`;
      return { kind: 'lxc', usable: false, reason, details: { lxcPath: this.lxcPath, bridge: this.bridge } };
    }
  }

  /** Which PID 1 the image gets: its own systemd when `/sbin/init` links to it (the link is read, never followed on the host). */
  private async imageInit(image: LxcImageRef): Promise<'berth' | 'systemd'> {
    const r = await this.tools.transport.run({ cmd: ['readlink', `${image.lxcPath}/${image.container}/rootfs/sbin/init`], timeoutMs: 10_000 });
    return r.code === 0 && isSystemdInit(r.stdout) ? 'systemd' : 'berth';
  }

  /** The image container a workspace would be cloned from, as `LXCPATH/NAME`; NOT_FOUND when this node has no LXC copy of the image. */
  async findImage(image: string): Promise<string> {
    const found = await this.resolveImage(image, silentOp());
    return `${found.lxcPath}/${found.container}`;
  }

  async create(spec: WorkspaceSpec, op: OpContext): Promise<WorkspaceHandle> {
    checkSpec(spec);
    const facts = await this.requireUsable();
    validateLimits(spec, facts);
    op.progress('resolving image', 0.1);
    const image = await this.resolveImage(spec.image, op);
    op.signal.throwIfAborted();
    const name = containerName(spec);
    const dir = `${this.lxcPath}/${name}`;
    // A config file is what makes a container exist for LXC; reading it is cheaper than lxc-info.
    if (
      await this.tools.transport.readFile(`${dir}/config`).then(
        () => true,
        () => false,
      )
    ) {
      throw new BerthError(
        'ALREADY_EXISTS',
        `An LXC container named ${name} already exists: delete the workspace first, or remove it with \`lxc-destroy -n ${name}\`.`,
      );
    }
    let cloned = false;
    // Which PID 1 the image has is read from the image, not the clone: beside the clone, not after it.
    const initOfImage = settledLater(this.imageInit(image));
    try {
      return await this.locked(async () => {
        // The address is needed only for the config written after the clone, and the lock keeps
        // it this create's until then: it is chosen (a host command) while lxc-copy runs.
        const address = settledLater(this.freeAddress(facts));
        const store = this.backingStore;
        op.progress(store === 'overlay' ? 'cloning image (overlay)' : 'copying image', 0.4);
        const copyArgs = ['-n', image.container, '-p', this.lxcPath, '-N', name, ...(store === 'overlay' ? ['-s', '-B', 'overlay'] : ['-B', 'dir'])];
        cloned = true;
        await this.tools.check('lxc-copy', copyArgs, 'cloning the image', { lxcPath: image.lxcPath, timeoutMs: 600_000, signal: op.signal });
        const ipv4 = await address;
        op.signal.throwIfAborted();
        // Labels first: from here on list() finds the container even if this create dies.
        await this.writeMetadata(dir, workspaceMetadata(spec, this.nodeId));
        const init = await initOfImage;
        if (init === 'berth') await this.tools.transport.writeFile(`${dir}/${INIT_FILE}`, INIT_SCRIPT, 0o755);
        const config = (await this.tools.transport.readFile(`${dir}/config`)).toString('utf8');
        const lines = workspaceConfigLines(spec, {
          containerDir: dir,
          bridge: this.bridge,
          ipv4,
          gateway: facts.bridgeAddress!.address,
          cgroup: facts.cgroup!,
          memswAvailable: facts.memsw,
          init,
        });
        // lxc-copy wrote the image's uts name; ours (the workspace name) replaces it.
        const kept = config.split('\n').filter((l) => l.trim() !== '' && !/^\s*lxc\.uts\.name\s*=/.test(l));
        await this.tools.transport.writeFile(`${dir}/config`, [...kept, ...lines, ''].join('\n'), 0o640);
        op.log(`created LXC container ${name} from ${image.container} (${store}, ${ipv4} on ${this.bridge}, init: ${init})`);
        op.progress('created', 1);
        return makeHandle(spec.id, { containerName: name, lxcPath: this.lxcPath, ipv4: ipv4.split('/')[0] });
      });
    } catch (err) {
      // Nothing half-made may remain: the container, its rootfs copy or overlay delta, its files.
      if (cloned) await this.removeContainer(name).catch(() => {});
      if (err instanceof BerthError) throw err;
      throw new BerthError('INTERNAL', `Creating the LXC container ${name} failed: see the detail, then retry.`, {
        detail: (err as Error).message,
        cause: err,
      });
    }
  }

  async start(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const s = readHandle(h);
    op.progress('starting', null);
    const log = `${s.lxcPath}/${s.containerName}/berth-start.log`;
    // No state check first: lxc-start on a running container fails, and the state after tells.
    const r = await this.tools.run('lxc-start', ['-n', s.containerName, '-o', log, '-l', 'ERROR'], {
      timeoutMs: 120_000,
      lxcPath: s.lxcPath,
      signal: op.signal,
    });
    op.signal.throwIfAborted();
    const after = await this.tools.state(s.containerName);
    if (after === null) await this.existingState(h, s);
    if (after !== 'RUNNING') {
      const detail = await this.tools.transport.readFile(log).then(
        (b) => b.toString('utf8').slice(-2000),
        () => r.stderr,
      );
      throw new BerthError(
        'INTERNAL',
        `The LXC container ${s.containerName} did not start (it is ${after ?? 'gone'}): see the detail, and the node setup in docs/providers/lxc.md.`,
        { detail },
      );
    }
    op.progress('started', 1);
  }

  async stop(h: WorkspaceHandle, opts: StopOptions, op: OpContext): Promise<void> {
    const s = readHandle(h);
    const state = await this.existingState(h, s);
    if (state === 'STOPPED') return;
    op.progress(opts.force ? 'killing' : 'stopping', null);
    const args = opts.force || opts.timeoutMs <= 0 ? ['-k'] : ['-t', String(Math.max(1, Math.ceil(opts.timeoutMs / 1000)))];
    const r = await this.tools.run('lxc-stop', ['-n', s.containerName, ...args], { timeoutMs: opts.timeoutMs + 60_000, lxcPath: s.lxcPath });
    // Exit 2 means "not running", which is what was asked for; any other failure must show.
    if (r.code !== 0 && r.code !== 2 && (await this.tools.state(s.containerName)) !== 'STOPPED') {
      throw new BerthError('INTERNAL', `lxc-stop could not stop ${s.containerName} (exit ${r.code}): see the detail.`, { detail: r.stderr.trim() });
    }
    op.progress('stopped', 1);
  }

  async destroy(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const s = readHandle(h);
    op.progress('removing container', 0.3);
    // Found by label as well as by name: a crashed create may have left one the handle never saw.
    const labelled = (await this.list()).filter((x) => x.workspaceId === h.workspaceId).map((x) => readHandle(x).containerName);
    for (const name of new Set([s.containerName, ...labelled])) await this.removeContainer(name);
    op.log(`removed workspace ${h.workspaceId}`);
    op.progress('removed', 1);
  }

  /** The container's state; `missing` when it is gone, `unknown` when LXC cannot say. */
  async inspect(h: WorkspaceHandle): Promise<ProviderStatus> {
    const s = readHandle(h);
    try {
      return statusOfState(await this.tools.state(s.containerName));
    } catch {
      return 'unknown';
    }
  }

  /**
   * LXC keeps containers running without the agent (each has its own monitor process), so
   * re-adopting one means checking it is still this workspace's, then reporting its state.
   */
  async recover(h: WorkspaceHandle): Promise<ProviderStatus> {
    const s = readHandle(h);
    const meta = await this.readMetadata(s);
    if (!meta || meta[LABELS.workspace] !== h.workspaceId) return 'missing';
    return this.inspect(h);
  }

  async exec(h: WorkspaceHandle, req: ExecRequest): Promise<ExecSession> {
    const s = readHandle(h);
    const state = await this.existingState(h, s);
    if (state !== 'RUNNING') {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${h.workspaceId} is not running: start it with \`berth ws start\`, then retry.`);
    }
    const meta = await this.readMetadata(s);
    return startAttach(this.tools.transport, { lxcPath: s.lxcPath, name: s.containerName, specEnv: meta?.env ?? {} }, req);
  }

  /**
   * Straight to the container's bridge address when LXC runs on this machine (direct-connect.ts),
   * else, or when the service listens only on the container's loopback, from inside its network
   * namespace (netns-connect.ts).
   */
  async connect(h: WorkspaceHandle, port: number): Promise<Duplex> {
    const { pid, name } = await this.runningPid(h);
    const address = readHandle(h).ipv4;
    if (address && this.tools.transport instanceof LocalTransport) {
      const socket = await connectDirect(address, port);
      if (socket) return socket;
    }
    return connectInNetns(this.tools.transport, { pid, workspace: name }, port);
  }

  /** The container's tables and sockets, read from the node's /proc at its init's PID. */
  async portSource(h: WorkspaceHandle): Promise<PortSource> {
    return hostPortSource(this.tools.transport, (await this.runningPid(h)).pid);
  }

  /**
   * The host PID of a running container's init; FAILED_PRECONDITION when it is not running. The
   * port watcher asks every second, so a PID is remembered and checked by reading its cgroup
   * (a file read) instead of running lxc-info each time.
   */
  private async runningPid(h: WorkspaceHandle): Promise<{ pid: number; name: string }> {
    const s = readHandle(h);
    const known = this.initPids.get(s.containerName);
    if (known !== undefined) {
      const cgroup = await this.tools.transport.readFile(`/proc/${known}/cgroup`).then(
        (b) => b.toString('utf8'),
        () => '',
      );
      if (cgroup.includes(`lxc.payload.${s.containerName}\n`) || cgroup.includes(`lxc.payload.${s.containerName}/`))
        return { pid: known, name: s.containerName };
      this.initPids.delete(s.containerName);
    }
    const pid = await this.tools.initPid(s.containerName);
    if (pid === null)
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${h.workspaceId} is not running: start it with \`berth ws start\`, then retry.`, {
        field: 'name',
      });
    this.initPids.set(s.containerName, pid);
    return { pid, name: s.containerName };
  }

  async list(): Promise<WorkspaceHandle[]> {
    const out: WorkspaceHandle[] = [];
    for (const name of await this.tools.list()) {
      if (!name.startsWith('berth-')) continue;
      const s: LxcDriverState = { containerName: name, lxcPath: this.lxcPath, ipv4: '' };
      const meta = await this.readMetadata(s);
      if (!meta || meta[LABELS.node] !== this.nodeId) continue;
      const config = await this.tools.transport.readFile(`${this.lxcPath}/${name}/config`).then(
        (b) => b.toString('utf8'),
        () => '',
      );
      out.push(makeHandle(meta[LABELS.workspace], { ...s, ipv4: addressesInConfigs(config)[0] ?? '' }));
    }
    return out;
  }

  /** Makes a running workspace's TCP port reachable on 127.0.0.1 of this node; close it when done. */
  async forwardPort(h: WorkspaceHandle, port: number, localPort = 0): Promise<PortForward> {
    const s = readHandle(h);
    if ((await this.existingState(h, s)) !== 'RUNNING') {
      throw new BerthError('FAILED_PRECONDITION', `Workspace ${h.workspaceId} is not running: start it, then forward its ports.`);
    }
    if (s.ipv4 === '') throw new BerthError('FAILED_PRECONDITION', `Workspace ${h.workspaceId} has no address on ${this.bridge}: recreate it.`);
    return forwardLoopback(s.ipv4, port, localPort);
  }

  /**
   * The node's facts. The full probe script runs until it finds LXC usable; after that only
   * the bridge (the one thing an operator is likely to change under a running agent) is
   * re-read, at most every second, so probing before each create costs milliseconds.
   */
  private async facts(): Promise<LxcFacts> {
    if (this.cached && Date.now() - this.cached.at < 1000) return this.cached.facts;
    const base = this.cached?.facts;
    if (base && verdict(base, { bridge: this.bridge, lxcPath: this.lxcPath, backingStore: this.backingStore }).usable) {
      const addr = await this.tools.host(['ip', '-4', '-o', 'addr', 'show', 'dev', this.bridge], { timeoutMs: 10_000 });
      const flags = await this.tools.transport.readFile(`/sys/class/net/${this.bridge}/flags`).then(
        (b) => parseInt(b.toString('utf8'), 16),
        () => 0,
      );
      // IFF_UP is bit 0 of the interface flags.
      const facts = { ...base, bridgeAddress: addr.code === 0 ? parseBridgeAddress(addr.stdout) : null, bridgeUp: (flags & 1) === 1 };
      this.cached = { at: Date.now(), facts };
      return facts;
    }
    const r = await this.tools.host(['/bin/sh', '-c', probeScript(this.bridge, this.lxcPath, this.overlay === null)], { timeoutMs: 10_000 });
    const facts = parseProbe(r.stdout);
    if (this.overlay === null && facts.uid === 0 && facts.missing.length === 0) this.overlay = facts.overlay;
    const result = { ...facts, overlay: this.overlay ?? false };
    this.cached = { at: Date.now(), facts: result };
    return result;
  }

  /** The node's facts, or PROVIDER_UNAVAILABLE with the probe's reason. */
  private async requireUsable(): Promise<LxcFacts> {
    const facts = await this.facts();
    const info = verdict(facts, { bridge: this.bridge, lxcPath: this.lxcPath, backingStore: this.backingStore });
    if (!info.usable) throw new BerthError('PROVIDER_UNAVAILABLE', info.reason ?? 'LXC is not usable on this node.', { field: 'provider' });
    return facts;
  }

  /** The lowest free address on the bridge, judged by every container config in the lxcpath. */
  private async freeAddress(facts: LxcFacts): Promise<string> {
    const r = await this.tools.host(['/bin/sh', '-c', 'cat "$1"/*/config 2>/dev/null; exit 0', 'sh', this.lxcPath]);
    const ip = allocateAddress(facts.bridgeAddress!, addressesInConfigs(r.stdout));
    if (ip === null)
      throw new BerthError('FAILED_PRECONDITION', `No free address left on ${this.bridge}: delete workspaces, or give the bridge a larger subnet.`);
    return ip;
  }

  /** The container's state; NOT_FOUND when it is gone. */
  private async existingState(h: WorkspaceHandle, s: LxcDriverState): Promise<string> {
    const state = await this.tools.state(s.containerName);
    if (state === null) {
      throw new BerthError(
        'NOT_FOUND',
        `The LXC container ${s.containerName} of workspace ${h.workspaceId} is gone: delete the workspace and create it again.`,
      );
    }
    return state;
  }

  /** Stops and destroys a container, then removes whatever of its directory is left. Idempotent. */
  private async removeContainer(name: string): Promise<void> {
    if ((await this.tools.state(name)) !== null) {
      await this.tools.run('lxc-stop', ['-n', name, '-k'], { timeoutMs: 60_000 });
      await this.tools.check('lxc-destroy', ['-n', name], 'deleting the workspace', { timeoutMs: 300_000 });
    }
    // A clone cut off before its config was written is invisible to lxc-destroy; its files must go too.
    const rm = await this.tools.host(['rm', '-rf', '--one-file-system', `${this.lxcPath}/${name}`], { timeoutMs: 300_000 });
    if (rm.code !== 0) throw new BerthError('INTERNAL', `Could not remove ${this.lxcPath}/${name}: see the detail.`, { detail: rm.stderr.trim() });
  }

  private async readMetadata(s: LxcDriverState): Promise<LxcMetadata | null> {
    const text = await this.tools.transport.readFile(`${s.lxcPath}/${s.containerName}/${METADATA_FILE}`).then(
      (b) => b.toString('utf8'),
      () => null,
    );
    return text === null ? null : parseMetadata(text);
  }

  private async writeMetadata(dir: string, meta: LxcMetadata): Promise<void> {
    await this.tools.transport.writeFile(`${dir}/${METADATA_FILE}`, JSON.stringify(meta, null, 2) + '\n', 0o644);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.createLock.then(fn, fn);
    this.createLock = next.catch(() => {});
    return next;
  }
}
