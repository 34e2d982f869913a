/** The Docker provider's WorkspaceHandle: what it needs to find a workspace again after a restart. */
import { BerthError } from '../../api/index.js';
import { checkHandle, stateString } from '../handle.js';
import type { WorkspaceHandle } from '../provider.js';

/** Current shape version of driverState. */
export const DOCKER_HANDLE_VERSION = 1;

/** What the Docker provider keeps in a handle. */
export interface DockerDriverState {
  containerId: string;
  containerName: string;
  volumeName: string;
}

/** Makes a handle for a workspace's container and volume. */
export function makeHandle(workspaceId: string, state: DockerDriverState): WorkspaceHandle {
  return { workspaceId, kind: 'docker', version: DOCKER_HANDLE_VERSION, driverState: { ...state } };
}

/** Reads a handle back, refusing ones this provider did not make or cannot understand. */
export function readHandle(h: WorkspaceHandle): DockerDriverState {
  checkHandle(h, 'docker', DOCKER_HANDLE_VERSION);
  const state = { containerId: stateString(h, 'containerId'), containerName: stateString(h, 'containerName'), volumeName: stateString(h, 'volumeName') };
  if (state.containerId === '' && state.containerName === '' && state.volumeName === '') {
    throw new BerthError('INVALID_ARGUMENT', `The handle of workspace ${h.workspaceId} names no container or volume.`);
  }
  return state;
}
