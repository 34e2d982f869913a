/**
 * The Docker provider: a workspace is one container plus one named volume for /root, both
 * labelled with the workspace and node ids, driven through the engine API on a unix socket.
 */

import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { BerthError, type ExecRequest, type OpContext, type ProviderInfo, type WorkspaceSpec } from '../../api/index.js';
import { type ExecSession, LocalTransport, runViaExec, type Transport } from '../../transport/index.js';
import { connectDirect } from '../direct-connect.js';
import { containerName } from '../naming.js';
import { connectInNetns } from '../netns-connect.js';
import { hostPortSource, type PortSource } from '../ports/scanner.js';
import type { Capabilities, Provider, ProviderStatus, StopOptions, WorkspaceHandle } from '../provider.js';
import { LABELS } from '../provider.js';
import { checkSpec } from '../spec-check.js';
import { containerCreateOptions, labelFilter, NODE_BERTH_IN_PATH, validateLimits, volumeName, workspaceLabels } from './config.js';
import { connectDocker, defaultSocketPath } from './connect.js';
import { engineContainer, engineVolume } from './engine-objects.js';
import { engineError, engineMessage, engineStatus, isConnectionError, isNotFound, unreachableReason } from './errors.js';
import { startExec } from './exec.js';
import { ExecServers } from './exec-server.js';
import { type DockerDriverState, makeHandle, readHandle } from './handle.js';
import { NodeBerthIn } from './node-berth-in.js';

export { connectDocker, defaultSocketPath } from './connect.js';

/** A probe must answer within this, so a hung engine cannot stall the agent's heartbeat. */
const PROBE_TIMEOUT_MS = 3000;

/** A command that finds no exec server starts one once it ends, or after this long if it keeps running. */
const EXEC_SERVER_START_DELAY_MS = 1000;

/** How long the engine host's CPU count and memory from /info are reused for creates. */
const HOST_FACTS_MAX_AGE_MS = 60_000;

/** What a DockerProvider needs. */
export interface DockerProviderOptions {
  /** This node's id, written on everything the provider creates. */
  nodeId: string;
  /** The engine's unix socket; defaults to DOCKER_HOST's unix path or /var/run/docker.sock. */
  socketPath?: string;
  /** Turns what the user typed for --image into an engine reference (ImageStore.resolveDocker). */
  resolveImage: (image: string, op: OpContext) => Promise<string>;
  /** Finds the image without pulling or making anything (ImageStore.findDocker); findImage passes the image through when absent. */
  findImage?: (image: string) => Promise<string>;
  /** An existing client to share (with the ImageStore); made from socketPath when absent. */
  docker?: Dockerode;
  /**
   * The engine's own host, to open connections inside a container's network namespace
   * (`connect`): its container PIDs must be this host's. Defaults to this machine, where the
   * engine's unix socket is.
   */
  host?: Transport;
  /**
   * Run commands through berth-in's exec server inside the container when it answers (default
   * true; only where the engine is on this machine, since the server is reached through its
   * /proc). False keeps every command on the engine's exec.
   */
  execServer?: boolean;
  /**
   * Where the node keeps the berth-in copies its workspaces bind-mount (node-berth-in.ts; the
   * agent's state dir's berth-in/). Without one the build's own file is mounted.
   */
  berthInDir?: string;
}

/** Maps an engine container state to the provider's view of it. */
export function statusOfContainer(state: { Status?: string; Running?: boolean } | undefined): ProviderStatus {
  if (!state) return 'unknown';
  if (state.Running && state.Status !== 'paused' && state.Status !== 'restarting') return 'running';
  if (state.Status === 'created' || state.Status === 'exited' || state.Status === 'dead') return 'stopped';
  return 'unknown';
}

/** Workspaces as Docker containers with a named home volume. */
export class DockerProvider implements Provider {
  readonly kind = 'docker' as const;
  readonly capabilities: Capabilities = { snapshots: false, pause: false, console: false, gpu: false };
  readonly socketPath: string;
  private readonly nodeId: string;
  private readonly resolveImage: DockerProviderOptions['resolveImage'];
  private readonly findImageFn?: DockerProviderOptions['findImage'];
  private readonly client: Dockerode;
  // A separate client with a request timeout, used only for quick questions: the main client
  // must not time out, because exec sessions and image pulls legitimately run for hours.
  private readonly quickClient: Dockerode;
  private readonly host: Transport;
  /** The engine host's CPUs and memory from its last /info, and when (see requireEngine). */
  private hostFacts: { at: number; facts: { cpus: number; memoryBytes: number } } | null = null;
  /** berth-in's exec servers in this provider's containers; null when commands always take the engine's exec. */
  private readonly execServers: ExecServers | null;
  /** The node's berth-in to mount into new containers, so their exec server runs from the start; null without exec servers. */
  private readonly nodeBerthIn: NodeBerthIn | null;

