/**
 * The agent's work: it answers the server's requests by driving this node's providers, keeps
 * a persisted handle per workspace, re-adopts workspaces after a restart and reaps what berth
 * made on this node but no longer tracks.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  type AgentEvent,
  type AgentMethod,
  type AgentParams,
  BERTH_VERSION,
  BerthError,
  MAX_ORPHANS_IN_REPORT,
  type OpContext,
  type OrphanReport,
  type ProviderInfo,
  type ProviderKind,
  type WorkspaceReport,
  type WorkspaceStatus,
} from '../../api/index.js';
import type { Provider, ProviderStatus, WorkspaceHandle } from '../../providers/provider.js';
import type { NodeBackends } from '../../providers/registry.js';
import type { AgentReport } from '../connection/dialer.js';
import type { AgentState } from '../state.js';
import { BerthInInstaller, namesBerthIn } from './berth-in/install.js';
import { ExecSessions } from './exec-sessions.js';
import type { KeptTerminalStats } from './kept-terminals.js';
import type { Emit, ExecLink } from './link.js';
import type { PortTarget } from './port-watch.js';
// Workspace specs: hooks and services after a start (spec/).
import { SpecRunner } from './spec/spec-runner.js';
import { streamSession } from './stream-session.js';
import { readResources } from './system.js';

/** Waits `ms`, or less when `signal` fires first (then rejects with its reason). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Maps a provider's own 0..1 progress into [from, to] of the whole operation, so the bar never runs backwards. */
function subRange(op: OpContext, from: number, to: number): OpContext {
  return { ...op, progress: (stage, fraction = null) => op.progress(stage, fraction === null ? null : from + (to - from) * fraction) };
}

/** Labelled objects are listed for the orphan report at most this often. */
const ORPHAN_SCAN_MS = 5_000;

/** How long one workspace's inspect may take inside a heartbeat report (see workspaceReports). */
const INSPECT_IN_REPORT_MS = 4_000;

/** Provider status → the status the server records. A workspace gone from its node has failed. */
function toWorkspaceStatus(s: ProviderStatus): WorkspaceStatus {
  return s === 'missing' ? 'failed' : s;
}

/**
 * A pause after a create has made the workspace and before it starts, in milliseconds; 0 (the
 * default) for none. It exists for tests that must cancel a create, or crash the server, at a
 * moment when the workspace already exists on the node.
 */
