/** The lines `berth ws show` adds for a workspace created from a spec: its services (in start order), ports and hooks. */
import { type ProjectSpec, type ResolvedPort, resolveSpec } from '../../api/index.js';

/** `8080/tcp (web)`. */
export function portText(p: Pick<ResolvedPort, 'port' | 'protocol' | 'label'>): string {
  return `${p.port}/${p.protocol}${p.label ? ` (${p.label})` : ''}`;
}

/** Label/value pairs for renderFields. */
export function specFields(spec: ProjectSpec): Array<[string, string]> {
  const resolved = resolveSpec(spec);
  const servicePorts = resolved.services.flatMap((svc) => svc.ports.map((p) => `${portText(p)} from ${svc.name}`));
  const hooks = Object.entries(spec.hooks ?? {})
    .filter(([, h]) => h !== undefined)
    .map(([k]) => k);
  return [
    ['Services', resolved.services.length ? resolved.startWaves.map((w) => w.join(' + ')).join(' → ') : '-'],
    ['Ports', [...resolved.ports.map(portText), ...servicePorts].join(', ') || '-'],
    ['Hooks', hooks.join(', ') || '-'],
  ];
}
