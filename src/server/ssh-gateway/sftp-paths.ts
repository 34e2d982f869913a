/**
 * Pure parts of the in-gateway SFTP server: resolving client paths against the home directory,
 * reading `stat -c` lines from the workspace, `ls -l` style long names, and mapping a helper
 * command's failure to an SFTP status.
 */
import { posix } from 'node:path';

/** SFTP status codes (draft-ietf-secsh-filexfer-02), the subset berth answers with. */
export const FX = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 } as const;

/** File attributes as SFTP carries them. */
export interface FileAttrs {
  mode: number;
  size: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

/**
 * An absolute, normalised path for what the client sent: relative paths are relative to the
 * home directory (sftp-server's working directory), `.` and `..` are folded without touching
 * the file system, and `..` never climbs above `/`.
 */
export function resolvePath(home: string, path: string): string {
  checkPathText(path);
  const joined = path.startsWith('/') ? path : posix.join(home, path || '.');
  const normal = posix.normalize(joined);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Longest path the gateway hands to a workspace: Linux's PATH_MAX, in bytes. */
export const MAX_SFTP_PATH_BYTES = 4096;

/**
 * Refuses a path (or symlink target) no file system call could take: one with a NUL byte, which
 * no argument can carry, or longer than PATH_MAX. Everything else travels to the workspace as a
 * positional argument of the helper script, never inside its text, so it needs no quoting.
 */
export function checkPathText(path: string): void {
  if (typeof path !== 'string') throw new SftpError(FX.BAD_MESSAGE, 'The path is not a string.');
  if (path.includes('\0')) throw new SftpError(FX.BAD_MESSAGE, 'The path contains a NUL byte.');
  if (Buffer.byteLength(path) > MAX_SFTP_PATH_BYTES) throw new SftpError(FX.FAILURE, `File name too long (at most ${MAX_SFTP_PATH_BYTES} bytes).`);
}

/** The `stat -c` format the helpers print; busybox and GNU coreutils agree on these fields. */
export const STAT_FORMAT = '%f %s %u %g %X %Y %n';

/** Parses one line of `stat -c STAT_FORMAT` output; null when it is not one. */
export function parseStatLine(line: string): { attrs: FileAttrs; name: string } | null {
  const m = /^([0-9a-fA-F]+) (\d+) (\d+) (\d+) (\d+) (\d+) (.*)$/.exec(line);
  if (!m) return null;
  return {
    attrs: { mode: parseInt(m[1], 16), size: Number(m[2]), uid: Number(m[3]), gid: Number(m[4]), atime: Number(m[5]), mtime: Number(m[6]) },
    name: m[7],
  };
}

const TYPE_CHARS: Record<number, string> = { 0o140000: 's', 0o120000: 'l', 0o100000: '-', 0o060000: 'b', 0o040000: 'd', 0o020000: 'c', 0o010000: 'p' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The `ls -l` line sftp clients show for a directory entry. */
export function longName(name: string, a: FileAttrs, now = Date.now()): string {
  const type = TYPE_CHARS[a.mode & 0o170000] ?? '?';
  let perms = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (a.mode >> shift) & 7;
    perms += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  const d = new Date(a.mtime * 1000);
  const recent = Math.abs(now - d.getTime()) < 180 * 86400 * 1000;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`}`;
  return `${type}${perms}    1 ${String(a.uid).padEnd(8)} ${String(a.gid).padEnd(8)} ${String(a.size).padStart(8)} ${when} ${name}`;
}

/** A failure to answer with an SFTP status. */
export class SftpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SftpError';
  }
}

/**
 * Exit statuses the helper scripts use on purpose, so the common failures need no text
 * matching: 2 no such file, 3 permission denied, 4 other (message on stderr).
 */
export const HELPER_EXIT = { noSuchFile: 2, permissionDenied: 3, failure: 4 } as const;

/** Turns a helper's exit status and stderr into an SftpError. */
export function helperFailure(code: number, stderr: string): SftpError {
  const text =
    stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^[^:]*: /, '') || `the command in the workspace failed (exit ${code})`;
  if (code === HELPER_EXIT.noSuchFile) return new SftpError(FX.NO_SUCH_FILE, text || 'No such file');
  if (code === HELPER_EXIT.permissionDenied) return new SftpError(FX.PERMISSION_DENIED, text || 'Permission denied');
  // Tools such as mkdir and mv fail with strerror texts, which busybox and coreutils share.
  if (/No such file or directory/.test(stderr)) return new SftpError(FX.NO_SUCH_FILE, text);
  if (/Permission denied|Read-only file system|Operation not permitted/.test(stderr)) return new SftpError(FX.PERMISSION_DENIED, text);
  return new SftpError(FX.FAILURE, text);
}