  constructor(opts: DockerProviderOptions) {
    this.nodeId = opts.nodeId;
    const sharedSocket = (opts.docker?.modem as { socketPath?: string } | undefined)?.socketPath;
    this.socketPath = opts.socketPath ?? sharedSocket ?? defaultSocketPath();
    this.resolveImage = opts.resolveImage;
    this.findImageFn = opts.findImage;
    this.client = opts.docker ?? connectDocker(this.socketPath);
    // The engine is reached on a unix socket, so it runs here and its containers are this host's processes.
    this.host = opts.host ?? new LocalTransport();
    this.quickClient = connectDocker(this.socketPath, PROBE_TIMEOUT_MS);
    const engineLocal = this.host instanceof LocalTransport;
    this.execServers =
      opts.execServer !== false && engineLocal
        ? new ExecServers((id, cmd, input) =>
            runViaExec(
              { description: `container ${id.slice(0, 12)}`, exec: (p) => startExec(engineContainer(this.client, id), { cmd: p.cmd, tty: false, env: {} }) },
              { cmd, input, timeoutMs: 60_000 },
            ),
          )
        : null;
    this.nodeBerthIn = this.execServers ? new NodeBerthIn(opts.berthInDir ?? null) : null;
  }

  /** The engine client, for sharing with the ImageStore. */
  get docker(): Dockerode {
    return this.client;
  }

  async probe(): Promise<ProviderInfo> {
    const details: Record<string, string> = { socket: this.socketPath };
    try {
      const version = await this.quickClient.version();
      details.apiVersion = version.ApiVersion;
      const info = (await this.quickClient.info()) as { Driver?: string; CgroupVersion?: string; NCPU?: number; MemTotal?: number };
      if (info.Driver) details.storageDriver = info.Driver;
      if (info.CgroupVersion) details.cgroupVersion = info.CgroupVersion;
      return { kind: 'docker', usable: true, version: version.Version, details };
    } catch (err) {
      const reason =
        isConnectionError(err) || engineStatus(err) === undefined
          ? unreachableReason(this.socketPath, err)
          : `Docker engine at ${this.socketPath} answered with an error (${engineMessage(err)}): check \`docker info\` on this node.`;
      return { kind: 'docker', usable: false, reason, details };
    }
  }

  async findImage(image: string): Promise<string> {
    return this.findImageFn ? this.findImageFn(image) : image;
  }

  async create(spec: WorkspaceSpec, op: OpContext): Promise<WorkspaceHandle> {
    checkSpec(spec);
    // Found (and on an agent's first create, copied into its state dir) while the engine works.
    const berthIn = this.nodeBerthIn ? this.nodeBerthIn.path() : Promise.resolve(null);
    const host = await this.requireEngine();
    validateLimits(spec, host);
    op.progress('resolving image', 0.1);
    const image = await this.resolveImage(spec.image, op).catch(async (err: unknown) => {
      // With the host's facts reused, an engine that has gone since shows up here first (as a
      // missing image): ask it afresh, so that case fails PROVIDER_UNAVAILABLE as before.
      this.hostFacts = null;
      await this.requireEngine();
      throw err;
    });
    op.signal.throwIfAborted();

    const made: { volume?: string; container?: string } = {};
    try {
      op.progress('creating home volume', 0.5);
      const volume = volumeName(spec.id);
      await this.createHomeVolume(volume, spec.id);
      made.volume = volume;
      op.signal.throwIfAborted();

      op.progress('creating container', 0.7);
      const container = await this.createContainer(spec, image, await berthIn);
      made.container = container.id;
      this.execServers?.created(container.id);
      op.signal.throwIfAborted();
      op.log(`created container ${containerName(spec)} (${container.id.slice(0, 12)}) from ${image}`);
      op.progress('created', 1);
      return makeHandle(spec.id, { containerId: container.id, containerName: containerName(spec), volumeName: volume });
    } catch (err) {
      // Nothing half-made may remain: undo what this call made, newest first.
      if (made.container)
        await engineContainer(this.client, made.container)
          .remove({ force: true })
          .catch(() => {});
      if (made.volume)
        await engineVolume(this.client, made.volume)
          .remove()
          .catch(() => {});
      throw this.createError(err, spec, image);
    }
  }

