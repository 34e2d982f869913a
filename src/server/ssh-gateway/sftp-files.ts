/**
 * File operations inside a workspace for the in-gateway SFTP server. Each metadata operation
 * is one small `sh` script run through the agent hub; paths travel as positional arguments,
 * never inside the script text. Only POSIX sh, `stat -c`, `find` and `dd` with byte offsets
 * are assumed: busybox and GNU coreutils both have them.
 */
import { posix } from 'node:path';
import type { Workspace } from '../../api/index.js';
import type { GatewayDeps } from './context.js';
import { runScript } from './exec-bridge.js';
import { type FileAttrs, FX, HELPER_EXIT, helperFailure, parseStatLine, SftpError, STAT_FORMAT } from './sftp-paths.js';

/** Attributes a SETSTAT or OPEN may carry. */
export type AttrChanges = Partial<FileAttrs>;

const E = HELPER_EXIT;
/** `exists` checks a path or a dangling symlink; `nf` fails with "no such file". */
const PRELUDE = `exists() { [ -e "$1" ] || [ -L "$1" ]; }; nf() { echo "$1: No such file or directory" >&2; exit ${E.noSuchFile}; }; fail() { echo "$1" >&2; exit ${E.failure}; }; `;

/** OPEN flags of SFTP v3. */
export const OPEN = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 16, EXCL: 32 } as const;

/** The file system of one workspace, as SFTP needs it. */
export class WorkspaceFiles {
  private homeDir: Promise<string> | null = null;

  constructor(
    readonly deps: Pick<GatewayDeps, 'hub'>,
    readonly ws: Workspace,
  ) {}

  /** Runs a helper script; a non-zero exit becomes an SftpError. */
  async run(script: string, args: string[]): Promise<string> {
    const r = await runScript(this.deps, this.ws, PRELUDE + script, args);
    if (r.error) throw new SftpError(FX.FAILURE, r.error.message);
    if (r.code !== 0) throw helperFailure(r.code, r.stderr);
    return r.stdout.toString('utf8');
  }

  /** Where relative paths start: the session's directory (the spec's workdir, or the user's home; see sftp.ts), asked once per session. */
  home(): Promise<string> {
    this.homeDir ??= this.run('pwd', []).then((out) => out.trim() || '/');
    return this.homeDir;
  }

  /** stat (following symlinks) or lstat. */
  async stat(path: string, follow: boolean): Promise<FileAttrs> {
    const out = await this.run(`exists "$1" || nf "$1"; stat ${follow ? '-L ' : ''}-c '${STAT_FORMAT}' "$1"`, [path]);
    const parsed = parseStatLine(out.split('\n')[0] ?? '');
    if (!parsed) throw new SftpError(FX.FAILURE, `Could not read the attributes of ${path}.`);
    return parsed.attrs;
  }

  /** The entries of a directory with their (lstat) attributes, without `.` and `..`. */
  async list(dir: string): Promise<Array<{ name: string; attrs: FileAttrs }>> {
    const out = await this.run(
      `exists "$1" || nf "$1"; [ -d "$1" ] || fail "$1: Not a directory"; ` +
        // A trailing slash makes find enter a directory given through a symlink.
        `find "$1/" -mindepth 1 -maxdepth 1 -exec stat -c '${STAT_FORMAT}' {} +`,
      [dir],
    );
    const entries: Array<{ name: string; attrs: FileAttrs }> = [];
    // One entry per line: a name containing a newline cannot be told apart and is skipped.
    for (const line of out.split('\n')) {
      const parsed = parseStatLine(line);
      if (parsed) entries.push({ name: posix.basename(parsed.name), attrs: parsed.attrs });
    }
    return entries;
  }