function createHoldMs(): number {
  const ms = Number(process.env.BERTH_AGENT_CREATE_HOLD_MS ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/** An OpContext for cleanup after a cancel: same reporting, a signal that never fires, so undoing is never cut short. */
function uncancellable(op: OpContext): OpContext {
  return { ...op, signal: new AbortController().signal };
}

/** Drives this node's providers on the server's behalf. */
export class AgentRuntime {
  private readonly handles = new Map<string, WorkspaceHandle>();
  /** The abort controller of each request running under an operation id, for `op.cancel`. */
  private readonly running = new Map<string, AbortController>();
  /** Creates in flight by workspace id, so a delete that arrives meanwhile stops and awaits them. */
  private readonly creating = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  /** Each provider's latest probe, from the last report: a create need not probe again. */
  private readonly lastProbe = new Map<ProviderKind, ProviderInfo>();
  private readonly exec: ExecSessions;
  /** The last list of labelled objects (see orphans). */
  private lastScan: { at: number; found: WorkspaceHandle[] } | null = null;
  private readonly emit: Emit;
  /** Workspace specs: post_create/post_start hooks and the services' supervisor and watch. */
  private readonly spec: SpecRunner;
  /** Puts berth-in into a workspace before the first command that needs it (see berth-in/install.ts). */
  private readonly berthIn: BerthInInstaller;

  constructor(
    private readonly state: AgentState,
    private readonly backends: NodeBackends,
    private readonly log: Logger,
    private readonly link: ExecLink,
  ) {
    this.emit = link.emit;
    this.exec = new ExecSessions(link, log);
    this.berthIn = new BerthInInstaller(log);
    this.spec = new SpecRunner(this.emit, log, (provider, handle) => this.berthIn.ensure(provider, handle));
  }

  /** Makes sure a workspace this node holds has this agent's berth-in; a BerthError when it cannot be installed. */
  async ensureBerthIn(workspace: WorkspaceHandle | string): Promise<void> {
    const { provider, handle } = this.lookup(typeof workspace === 'string' ? workspace : workspace.workspaceId);
    await this.berthIn.ensure(provider, handle);
  }

  /**
   * Loads persisted handles and re-adopts their workspaces. Objects berth labelled for this
   * node without a handle are not removed here: they are reported as orphans (see report), and
   * the server, which knows whether a workspace of that id is mid-operation, deletes them.
   */
  async recover(): Promise<void> {
    for (const h of await this.state.loadHandles()) {
      this.handles.set(h.workspaceId, h);
      const p = this.backends.providers.find((x) => x.kind === h.kind);
      if (!p) continue;
      const status = await p.recover(h).catch(() => 'unknown' as const);
      this.log.info({ workspace: h.workspaceId, kind: h.kind, status }, 'recovered workspace');
      // Workspace specs: the supervisor outlived the agent; watch it again.
      if (status === 'running') this.spec.adopt(p, h);
    }
    for (const o of await this.orphans())
      this.log.warn({ workspace: o.workspaceId, kind: o.kind }, 'found a berth workspace without a handle; the server removes it unless it is mid-operation');
  }

  /** Each workspace this node holds, with its provider: what the port watcher reads. */
  portTargets(): PortTarget[] {
    return [...this.handles.values()].flatMap((handle) => {
      const provider = this.backends.providers.find((p) => p.kind === handle.kind);
      return provider ? [{ workspaceId: handle.workspaceId, provider, handle }] : [];
    });
  }

  /** The report for hello and heartbeats. */
  async report(): Promise<AgentReport> {
    const [resources, providers, workspaces, orphans] = await Promise.all([
      readResources(this.state.dir),
      Promise.all(
        this.backends.providers.map(async (p) => {
          const info = await p.probe();
          this.lastProbe.set(p.kind, info);
          return info;
        }),
      ),
      this.workspaceReports(),
      this.orphans(),
    ]);
    return { agentVersion: BERTH_VERSION, resources, providers, workspaces, orphans };
  }

  /** Answers one request from the server. */
  async handle(method: AgentMethod, params: unknown): Promise<unknown> {
    const opId = method === 'op.cancel' ? undefined : (params as { opId?: string }).opId;
    try {
      return await this.dispatch(method, params);
    } finally {
      if (opId) this.running.delete(opId);
      // What is labelled has changed: the next orphan report lists afresh.
      if (method === 'workspace.create' || method === 'workspace.delete') this.lastScan = null;
    }
  }

  private async dispatch(method: AgentMethod, params: unknown): Promise<unknown> {
    switch (method) {
      case 'op.cancel': {
        const p = params as AgentParams<'op.cancel'>;
        const controller = this.running.get(p.opId);
        if (controller && !controller.signal.aborted) controller.abort(new BerthError('CANCELLED', p.message));
        return { cancelled: !!controller };
      }
      case 'workspace.create': {
        const p = params as AgentParams<'workspace.create'>;
        const op = this.op(p.opId);
        const done = this.create(p, op);
        const entry = { abort: this.running.get(p.opId)!, done: done.catch(() => {}) };
        this.creating.set(p.spec.id, entry);
        try {
          return await done;
        } finally {
          if (this.creating.get(p.spec.id) === entry) this.creating.delete(p.spec.id);
        }
      }
      case 'workspace.start': {
        const p = params as AgentParams<'workspace.start'>;
        const { provider, handle } = this.lookup(p.workspaceId);
        const op = this.op(p.opId);
        await provider.start(handle, op);
        this.berthIn.started(handle.workspaceId);
        await this.spec.afterStart(provider, handle, p.project, op, false);
        return { status: toWorkspaceStatus(await provider.inspect(handle)) };
      }
      case 'workspace.stop': {
        const p = params as AgentParams<'workspace.stop'>;
        const { provider, handle } = this.lookup(p.workspaceId);
        this.exec.closeWorkspace(p.workspaceId);
        this.spec.stopped(p.workspaceId);
        await provider.stop(handle, { timeoutMs: p.timeoutSeconds * 1000, force: p.force }, this.op(p.opId));
        return { status: toWorkspaceStatus(await provider.inspect(handle)) };
      }
      case 'workspace.restart': {
        const p = params as AgentParams<'workspace.restart'>;
        const { provider, handle } = this.lookup(p.workspaceId);
        const op = this.op(p.opId);
        this.exec.closeWorkspace(p.workspaceId);
        this.spec.stopped(p.workspaceId);
        op.progress('stopping', 0.05);
        await provider.stop(handle, { timeoutMs: p.timeoutSeconds * 1000, force: false }, subRange(op, 0.05, 0.5));
        op.progress('starting', 0.5);
        await provider.start(handle, subRange(op, 0.5, 1));
        this.berthIn.started(handle.workspaceId);
        await this.spec.afterStart(provider, handle, p.project, op, false);
        return { status: toWorkspaceStatus(await provider.inspect(handle)) };
      }
      case 'workspace.delete': {
        const p = params as AgentParams<'workspace.delete'>;
        // A create still running for this workspace is stopped first and undoes itself;
        // deleting beside it would miss what it makes after this point.
        const inFlight = this.creating.get(p.workspaceId);
        if (inFlight) {
          inFlight.abort.abort(new BerthError('CANCELLED', 'The workspace was deleted while it was being created.'));
          await inFlight.done;
        }
        const handle = this.handles.get(p.workspaceId);
        this.spec.stopped(p.workspaceId);
        this.berthIn.forget(p.workspaceId);
        if (handle) {
          this.exec.closeWorkspace(p.workspaceId);
          await this.providerFor(handle.kind).destroy(handle, this.op(p.opId));
          this.handles.delete(p.workspaceId);
          await this.state.removeHandle(p.workspaceId);
          return {};
        }
        // No handle: whatever carries the workspace's labels still goes (a create cut off in a
        // previous agent process, an orphan the server reaps), so a delete is complete and
        // can be repeated after any crash.
        for (const found of await this.labelled()) {
          if (found.workspaceId === p.workspaceId) await this.providerFor(found.kind).destroy(found, this.op(p.opId));
        }
        return {};
      }
      case 'workspace.inspect': {
        const p = params as AgentParams<'workspace.inspect'>;
        const handle = this.handles.get(p.workspaceId);
        if (!handle) return { status: 'failed' };
        return {
          status: toWorkspaceStatus(
            await this.providerFor(handle.kind)
              .inspect(handle)
              .catch(() => 'unknown' as const),
          ),
        };
      }
      case 'exec.open': {
        const p = params as AgentParams<'exec.open'>;
        const { provider, handle } = this.lookup(p.workspaceId);
        // berth-in is copied in before the first command that runs it (relays, services, a user's exec).
        const install = namesBerthIn(p.request.cmd) ? () => this.berthIn.ensure(provider, handle) : async () => {};
        await this.exec.open(p.sessionId, p.workspaceId, p.request.tty, async () => {
          await install();
          return provider.exec(handle, p.request);
        });
        return {};
      }
      // Web UI: kept terminals (kept-terminals.ts).
      case 'terminal.attach': {
        const p = params as AgentParams<'terminal.attach'>;
        const { provider, handle } = this.lookup(p.workspaceId);
        return this.exec.terms.attach(p, () => provider.exec(handle, p.request));
      }
      case 'terminal.list':
        return this.exec.terms.list((params as AgentParams<'terminal.list'>).workspaceId);
      case 'port.open': {
        const p = params as AgentParams<'port.open'>;
        await this.exec.open(p.sessionId, p.workspaceId, false, async () => streamSession(await this.connectPort(p.workspaceId, p.port)));
        return {};
      }
      case 'image.build': {
        const p = params as AgentParams<'image.build'>;
        const image = await this.backends.images.build({ name: p.name, from: p.from, packages: p.packages }, this.op(p.opId));
        // A new image can make a provider usable (a VM image for QEMU): report before answering,
        // so the server knows by the time the build's operation is done.
        await this.link.reportNow().catch(() => {});
        return { ...image, nodeName: '' };
      }
      case 'image.resolve': {
        const p = params as AgentParams<'image.resolve'>;
        const provider = this.providerFor(p.provider);
        // A provider that cannot look an image up on its own is checked by its create, as before.
        return { ref: provider.findImage ? await provider.findImage(p.image) : p.image };
      }
      case 'image.list':
        return { images: (await this.backends.images.list()).map((i) => ({ ...i, nodeName: '' })) };
    }
  }

  /** Routes the server's exec control events. */
  onEvent(name: AgentEvent, payload: unknown): void {
    this.exec.onEvent(name, payload);
  }

  /** Routes the server's binary frames (exec input). */
  onBinary(frame: Buffer): void {
    this.exec.onBinary(frame);
  }

  /** The connection to the server was lost (exec-sessions.ts). */
  serverGone(): void {
    this.exec.serverGone();
  }

  /**
   * A TCP connection to `port` in a workspace, opened by its provider (`port.open`; the server
   * also calls this directly for its in-process agent, with no agent socket in between).
   */
  async connectPort(workspaceId: string, port: number): Promise<Duplex> {
    const { provider, handle } = this.lookup(workspaceId);
    if (!provider.connect) throw new BerthError('UNSUPPORTED', `The ${provider.kind} provider on this node cannot open connections into workspaces.`);
    return provider.connect(handle, port);
  }

  /** Open exec sessions on this node (metrics). */
  get execSessionCount(): number {
    return this.exec.size;
  }

  /** Web UI: the kept terminals' counts, for the agent's metrics. */
  keptTerminalStats(): KeptTerminalStats {
    return this.exec.terms.stats();
  }

  /** The provider of a workspace this agent tracks (metrics label the last report's workspaces with it). */
  providerOf(workspaceId: string): ProviderKind | undefined {
    return this.handles.get(workspaceId)?.kind;
  }

  /** Ends every exec session (agent shutdown). */
  closeAll(): void {
    this.exec.closeAll();
    this.spec.watcher.closeAll();
  }

  /** Workspace specs: sends every services state again (after each hello). */
  resendServices(): void {
    this.spec.watcher.resendAll();
  }

  private async create(p: AgentParams<'workspace.create'>, op: OpContext): Promise<{ status: WorkspaceStatus }> {
    const provider = this.providerFor(p.spec.provider);
    // The last report's probe says whether the provider works; only a provider that was not
    // usable then is probed again, in case it has become usable since (a new VM image, say).
    const cached = this.lastProbe.get(provider.kind);
    const info = cached?.usable ? cached : await provider.probe();
    if (!info.usable)
      throw new BerthError('PROVIDER_UNAVAILABLE', `The ${provider.kind} provider is not usable on this node: ${info.reason ?? 'no reason given'}`, {
        field: 'provider',
      });
    op.signal.throwIfAborted();
    op.progress('creating', 0.05);
    let handle: WorkspaceHandle;
    try {
      handle = await provider.create(p.spec, subRange(op, 0.05, 0.7));
    } catch (err) {
      // The provider has undone its part; a cancel wins over however the abort surfaced there.
      throw op.signal.aborted ? op.signal.reason : err;
    }
    try {
      // Persist before starting: if the agent dies now, recover() finds the handle instead of reaping.
      await this.state.saveHandle(handle);
      this.handles.set(handle.workspaceId, handle);
      const hold = createHoldMs();
      if (hold > 0) await abortableSleep(hold, op.signal);
      op.signal.throwIfAborted();
      op.progress('starting', 0.7);
      await provider.start(handle, subRange(op, 0.7, 0.99));
      // Nothing needs berth-in yet: the first command that does copies it in (berth-in/install.ts).
      this.berthIn.created(handle.workspaceId);
      op.signal.throwIfAborted();
      // Workspace specs: a failing post_create (or services set-up) fails the create, undone below.
      await this.spec.afterStart(provider, handle, p.project, op, true);
      op.progress('running', 1);
      return { status: toWorkspaceStatus(await provider.inspect(handle)) };
    } catch (err) {
      this.handles.delete(handle.workspaceId);
      this.spec.stopped(handle.workspaceId);
      this.berthIn.forget(handle.workspaceId);
      if (op.signal.aborted) op.log('cancelled: removing what was made');
      await provider.destroy(handle, uncancellable(op)).catch((e) => this.log.error({ err: e }, 'could not clean up a failed create'));
      await this.state.removeHandle(handle.workspaceId);
      throw op.signal.aborted ? op.signal.reason : err;
    }
  }

  /**
   * Everything berth labelled for this node, from every usable provider (a provider whose list
   * fails or hangs is left out this time rather than holding the heartbeat up).
   */
  private async labelled(): Promise<WorkspaceHandle[]> {
    const lists = await Promise.all(
      this.backends.providers.map(async (p) => {
        const usable =
          this.lastProbe.get(p.kind)?.usable ??
          (await p.probe().then(
            (i) => i.usable,
            () => false,
          ));
        if (!usable) return [];
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<WorkspaceHandle[]>((resolve) => (timer = setTimeout(() => resolve([]), INSPECT_IN_REPORT_MS)));
        return Promise.race([p.list().catch(() => [] as WorkspaceHandle[]), late]).finally(() => clearTimeout(timer));
      }),
    );
    return lists.flat();
  }

  /** Labelled workspaces with no handle and no create in flight: what the server may reap. */
  private async orphans(): Promise<OrphanReport[]> {
    // Listing every provider's objects is not free (LXC runs a command): at most every
    // ORPHAN_SCAN_MS. A stale entry is harmless, the server reaps only after a grace.
    if (!this.lastScan || Date.now() - this.lastScan.at >= ORPHAN_SCAN_MS) this.lastScan = { at: Date.now(), found: await this.labelled() };
    const found = this.lastScan.found.filter((h) => !this.handles.has(h.workspaceId) && !this.creating.has(h.workspaceId));
    return found.slice(0, MAX_ORPHANS_IN_REPORT).map((h) => ({ workspaceId: h.workspaceId, kind: h.kind }));
  }

  private async workspaceReports(): Promise<WorkspaceReport[]> {
    return Promise.all(
      [...this.handles.values()].map(async (h) => {
        // Bounded: the report is the heartbeat, and an engine that hangs on one inspect must
        // not keep the whole node from heartbeating (the server would call it offline). A
        // status not known in time is reported as `unknown`, which is true.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'unknown'>((resolve) => (timer = setTimeout(() => resolve('unknown'), INSPECT_IN_REPORT_MS)));
        const status = await Promise.race([
          this.providerFor(h.kind)
            .inspect(h)
            .catch(() => 'unknown' as const),
          late,
        ]).finally(() => clearTimeout(timer));
        return { workspaceId: h.workspaceId, status: toWorkspaceStatus(status) };
      }),
    );
  }

  private lookup(workspaceId: string): { provider: Provider; handle: WorkspaceHandle } {
    const handle = this.handles.get(workspaceId);
    if (!handle)
      throw new BerthError('NOT_FOUND', 'This node does not know that workspace; it may have been removed outside berth. Delete it and create it again.', {
        field: 'name',
      });
    return { provider: this.providerFor(handle.kind), handle };
  }

  private providerFor(kind: ProviderKind): Provider {
    const p = this.backends.providers.find((x) => x.kind === kind);
    if (!p) throw new BerthError('PROVIDER_UNAVAILABLE', `This node has no ${kind} provider.`, { field: 'provider' });
    return p;
  }

  /** The context of one operation's request; `op.cancel` with its id fires its signal. */
  private op(opId: string): OpContext {
    let controller = this.running.get(opId);
    if (!controller) {
      controller = new AbortController();
      this.running.set(opId, controller);
    }
    return {
      signal: controller.signal,
      log: (line) => this.emit('op.log', { opId, line }),
      progress: (stage, fraction = null) => this.emit('op.progress', { opId, stage, fraction }),
    };
  }
}
