/**
 * `/.berth/services.json`, the supervisor's config (format in the berth-in contract): the
 * resolved spec of src/api/spec-resolve.ts with the workspace's user and environment.
 */
import { type ProjectSpec, type ResolvedService, resolveSpec } from '../../../api/index.js';

/** What berth-in reads. */
export interface ServicesConfig {
  version: 1;
  user: string | null;
  env: Record<string, string>;
  services: ResolvedService[];
  startWaves: string[][];
}

/** The config for a spec, or null when it declares no services. */
export function servicesConfig(spec: ProjectSpec | null | undefined): ServicesConfig | null {
  if (!spec?.services || Object.keys(spec.services).length === 0) return null;
  const resolved = resolveSpec(spec);
  return { version: 1, user: spec.user ?? null, env: { ...(spec.env ?? {}) }, services: resolved.services, startWaves: resolved.startWaves };
}
