/** Formatting of single values for human output: ages, sizes, providers. */
import { formatSize, type ProviderInfo } from '../../api/index.js';

/** Short age of a timestamp relative to now: `45s`, `12m`, `3h`, `5d`; `-` when unknown. */
export function formatAge(iso: string | null, now: Date): string {
  if (!iso) return '-';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  // Clocks of server and client may disagree slightly; never show a negative age.
  const s = Math.max(0, Math.floor((now.getTime() - then) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Like formatAge but reads as a past event: `12m ago`, or `never`. */
export function formatAgo(iso: string | null, now: Date): string {
  const age = formatAge(iso, now);
  return age === '-' ? 'never' : `${age} ago`;
}

/** Bytes for people, or `-` when unset. */
export function formatOptionalSize(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '-' : formatSize(bytes);
}

/** A number for people, or `-` when unset. */
export function formatOptionalNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : String(n);
}

/** Providers with their usability: `docker ✓, lxc ✗, qemu ✓ (tcg)`; `-` when the node reported none. */
export function formatProviders(providers: ProviderInfo[]): string {
  if (providers.length === 0) return '-';
  // The accelerator matters to users of VMs: TCG runs them several times slower than KVM.
  const accel = (p: ProviderInfo): string => (p.usable && p.details?.accelerator ? ` (${p.details.accelerator})` : '');
  return providers.map((p) => `${p.kind} ${p.usable ? '✓' : '✗'}${accel(p)}`).join(', ');
}
