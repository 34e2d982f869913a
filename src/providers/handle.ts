/**
 * What every provider's handle.ts shares: the kind and version check (a handle is read back
 * from the agent's disk, so it may be another provider's, or written by another berth), and
 * reading its driver state without trusting its types.
 */
import { BerthError, type ProviderKind } from '../api/index.js';
import type { WorkspaceHandle } from './provider.js';

/** How messages name a provider kind, with its article. */
const KIND_NAMES: Record<string, string> = { docker: 'a Docker', lxc: 'an LXC', qemu: 'a QEMU' };

/**
 * Refuses a handle that is not of `kind` (INVALID_ARGUMENT on provider) or not at `version`
 * (FAILED_PRECONDITION), saying whether an older or a newer agent wrote it and what to do.
 * A provider that bumps its version migrates older handles before calling this.
 */
export function checkHandle(h: WorkspaceHandle, kind: ProviderKind, version: number): void {
  if (h.kind !== kind) {
    throw new BerthError('INVALID_ARGUMENT', `Workspace ${h.workspaceId} is a ${h.kind} workspace, not ${KIND_NAMES[kind] ?? `a ${kind}`} one.`, {
      field: 'provider',
    });
  }
  if (typeof h.version !== 'number' || !Number.isInteger(h.version)) {
    throw new BerthError('INVALID_ARGUMENT', `The handle of workspace ${h.workspaceId} has no version; it was not written by a berth agent.`);
  }
  if (h.version > version) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Workspace ${h.workspaceId} was made by a newer berth agent (handle version ${h.version}, this agent reads ${version}): upgrade this agent.`,
    );
  }
  if (h.version < version) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Workspace ${h.workspaceId} was made by an older berth agent (handle version ${h.version}, this agent reads ${version}) that this agent cannot migrate: run the older agent to manage it, and report this as a berth bug.`,
    );
  }
}

/** A string from a handle's driver state; '' when it is missing or not a string. */
export function stateString(h: WorkspaceHandle, key: string): string {
  // The handle came from disk: its driverState may be anything, or missing.
  const s: unknown = h.driverState;
  const v = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
}
