/**
 * Pure rules for what a client may ask of a session: terminal sizes, environment variables,
 * the commands a shell or exec request becomes, exit statuses. Kept apart from the channel
 * plumbing so they can be tested without a connection.
 */
import { MAX_ARG_LENGTH } from '../../api/index.js';

/** Largest terminal dimension accepted; ssh sends uint32s and the exec API caps at 10,000. */
export const MAX_TERM_DIM = 10_000;
/** At most this many environment variables per session, each name and value bounded. */
export const MAX_ENV_VARS = 64;
const MAX_ENV_VALUE = 32 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/**
 * Exec commands longer than this are refused rather than shipped to the node: the command is
 * one argument of `sh -c`, and the exec contract (like Linux's execve) takes none longer.
 */
export const MAX_COMMAND_LENGTH = MAX_ARG_LENGTH;

/** A terminal size the exec API accepts: zero (clients send it when unknown) means 80x24, huge values are capped. */
export function termSize(cols: number, rows: number): { cols: number; rows: number } {
  const fix = (n: number, dflt: number) => (Number.isInteger(n) && n > 0 ? Math.min(n, MAX_TERM_DIM) : dflt);
  return { cols: fix(cols, 80), rows: fix(rows, 24) };
}

/** Whether an `env` request may be applied; refused ones are simply not set, as sshd does. */
export function envAccepted(env: Record<string, string>, key: unknown, value: unknown): boolean {
  if (typeof key !== 'string' || typeof value !== 'string') return false;
  if (!ENV_NAME.test(key) || value.length > MAX_ENV_VALUE || value.includes('\0')) return false;
  return key in env || Object.keys(env).length < MAX_ENV_VARS;
}

/**
 * The login shell of the workspace's user: the passwd entry's shell when it is executable,
 * else /bin/sh (busybox images have no bash). A spec may name a system user whose entry says
 * nologin or false (the sessions are the developer's, not a login to refuse): /bin/sh too.
 * `-l` makes it read the profile as sshd does.
 */
export const LOGIN_SHELL_SCRIPT =
  'u=$(id -un 2>/dev/null || echo root); ' +
  's=$(sed -n "s/^$u:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*://p" /etc/passwd 2>/dev/null | head -n 1); ' +
  '[ -n "$s" ] && [ -x "$s" ] || s=/bin/sh; case "$s" in */nologin | */false) s=/bin/sh;; esac; SHELL=$s; export SHELL; exec "$s" -l';

/**
 * The argv an `exec` request runs: the command line through /bin/sh, like sshd's `$SHELL -c`.
 * Shells and commands start in the workdir or home directory (asSession in context.ts).
 */
export function execArgv(command: string): string[] {
  return ['/bin/sh', '-c', command];
}

/** The argv a `shell` request runs. */
export function shellArgv(): string[] {
  return ['/bin/sh', '-c', LOGIN_SHELL_SCRIPT];
}

/** An exit status SSH can carry (uint32): berth's -1 "unknown" becomes 255, as ssh uses for its own failures. */
export function exitStatusOf(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : 255;
}
