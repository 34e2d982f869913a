/**
 * What a config push changes: the live resources against the pushed ones, resource by
 * resource, with the spec fields that differ. Pure, so the server's push and dry run (the
 * CLI's `config diff`) agree by construction, and property tests can drive it.
 */
import { CONFIG_KINDS, type ConfigChange, type ConfigResource, configKey } from './config.js';

/** Dotted paths under two values where they differ (a leaf, or a key only one side has). */
export function changedFields(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedFields(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return sameValue(a, b) ? [] : [prefix || '(spec)'];
}

/**
 * The changes that turn `live` into `desired`. Without `prune`, live resources the desired set
 * leaves out stay; with it they are removed. Ordered by kind (CONFIG_KINDS), then name.
 */
export function diffConfig(live: ConfigResource[], desired: ConfigResource[], prune: boolean): ConfigChange[] {
  const liveByKey = new Map(live.map((r) => [configKey(r), r]));
  const desiredByKey = new Map(desired.map((r) => [configKey(r), r]));
  const out: ConfigChange[] = [];
  for (const [key, want] of desiredByKey) {
    const have = liveByKey.get(key);
    if (!have) {
      out.push({ kind: want.kind, name: want.name, action: 'added', fields: [] });
      continue;
    }
    const fields = changedFields(have.spec, want.spec);
    if (fields.length > 0) out.push({ kind: want.kind, name: want.name, action: 'changed', fields });
  }
  if (prune) {
    for (const [key, have] of liveByKey) {
      if (!desiredByKey.has(key)) out.push({ kind: have.kind, name: have.name, action: 'removed', fields: [] });
    }
  }
  const rank = (k: string) => CONFIG_KINDS.indexOf(k as (typeof CONFIG_KINDS)[number]);
  return out.sort((x, y) => rank(x.kind) - rank(y.kind) || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** The first key two resources share, or null (a folder must hold each resource once). */
export function duplicateKey(resources: ReadonlyArray<{ kind: string; name: string }>): string | null {
  const seen = new Set<string>();
  for (const r of resources) {
    const key = configKey(r);
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep equality of JSON values (arrays in order, objects by key). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) return changedFields(a, b).length === 0;
  return a === b;
}
