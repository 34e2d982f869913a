/**
 * A workspace spec's `user` and `workdir` for the sessions people open themselves (`berth ws
 * exec`, SSH shells and commands, SFTP and scp, the agent socket of `ssh -A`, the web
 * terminal), as they already are for hooks and services: the command runs as the spec's user
 * (through `su`, so `cd` and `$HOME` are that user's), in the request's directory, else the
 * spec's workdir, else — for the sessions sshd would start there — the user's home. This is
 * the one place that rule lives; every session path goes through `withSessionDefaults`.
 */
import { asUser, type ExecRequest, type ProjectSpec, shellWord } from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { storedSpec } from './stored-spec.js';

/** Who a workspace's sessions run as and where they start (the spec's fields; null without a spec). */
export type SessionUser = Pick<ProjectSpec, 'user' | 'workdir'>;

/** Runs the argv after `cd` to the home directory; `cd` without one (no such directory) stays where it is. */
const FROM_HOME = 'cd 2>/dev/null; exec "$@"';

/**
 * util-linux's su (Debian, Fedora) runs a `-c` command in a new session that has lost the
 * terminal (no job control; ^C and ^Z reach nothing), so a terminal session asks it for a
 * terminal of its own with --pty. busybox su has no --pty and keeps the terminal anyway.
 */
const SU_WITH_TTY = 'if su --help 2>&1 | grep -q -- --pty; then exec su --pty -s /bin/sh -c "$1" "$2"; fi; exec su -s /bin/sh -c "$1" "$2"';

/** argv run as `user`: asUser, or for a terminal session su with a terminal of its own where su can. */
function runAs(argv: string[], user: string | null | undefined, tty: boolean): string[] {
  if (!tty || !user || user === 'root') return asUser(argv, user);
  return ['/bin/sh', '-c', SU_WITH_TTY, 'sh', argv.map(shellWord).join(' '), user];
}

/**
 * `request` with the spec's user and directory applied. `home`: with neither a requested
 * directory nor a spec workdir, start in the user's home, as sshd starts shells, commands and
 * sftp-server (`berth ws exec` leaves the provider's directory instead).
 */
export function withSessionDefaults(request: ExecRequest, spec: SessionUser | null, opts: { home?: boolean } = {}): ExecRequest {
  const cwd = request.cwd ?? spec?.workdir;
  const cmd = !cwd && opts.home ? ['/bin/sh', '-c', FROM_HOME, 'sh', ...request.cmd] : request.cmd;
  return { ...request, cmd: runAs(cmd, spec?.user, request.tty), ...(cwd ? { cwd } : {}) };
}

/** Workspace `workspaceId`'s session user and workdir, from its stored spec (null without one). */
export function sessionUser(store: Store, workspaceId: string): Promise<SessionUser | null> {
  return storedSpec(store, workspaceId);
}

/** `withSessionDefaults`, reading workspace `workspaceId`'s stored spec. */
export async function sessionRequest(store: Store, workspaceId: string, request: ExecRequest, opts: { home?: boolean } = {}): Promise<ExecRequest> {
  return withSessionDefaults(request, await sessionUser(store, workspaceId), opts);
}