  async start(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const { state, container } = this.containerOf(h);
    op.progress('starting', null);
    try {
      await container.start().catch(async (err: unknown) => {
        // The node's berth-in copy this container mounts is gone (a wiped state dir): put it back once.
        if (!/bind source path does not exist/i.test(engineMessage(err)) || !(await this.restoreBerthIn(container))) throw err;
        await container.start();
      });
    } catch (err) {
      if (engineStatus(err) === 304) return; // already running
      throw this.stateError(err, h, state, 'starting the workspace');
    }
    op.progress('started', 1);
  }

  async stop(h: WorkspaceHandle, opts: StopOptions, op: OpContext): Promise<void> {
    const { state, container } = this.containerOf(h);
    op.progress(opts.force ? 'killing' : 'stopping', null);
    try {
      if (opts.force) await container.kill();
      else await container.stop({ t: Math.max(0, Math.ceil(opts.timeoutMs / 1000)) });
    } catch (err) {
      // 304 from stop and 409 from kill both mean "not running", which is what was asked for.
      if (engineStatus(err) === 304 || engineStatus(err) === 409) return;
      throw this.stateError(err, h, state, 'stopping the workspace');
    }
    if (opts.force) await container.wait({ condition: 'not-running' }).catch(() => {});
    op.progress('stopped', 1);
  }

  async destroy(h: WorkspaceHandle, op: OpContext): Promise<void> {
    const state = readHandle(h);
    this.execServers?.forget(state.containerId);
    op.progress('removing container', 0.3);
    try {
      // Containers found by label as well as by id: a crashed create may have left one the handle never saw.
      const labelled = await this.client.listContainers({ all: true, filters: labelFilter(this.nodeId, h.workspaceId) });
      const ids = new Set([state.containerId, ...labelled.map((c) => c.Id)].filter(Boolean));
      for (const id of ids) await ignoreNotFound(engineContainer(this.client, id).remove({ force: true, v: true }));
      op.progress('removing home volume', 0.7);
      const volumes = await this.client.listVolumes({ filters: labelFilter(this.nodeId, h.workspaceId) });
      const names = new Set([state.volumeName, ...(volumes.Volumes ?? []).map((v) => v.Name)].filter(Boolean));
      for (const name of names) await ignoreNotFound(engineVolume(this.client, name).remove());
    } catch (err) {
      throw engineError(err, 'deleting the workspace', this.socketPath);
    }
    op.log(`removed workspace ${h.workspaceId}`);
    op.progress('removed', 1);
  }

  /**
   * Starts the exec server of a running workspace if it is not up, and says whether it now
   * answers as this workspace's (tests, and anyone who wants the next command fast for sure).
   */
  async execServerReady(h: WorkspaceHandle): Promise<boolean> {
    const servers = this.execServers;
    if (!servers) return false;
    const { pid, mounted } = await this.runningPid(h, 'starting its exec server');
    await servers.ensure(h.workspaceId, readHandle(h).containerId, pid, mounted);
    return servers.answers(h.workspaceId, pid);
  }

  /** The container's state; `unknown` when the engine cannot be reached, `missing` when it is gone. */
  async inspect(h: WorkspaceHandle): Promise<ProviderStatus> {
    const state = readHandle(h);
    if (state.containerId === '') return 'missing';
    try {
      const info = await engineContainer(this.quickClient, state.containerId).inspect();
      return statusOfContainer(info.State);
    } catch (err) {
      if (isNotFound(err)) return 'missing';
      if (isConnectionError(err)) return 'unknown';
      throw engineError(err, 'inspecting the workspace', this.socketPath);
    }
  }

  /** Containers need no re-adoption: the engine kept them. Checks the handle and reports the state. */
  async recover(h: WorkspaceHandle): Promise<ProviderStatus> {
    return this.inspect(h);
  }

