/**
 * A workspace spec's `user` and `workdir` for the sessions people open themselves (`berth ws
 * exec`, SSH shells and commands), as they already are for hooks and services: the command
 * runs as the spec's user, in its workdir, unless the request names a directory (`--workdir`).
 */
import { asUser, type ExecRequest, type ProjectSpec } from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { storedSpec } from './stored-spec.js';

/** `request` with the spec's user and workdir applied where it names none. */
export function withSessionDefaults(request: ExecRequest, spec: Pick<ProjectSpec, 'user' | 'workdir'> | null): ExecRequest {
  if (!spec) return request;
  const cwd = request.cwd ?? spec.workdir;
  return { ...request, cmd: asUser(request.cmd, spec.user), ...(cwd ? { cwd } : {}) };
}

/** The same, reading workspace `workspaceId`'s stored spec. */
export async function sessionRequest(store: Store, workspaceId: string, request: ExecRequest): Promise<ExecRequest> {
  return withSessionDefaults(request, await storedSpec(store, workspaceId));
}
