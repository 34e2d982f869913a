/**
 * Whether the service behind a previewed port is ready: the port a workspace spec's service
 * declares shows the starting page until that service is healthy (or, without a health check,
 * running), as its supervisor last reported through the node. A port no service declares is
 * served as soon as something listens on it.
 */
import { resolveSpec, type SupervisorState } from '../../../api/index.js';
import type { NodeReports } from '../../agents/node-reports.js';
import { storedSpec } from '../../services/spec/stored-spec.js';
import type { Store } from '../../store/open.js';

/** Which service declares each TCP port, and whether it has a health check. */
type PortServices = Map<number, { name: string; hasHealthcheck: boolean }>;

/** Most workspaces whose port map is kept (a spec never changes after create, so a kept map stays true). */
const MAX_KEPT = 1024;

/** Looks up the service behind a preview's port. */
export class PreviewServices {
  private readonly byWorkspace = new Map<string, PortServices>();

  constructor(
    private readonly store: Store,
    private readonly reports: Pick<NodeReports<SupervisorState>, 'get'>,
  ) {}

  /** The service that declares `port`, and whether it is ready; undefined when none does. */
  async serviceFor(ws: { id: string; nodeId: string }, port: number): Promise<{ name: string; healthy: boolean } | undefined> {
    const declared = (await this.portServices(ws.id)).get(port);
    if (!declared) return undefined;
    const state = this.reports.get(ws.id, ws.nodeId)?.value.services?.find((s) => s.name === declared.name)?.state;
    const healthy = declared.hasHealthcheck ? state === 'healthy' : state === 'running' || state === 'healthy';
    return { name: declared.name, healthy };
  }

  /** Forgets a deleted workspace's map. */
  forget(workspaceId: string): void {
    this.byWorkspace.delete(workspaceId);
  }

  private async portServices(workspaceId: string): Promise<PortServices> {
    const kept = this.byWorkspace.get(workspaceId);
    if (kept) return kept;
    const spec = await storedSpec(this.store, workspaceId);
    const map: PortServices = new Map();
    for (const s of spec ? resolveSpec(spec).services : []) {
      for (const p of s.ports) if (p.protocol === 'tcp' && !map.has(p.port)) map.set(p.port, { name: s.name, hasHealthcheck: s.healthcheck !== null });
    }
    if (this.byWorkspace.size >= MAX_KEPT) this.byWorkspace.delete(this.byWorkspace.keys().next().value!);
    this.byWorkspace.set(workspaceId, map);
    return map;
  }
}
