/** The LXC provider's WorkspaceHandle: what it needs to find a workspace again after a restart. */
import { BerthError } from '../../api/index.js';
import { checkHandle, stateString } from '../handle.js';
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
  checkHandle(h, 'lxc', LXC_HANDLE_VERSION);
  const state = { containerName: stateString(h, 'containerName'), lxcPath: stateString(h, 'lxcPath'), ipv4: stateString(h, 'ipv4') };
  // Names come from berth itself, but a handle is read from disk: never let one reach outside the lxcpath.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(state.containerName) || !state.lxcPath.startsWith('/')) {
    throw new BerthError('INVALID_ARGUMENT', `The handle of workspace ${h.workspaceId} names no valid LXC container.`);
  }
  return state;
}
