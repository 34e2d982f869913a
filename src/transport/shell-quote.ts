/**
 * Turning an argv into a POSIX shell string, for transports whose far end only accepts a
 * string (an SSH exec request is handed to the user's login shell as `$SHELL -c STRING`).
 */
import type { ExecParams } from './transport.js';

/** Quotes one argument so a POSIX shell reads it back byte for byte. */
export function quoteArg(arg: string): string {
  // Inside single quotes nothing is special except the closing quote itself, so each ' is
  // written as: close the quote, an escaped quote, reopen ('\''). Plain words stay readable.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an argv into one shell string that runs exactly that argv, with no expansion of any kind. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

/**
 * Builds the command string for a remote POSIX shell: `cd DIR && export K=V ... && exec argv`.
 * Environment goes through `export` because sshd refuses most env requests (AcceptEnv), and
 * `exec` replaces the shell so signals and the exit status belong to the command itself.
 * (`env K=V argv` would misread a program name containing "=" as one more assignment.)
 */
export function remoteCommand(p: Pick<ExecParams, 'cmd' | 'env' | 'cwd'>): string {
  const steps: string[] = [];
  if (p.cwd !== undefined) steps.push(`cd ${quoteArg(p.cwd)}`);
  const env = Object.entries(p.env ?? {});
  if (env.length > 0) steps.push(`export ${env.map(([k, v]) => quoteArg(`${k}=${v}`)).join(' ')}`);
  steps.push(`exec ${shellQuote(p.cmd)}`);
  return steps.join(' && ');
}