  async exec(h: WorkspaceHandle, req: ExecRequest): Promise<ExecSession> {
    const { state, container } = this.containerOf(h);
    try {
      const info = await container.inspect();
      if (statusOfContainer(info.State) !== 'running') throw notRunning(info.Config?.Hostname ?? h.workspaceId);
      const servers = this.execServers;
      if (!servers) return await startExec(container, req);
      const fast = await servers.exec(h.workspaceId, info.State.Pid, req);
      if (fast) return fast;
      // No server yet: start one once this command is done (or has run for a second), so its
      // copy and start never compete with the command for the node's CPUs.
      const session = await startExec(container, req);
      const pid = info.State.Pid;
      const mounted = mountsNodeBerthIn(info);
      const kick = (): void => void servers.ensure(h.workspaceId, state.containerId, pid, mounted);
      const timer = setTimeout(kick, EXEC_SERVER_START_DELAY_MS);
      timer.unref();
      return {
        ...session,
        async wait() {
          try {
            return await session.wait();
          } finally {
            clearTimeout(timer);
            kick();
          }
        },
      };
    } catch (err) {
      if (engineStatus(err) === 409) throw notRunning(h.workspaceId);
      throw this.stateError(err, h, state, 'starting the command');
    }
  }

  /**
   * Straight to the container's address when the engine is on this machine (direct-connect.ts),
   * else, or when the service listens only on the container's loopback, from inside its network
   * namespace (netns-connect.ts).
   */
  async connect(h: WorkspaceHandle, port: number): Promise<Duplex> {
    const { pid, name, address } = await this.runningPid(h, 'opening a connection');
    if (address && this.host instanceof LocalTransport) {
      const socket = await connectDirect(address, port);
      if (socket) return socket;
    }
    return connectInNetns(this.host, { pid, workspace: name }, port);
  }

  /** The container's tables and sockets, read from this host's /proc at its init's PID. */
  async portSource(h: WorkspaceHandle): Promise<PortSource> {
    return hostPortSource(this.host, (await this.runningPid(h, 'listing its ports')).pid);
  }

  /** The host PID of a running container's init; FAILED_PRECONDITION when it is not running. */
  private async runningPid(h: WorkspaceHandle, doing: string): Promise<{ pid: number; name: string; address: string | null; mounted: boolean }> {
    const { state, container } = this.containerOf(h);
    try {
      const info = await container.inspect();
      if (statusOfContainer(info.State) !== 'running') throw notRunning(info.Config?.Hostname ?? h.workspaceId);
      return {
        pid: info.State.Pid,
        name: state.containerName || h.workspaceId,
        address: containerAddress(info.NetworkSettings),
        mounted: mountsNodeBerthIn(info),
      };
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw this.stateError(err, h, state, doing);
    }
  }