  /** Checks and prepares a file for OPEN: existence, EXCL, TRUNC, CREAT with a mode. */
  async prepareOpen(path: string, flags: number, mode: number | undefined): Promise<void> {
    const write = (flags & OPEN.WRITE) !== 0;
    if (!write) {
      await this.run(`exists "$1" || nf "$1"; [ -d "$1" ] && fail "$1: Is a directory"; [ -r "$1" ] || exit ${E.permissionDenied}`, [path]);
      return;
    }
    const creat = (flags & OPEN.CREAT) !== 0;
    const script = [
      `if exists "$1"; then`,
      (flags & OPEN.EXCL) !== 0 && creat ? `  fail "$1: File exists";` : ':;',
      `  [ -d "$1" ] && fail "$1: Is a directory";`,
      (flags & OPEN.TRUNC) !== 0 ? `  : > "$1" || exit ${E.permissionDenied};` : `  [ -w "$1" ] || exit ${E.permissionDenied};`,
      creat ? `else : > "$1" || exit ${E.permissionDenied}; [ -z "$2" ] || chmod "$2" "$1"; fi` : `else nf "$1"; fi`,
    ].join('\n');
    await this.run(script, [path, mode === undefined ? '' : (mode & 0o7777).toString(8)]);
  }

  /** Applies SETSTAT changes. */
  async setstat(path: string, a: AttrChanges): Promise<void> {
    const steps: string[] = [`exists "$1" || nf "$1"`];
    const args = [path];
    const arg = (v: string) => {
      args.push(v);
      return `"$${args.length}"`;
    };
    if (a.size !== undefined) steps.push(`truncate -s ${arg(String(a.size))} "$1"`);
    if (a.uid !== undefined && a.gid !== undefined) steps.push(`chown ${arg(`${a.uid}:${a.gid}`)} "$1"`);
    if (a.mode !== undefined) steps.push(`chmod ${arg((a.mode & 0o7777).toString(8))} "$1"`);
    if (a.atime !== undefined) steps.push(`touch -c -a -d ${arg(`@${a.atime}`)} "$1"`);
    if (a.mtime !== undefined) steps.push(`touch -c -m -d ${arg(`@${a.mtime}`)} "$1"`);
    await this.run(steps.join(' && '), args);
  }

  /** MKDIR, with the mode when the client gave one. */
  async mkdir(path: string, mode: number | undefined): Promise<void> {
    await this.run(`exists "$1" && fail "$1: File exists"; mkdir ${mode === undefined ? '' : '-m "$2" '}"$1"`, [path, (mode ?? 0).toString(8)]);
  }

  /** RMDIR. */
  async rmdir(path: string): Promise<void> {
    await this.run(`exists "$1" || nf "$1"; rmdir "$1"`, [path]);
  }

  /** REMOVE: files and symlinks, never directories. */
  async remove(path: string): Promise<void> {
    await this.run(`exists "$1" || nf "$1"; [ -d "$1" ] && [ ! -L "$1" ] && fail "$1: Is a directory"; rm -f "$1"`, [path]);
  }

  /**
   * RENAME; like SFTP v3 it refuses to replace an existing target. Like rename(2) it refuses
   * to cross file systems: `mv` would copy instead, and renaming /proc into the home volume
   * copied files without end until the node's disk was full.
   */
  async rename(from: string, to: string): Promise<void> {
    await this.run(
      'exists "$1" || nf "$1"; exists "$2" && fail "$2: File exists"; ' +
        'to=$(stat -c %d "$(dirname "$2")" 2>/dev/null) || nf "$(dirname "$2")"; ' +
        '[ "$(stat -c %d "$1")" = "$to" ] || fail "$1: cannot be renamed onto another file system (copy it instead)"; ' +
        'mv "$1" "$2"',
      [from, to],
    );
  }

  /** READLINK. */
  async readlink(path: string): Promise<string> {
    const out = await this.run(`[ -L "$1" ] || { exists "$1" || nf "$1"; fail "$1: Not a symbolic link"; }; readlink "$1"`, [path]);
    return out.replace(/\n$/, '');
  }

  /** SYMLINK: creates `link` pointing at `target` (kept verbatim, may be relative). */
  async symlink(link: string, target: string): Promise<void> {
    await this.run(`exists "$1" && fail "$1: File exists"; ln -s -- "$2" "$1"`, [link, target]);
  }
}
