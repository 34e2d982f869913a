import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OpContext, WorkspaceSpec } from '../../api/index.js';
import type { Provider, ProviderStatus, WorkspaceHandle } from '../../providers/provider.js';
import type { NodeBackends } from '../../providers/registry.js';
import { AgentState } from '../state.js';
import { AgentRuntime } from './runtime.js';

/**
 * A provider that keeps its workspaces in a set and whose start waits on the op's signal (or
 * a release), so a test can cancel a create while the workspace exists.
 */
class HeldProvider implements Partial<Provider> {
  readonly kind = 'docker' as const;
  readonly capabilities = { snapshots: false, pause: false, console: false, gpu: false };
  readonly made = new Set<string>();
  startEntered!: Promise<void>;
  private entered!: () => void;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.startEntered = new Promise((r) => (this.entered = r));
  }
  async probe() {
    return { kind: 'docker' as const, usable: true, details: {} };
  }
  async create(spec: WorkspaceSpec): Promise<WorkspaceHandle> {
    this.made.add(spec.id);
    return { workspaceId: spec.id, kind: 'docker', version: 1, driverState: {} };
  }
  async start(_h: WorkspaceHandle, op: OpContext): Promise<void> {
    this.entered();
    await new Promise<void>((_, reject) => op.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true }));
  }
  async destroy(h: WorkspaceHandle): Promise<void> {
    this.made.delete(h.workspaceId);
  }
  async inspect(h: WorkspaceHandle): Promise<ProviderStatus> {
    return this.made.has(h.workspaceId) ? 'running' : 'missing';
  }
  /** What carries berth's labels: everything made, as the engine would list it. */
  async list(): Promise<WorkspaceHandle[]> {
    return [...this.made].map((id) => ({ workspaceId: id, kind: 'docker' as const, version: 1, driverState: {} }));
  }
}

let dir: string;
let provider: HeldProvider;
let runtime: AgentRuntime;
const spec = (id: string) => ({ id, name: id, provider: 'docker' as const, image: 'base', cpus: null, memoryBytes: null, env: {} });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-runtime-'));
  const state = new AgentState(dir);
  await state.init();
  provider = new HeldProvider();
  const backends = { providers: [provider as unknown as Provider], images: {} } as unknown as NodeBackends;
  runtime = new AgentRuntime(state, backends, pino({ level: 'silent' }), {
    emit: () => {},
    sendBinary: () => {},
    bufferedAmount: () => 0,
    reportNow: async () => {},
  });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AgentRuntime cancellation', () => {
  it("op.cancel fires the running create's signal; the create undoes itself and fails with CANCELLED", async () => {
    const create = runtime.handle('workspace.create', { opId: 'op1', spec: spec('w1') });
    await provider.startEntered;
    expect(provider.made.has('w1')).toBe(true);
    expect(await runtime.handle('op.cancel', { opId: 'op1', message: 'Cancelled by mia.' })).toEqual({ cancelled: true });
    await expect(create).rejects.toMatchObject({ code: 'CANCELLED', message: 'Cancelled by mia.' });
    expect(provider.made.size).toBe(0);
    expect(await runtime.handle('workspace.inspect', { workspaceId: 'w1' })).toEqual({ status: 'failed' });
    // Nothing runs under that id any more.
    expect(await runtime.handle('op.cancel', { opId: 'op1', message: 'again' })).toEqual({ cancelled: false });
  });

  it('a delete that arrives during the create stops it first, so nothing is left', async () => {
    const create = runtime.handle('workspace.create', { opId: 'op2', spec: spec('w2') });
    await provider.startEntered;
    await runtime.handle('workspace.delete', { opId: 'op3', workspaceId: 'w2' });
    await expect(create).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(provider.made.size).toBe(0);
  });
});

describe('AgentRuntime and objects without a handle', () => {
  it('reports them as orphans instead of reaping them at start (not one still being created), and a delete removes them by label', async () => {
    provider.made.add('stray');
    await runtime.recover();
    expect(provider.made.has('stray')).toBe(true);
    const create = runtime.handle('workspace.create', { opId: 'op4', spec: spec('w4') });
    await provider.startEntered;
    const report = await runtime.report();
    // w4 is mid-create (its handle is saved, and a create in flight is never an orphan anyway).
    expect(report.orphans).toEqual([{ workspaceId: 'stray', kind: 'docker' }]);
    expect(report.workspaces.map((w) => w.workspaceId)).toEqual(['w4']);
    // The server's delete of an id the agent holds no handle for still removes what is labelled.
    await runtime.handle('workspace.delete', { opId: 'reap-stray', workspaceId: 'stray' });
    expect(provider.made.has('stray')).toBe(false);
    // And is idempotent: again, nothing to do, no error.
    expect(await runtime.handle('workspace.delete', { opId: 'reap-stray', workspaceId: 'stray' })).toEqual({});
    await runtime.handle('workspace.delete', { opId: 'op5', workspaceId: 'w4' });
    await expect(create).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
