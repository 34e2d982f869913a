/** The LXC provider's WorkspaceHandle: what it needs to find a workspace again after a restart. */
import { BerthError } from '../../api/index.js';
import type { WorkspaceHandle } from '../provider.js';

/** Current shape version of driverState. */
export const LXC_HANDLE_VERSION = 1;

/** What the LXC provider keeps in a handle. */
export interface LxcDriverState {
  containerName: string;
  lxcPath: string;
  /** The workspace's address on the bridge, without the prefix length; empty when unknown. */
  ipv4: string;
}

/** Makes a handle for a workspace's container. */
export function makeHandle(workspaceId: string, state: LxcDriverState): WorkspaceHandle {
  return { workspaceId, kind: 'lxc', version: LXC_HANDLE_VERSION, driverState: { ...state } };
}

/** Reads a handle back, refusing ones this provider did not make or cannot understand. */
export function readHandle(h: WorkspaceHandle): LxcDriverState {
  if (h.kind !== 'lxc') {
    throw new BerthError('INVALID_ARGUMENT', `Workspace ${h.workspaceId} is a ${h.kind} workspace, not an LXC one.`, { field: 'provider' });
  }
  if (h.version !== LXC_HANDLE_VERSION) {
    throw new BerthError('FAILED_PRECONDITION', `Workspace ${h.workspaceId} was made by a newer berth agent (handle version ${h.version}): upgrade this agent.`);
  }
  const s = h.driverState;
  const str = (k: string): string => (typeof s[k] === 'string' ? (s[k] as string) : '');
  const state = { containerName: str('containerName'), lxcPath: str('lxcPath'), ipv4: str('ipv4') };
  // Names come from berth itself, but a handle is read from disk: never let one reach outside the lxcpath.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(state.containerName) || !state.lxcPath.startsWith('/')) {
    throw new BerthError('INVALID_ARGUMENT', `The handle of workspace ${h.workspaceId} names no valid LXC container.`);
  }
  return state;
}
