/**
 * Running a command as a workspace spec's user. The exec path runs as root in every provider,
 * so the user is reached through `su`, which busybox and Debian both have; hooks, services,
 * `berth ws exec` and SSH sessions all go through this one wrapper.
 */

/** Quotes one word for /bin/sh. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv run as `user` (through `su`). Root, or no user, runs argv as it is. */
export function asUser(argv: string[], user: string | null | undefined): string[] {
  if (!user || user === 'root') return argv;
  return ['su', '-s', '/bin/sh', '-c', argv.map(shellWord).join(' '), user];
}