  async list(): Promise<WorkspaceHandle[]> {
    try {
      const filters = labelFilter(this.nodeId);
      const containers = await this.client.listContainers({ all: true, filters });
      const volumes = (await this.client.listVolumes({ filters })).Volumes ?? [];
      const byWorkspace = new Map<string, DockerDriverState>();
      for (const c of containers) {
        const id = c.Labels[LABELS.workspace];
        if (!id) continue;
        byWorkspace.set(id, { containerId: c.Id, containerName: (c.Names[0] ?? '').replace(/^\//, ''), volumeName: volumeName(id) });
      }
      // A volume without its container still belongs to a workspace, and must be reapable.
      for (const v of volumes) {
        const id = v.Labels?.[LABELS.workspace];
        if (id && !byWorkspace.has(id)) byWorkspace.set(id, { containerId: '', containerName: '', volumeName: v.Name });
      }
      return [...byWorkspace].map(([id, s]) => makeHandle(id, s));
    } catch (err) {
      throw engineError(err, 'listing workspaces', this.socketPath);
    }
  }

  /** The handle's container; NOT_FOUND for a handle that only has a leftover volume. */
  private containerOf(h: WorkspaceHandle): { state: DockerDriverState; container: Dockerode.Container } {
    const state = readHandle(h);
    if (state.containerId === '') throw this.stateError({ statusCode: 404 }, h, state, 'finding the container');
    return { state, container: engineContainer(this.client, state.containerId) };
  }

  /** Fails with PROVIDER_UNAVAILABLE (and the probe's reason) unless the engine answers; returns the host's size. */
  private async requireEngine(): Promise<{ cpus: number; memoryBytes: number }> {
    // The engine's /info walks its containers and images (~10 ms here) and was asked before
    // every create only for the host's CPUs and memory, which do not change from one create to
    // the next: a recent answer is reused. An engine that has gone since fails the create's
    // next call, which says so the same way (engineError).
    const cached = this.hostFacts;
    if (cached && Date.now() - cached.at < HOST_FACTS_MAX_AGE_MS) return cached.facts;
    try {
      const info = (await this.quickClient.info()) as { NCPU?: number; MemTotal?: number };
      const facts = { cpus: info.NCPU ?? 0, memoryBytes: info.MemTotal ?? 0 };
      this.hostFacts = { at: Date.now(), facts };
      return facts;
    } catch {
      this.hostFacts = null;
      const probe = await this.probe();
      throw new BerthError('PROVIDER_UNAVAILABLE', probe.reason ?? unreachableReason(this.socketPath, null));
    }
  }

  /**
   * Creates the container, with the node's berth-in mounted when there is one. An engine that
   * refuses the mount (it cannot see this host's file: a remote or virtualised engine) gets
   * the container without it, as before the mount existed.
   */
  private async createContainer(spec: WorkspaceSpec, image: string, berthIn: string | null): Promise<Dockerode.Container> {
    try {
      return await this.client.createContainer(containerCreateOptions(spec, image, this.nodeId, berthIn));
    } catch (err) {
      if (!berthIn || !/bind source path|invalid mount config/i.test(engineMessage(err))) throw err;
      // The copy went away since it was found (a wiped state dir): put it back and mount it after all.
      if (await this.nodeBerthIn?.restore(berthIn).catch(() => false)) {
        const again = await this.client.createContainer(containerCreateOptions(spec, image, this.nodeId, berthIn)).catch(() => null);
        if (again) return again;
      }
      return this.client.createContainer(containerCreateOptions(spec, image, this.nodeId, null));
    }
  }

  /** Puts the node's berth-in back at the source of the container's mount; true when it did. */
  private async restoreBerthIn(container: Dockerode.Container): Promise<boolean> {
    const info = await container.inspect().catch(() => null);
    const mount = info?.HostConfig.Mounts?.find((m) => m.Target === NODE_BERTH_IN_PATH && m.Type === 'bind');
    if (!mount?.Source || !this.nodeBerthIn) return false;
    return this.nodeBerthIn.restore(mount.Source).catch(() => false);
  }

  /** Creates the labelled home volume, refusing to adopt one that belongs to something else. */
  private async createHomeVolume(name: string, workspaceId: string): Promise<void> {
    const existing = await engineVolume(this.client, name)
      .inspect()
      .catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
    if (existing) {
      throw new BerthError(
        'ALREADY_EXISTS',
        `The volume ${name} already exists: delete workspace ${workspaceId} first, or remove the volume with \`docker volume rm ${name}\`.`,
      );
    }
    await this.client.createVolume({ Name: name, Labels: workspaceLabels(workspaceId, this.nodeId) });
  }

  private createError(err: unknown, spec: WorkspaceSpec, image: string): BerthError {
    if (err instanceof BerthError) return err;
    if (engineStatus(err) === 409) {
      const name = containerName(spec);
      return new BerthError(
        'ALREADY_EXISTS',
        `A container named ${name} already exists: delete the workspace first, or remove it with \`docker rm -f ${name}\`.`,
      );
    }
    if (isNotFound(err)) {
      return new BerthError('NOT_FOUND', `The image ${image} is not on this node: build it with \`berth image build NAME --from busybox\`.`, {
        field: 'image',
        detail: engineMessage(err),
      });
    }
    return engineError(err, 'creating the workspace', this.socketPath);
  }

  private stateError(err: unknown, h: WorkspaceHandle, state: DockerDriverState, doing: string): BerthError {
    if (err instanceof BerthError) return err;
    if (isNotFound(err)) {
      const name = state.containerName || state.containerId.slice(0, 12);
      return new BerthError('NOT_FOUND', `The container ${name} of workspace ${h.workspaceId} is gone: delete the workspace and create it again.`);
    }
    return engineError(err, doing, this.socketPath);
  }
}

function notRunning(name: string): BerthError {
  return new BerthError('FAILED_PRECONDITION', `Workspace ${name} is not running: start it with \`berth start ${name}\`, then retry.`);
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** True when the container has the node's berth-in mounted, so its keepalive starts the exec server. */
function mountsNodeBerthIn(info: Dockerode.ContainerInspectInfo): boolean {
  return (info.Mounts ?? []).some((m) => m.Destination === NODE_BERTH_IN_PATH);
}

/** The container's IPv4 address on its first network that has one (the engine lists the default bridge there too). */
function containerAddress(settings: Dockerode.ContainerInspectInfo['NetworkSettings'] | undefined): string | null {
  for (const network of Object.values(settings?.Networks ?? {})) if (network.IPAddress) return network.IPAddress;
  return null;
}
