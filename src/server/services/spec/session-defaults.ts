/**
 * A workspace spec's `user` and `workdir` for the sessions people open themselves (`berth ws
 * exec`, SSH shells and commands, SFTP and scp, the agent socket of `ssh -A`, the web
 * terminal), as they already are for hooks and services: the command runs as the spec's user
 * (through `su`, so `cd` and `$HOME` are that user's), in the request's directory, else the
 * spec's workdir, else — for the sessions sshd would start there — the user's home. This is
 * the one place that rule lives; every session path goes through `withSessionDefaults`.
 */
import { asUser, type ExecRequest, type ProjectSpec } from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { storedSpec } from './stored-spec.js';

/** Who a workspace's sessions run as and where they start (the spec's fields; null without a spec). */
export type SessionUser = Pick<ProjectSpec, 'user' | 'workdir'>;

/** Runs the argv after `cd` to the home directory; `cd` without one (no such directory) stays where it is. */
const FROM_HOME = 'cd 2>/dev/null; exec "$@"';

/**
 * `request` with the spec's user and directory applied. `home`: with neither a requested
 * directory nor a spec workdir, start in the user's home, as sshd starts shells, commands and
 * sftp-server (`berth ws exec` leaves the provider's directory instead).
 */
export function withSessionDefaults(request: ExecRequest, spec: SessionUser | null, opts: { home?: boolean } = {}): ExecRequest {
  const cwd = request.cwd ?? spec?.workdir;
  const cmd = !cwd && opts.home ? ['/bin/sh', '-c', FROM_HOME, 'sh', ...request.cmd] : request.cmd;
  return { ...request, cmd: asUser(cmd, spec?.user), ...(cwd ? { cwd } : {}) };
}

/** Workspace `workspaceId`'s session user and workdir, from its stored spec (null without one). */
export function sessionUser(store: Store, workspaceId: string): Promise<SessionUser | null> {
  return storedSpec(store, workspaceId);
}

/** `withSessionDefaults`, reading workspace `workspaceId`'s stored spec. */
export async function sessionRequest(store: Store, workspaceId: string, request: ExecRequest, opts: { home?: boolean } = {}): Promise<ExecRequest> {
  return withSessionDefaults(request, await sessionUser(store, workspaceId), opts);
}
