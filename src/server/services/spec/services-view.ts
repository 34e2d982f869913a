/**
 * What `berth svc ls` shows: each service the spec declares, in start order, with what its
 * supervisor last reported, and each port `berth ports` lists with the service that owns it.
 * Pure, so the rules are unit-tested.
 */
import type { ListeningPort, ProjectSpec, ResolvedService, SupervisorState, WorkspaceService } from '../../../api/index.js';
import { resolveSpec } from '../../../api/index.js';

/** The spec's services in start order (wave by wave), resolved. */
function servicesInOrder(spec: ProjectSpec): ResolvedService[] {
  const resolved = resolveSpec(spec);
  const byName = new Map(resolved.services.map((s) => [s.name, s]));
  return resolved.startWaves.flat().flatMap((n) => (byName.has(n) ? [byName.get(n)!] : []));
}

/** The spec's services merged with the supervisor's state (null before any report). */
export function servicesView(spec: ProjectSpec | null, state: SupervisorState | null): WorkspaceService[] {
  if (!spec?.services) return [];
  const live = new Map((state?.services ?? []).map((s) => [s.name, s]));
  return servicesInOrder(spec).map((svc) => {
    const s = live.get(svc.name);
    const health =
      !svc.healthcheck || !s ? null : s.state === 'healthy' ? 'healthy' : s.state === 'unhealthy' ? 'unhealthy' : s.state === 'starting' ? 'starting' : null;
    return {
      name: svc.name,
      state: s?.state ?? null,
      pid: s?.pid ?? null,
      restarts: s?.restarts ?? 0,
      exitCode: s?.exitCode ?? null,
      startedAt: s?.startedAt ?? null,
      health,
      healthFailures: s?.healthFailures ?? 0,
      lastHealthOutput: s?.lastHealthOutput ?? null,
      message: s?.message ?? null,
      ports: svc.ports.map((p) => ({ port: p.port, protocol: p.protocol, label: p.label })),
      dependsOn: svc.dependsOn.map((d) => d.service),
    };
  });
}

/** A listening port's owner and label: the service that declares it, else the one whose process group holds its pid; the label from the spec (a service's, else the workspace's ports). */
export function portOwner(
  port: Pick<ListeningPort, 'port' | 'protocol' | 'process'>,
  spec: ProjectSpec | null,
  state: SupervisorState | null,
  /** The process group of a pid inside the workspace, when the node could tell. */
  pgidOf: (pid: number) => number | null = () => null,
): { service: string | null; label: string | null } {
  if (!spec) return { service: null, label: null };
  const resolved = resolveSpec(spec);
  const declared = resolved.services.find((s) => s.ports.some((p) => p.port === port.port && p.protocol === port.protocol));
  const workspaceLabel = resolved.ports.find((p) => p.port === port.port && p.protocol === port.protocol)?.label ?? null;
  if (declared) {
    const label = declared.ports.find((p) => p.port === port.port && p.protocol === port.protocol)?.label ?? workspaceLabel;
    return { service: declared.name, label };
  }
  const pid = port.process?.pid;
  if (pid !== undefined && state) {
    // Each service runs in its own process group, led by the pid the supervisor reports.
    const group = port.process?.group ?? pgidOf(pid) ?? pid;
    const owner = state.services.find((s) => s.pid !== null && (s.pid === pid || s.pid === group));
    if (owner) return { service: owner.name, label: workspaceLabel };
  }
  return { service: null, label: workspaceLabel };
}
