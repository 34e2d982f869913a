/**
 * Open SFTP file handles. Instead of one command per 32 KiB request, reads stream through
 * `dd` windows of a few MiB (the next one fetched while the current one is consumed) and
 * sequential writes go down one long-lived `dd` per run of contiguous offsets. The exec path
 * has no flow control of its own, so reads are windowed to bound the memory a handle holds;
 * writes are acknowledged as they are handed on and any failure is reported by CLOSE (and by
 * later WRITEs), the way an NFS client reports asynchronous write errors.
 */
import type { Workspace } from '../../api/index.js';
import type { GatewayDeps } from './context.js';
import { type ExecEnd, type ExecPipe, openExec } from './exec-bridge.js';
import { FX, helperFailure, SftpError } from './sftp-paths.js';

/** Bytes fetched per read window. */
export const READ_WINDOW = 4 * 1024 * 1024;

interface Window {
  start: number;
  want: number;
  chunks: Buffer[];
  got: number;
  done: boolean;
  error: SftpError | null;
  waiters: Array<() => void>;
  stop: () => unknown;
}

/** A file opened for reading. */
export class FileReader {
  private windows: Window[] = [];
  /** The file's size once a window came back short. */
  private eofAt: number | null = null;

  constructor(
    private readonly deps: Pick<GatewayDeps, 'hub'>,
    private readonly ws: Workspace,
    readonly path: string,
  ) {}

  /**
   * `len` bytes at `offset`, fewer only at end of file; null at end of file. Never short
   * otherwise: OpenSSH's client re-requests the rest of a short read out of order and then
   * truncates the download at the last contiguous byte.
   */
  async read(offset: number, len: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < len) {
      const piece = await this.readWithin(offset + got, len - got);
      if (!piece) break;
      parts.push(piece);
      got += piece.length;
    }
    if (got === 0) return null;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Bytes at `offset` from the one window holding it, as many as it will hold of `len`; null at end of file. */
  private async readWithin(offset: number, len: number): Promise<Buffer | null> {
    for (;;) {
      if (this.eofAt !== null && offset >= this.eofAt) return null;
      let w = this.windows.find((x) => offset >= x.start && offset < x.start + x.want);
      if (!w) {
        this.dropAll();
        w = this.fetch(offset);
      }
      // Forget windows wholly behind the reader, and fetch ahead once half of this one is read.
      for (const old of this.windows.filter((x) => x.start + x.want <= offset)) old.stop();
      this.windows = this.windows.filter((x) => x.start + x.want > offset);
      const last = this.windows[this.windows.length - 1];
      if (last === w && this.eofAt === null && offset - w.start >= w.want / 2) this.fetch(w.start + w.want);

      if (w.error) throw w.error;
      const have = w.start + w.got;
      const need = Math.min(offset + len, w.start + w.want);
      if (have >= need || w.done) {
        // The window ended before this offset: the file is shorter.
        if (have <= offset) return null;
        return slice(w, offset - w.start, Math.min(need, have) - offset);
      }
      await new Promise<void>((resolve) => w.waiters.push(resolve));
    }
  }

  /** Stops any fetch in flight. */
  close(): void {
    this.dropAll();
  }

  private dropAll(): void {
    for (const w of this.windows) w.stop();
    this.windows = [];
  }

  private fetch(start: number): Window {
    let stopped = false;
    const w: Window = { start, want: READ_WINDOW, chunks: [], got: 0, done: false, error: null, waiters: [], stop: () => (stopped = true) };
    this.windows.push(w);
    const wake = () => {
      for (const f of w.waiters.splice(0)) f();
    };
    const stderr: Buffer[] = [];
    const settle = (end: ExecEnd) => {
      w.done = true;
      if (end.error) w.error = new SftpError(FX.FAILURE, end.error.message);
      else if (end.code !== 0) w.error = helperFailure(end.code, Buffer.concat(stderr).toString());
      else if (w.got < w.want) this.eofAt = Math.min(this.eofAt ?? Infinity, w.start + w.got);
      wake();
    };
    const script = 'exec dd if="$1" bs=65536 iflag=skip_bytes,count_bytes skip="$2" count="$3" 2>/dev/null';
    openExec(
      this.deps,
      this.ws,
      { cmd: ['/bin/sh', '-c', script, 'sh', this.path, String(start), String(w.want)], tty: false, env: {} },
      {
        stdout: (d) => {
          w.chunks.push(d);
          w.got += d.length;
          wake();
        },
        stderr: (d) => stderr.push(d),
      },
    ).then(
      (pipe) => {
        void pipe.done.then(settle);
        if (stopped) return pipe.close();
        w.stop = () => pipe.close();
        pipe.end();
      },
      (err: unknown) => settle({ code: -1, error: { code: 'INTERNAL', message: (err as Error).message } }),
    );
    return w;
  }
}

/** `len` bytes from `at` within a window's chunks. */
function slice(w: Window, at: number, len: number): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const c of w.chunks) {
    const end = pos + c.length;
    if (end > at && pos < at + len) parts.push(c.subarray(Math.max(0, at - pos), Math.min(c.length, at + len - pos)));
    if (end >= at + len) break;
    pos = end;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** A file opened for writing. */
export class FileWriter {
  private current: { pipe: ExecPipe; next: number; stderr: Buffer[] } | null = null;
  private failure: SftpError | null = null;
  /** Serialises writer switches so two `dd`s never write the same file at once. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: Pick<GatewayDeps, 'hub'>,
    private readonly ws: Workspace,
    readonly path: string,
  ) {}

  /** Queues `data` at `offset`; rejects with an earlier failure. */
  write(offset: number, data: Buffer): Promise<void> {
    return this.enqueue(async () => {
      if (this.current && this.current.next !== offset) await this.finish();
      if (this.failure) throw this.failure;
      if (!this.current) {
        const stderr: Buffer[] = [];
        const script = 'exec dd of="$1" bs=65536 oflag=seek_bytes seek="$2" conv=notrunc';
        const pipe = await openExec(
          this.deps,
          this.ws,
          { cmd: ['/bin/sh', '-c', script, 'sh', this.path, String(offset)], tty: false, env: {} },
          {
            stdout: () => {},
            stderr: (d) => stderr.push(d),
          },
        );
        this.current = { pipe, next: offset, stderr };
        // A writer that dies early (disk full, file removed) fails the next request, not just CLOSE.
        void pipe.done.then((end) => {
          if (this.current?.pipe === pipe && (end.code !== 0 || end.error)) this.failure ??= failureOf(end, stderr);
        });
      }
      this.current.pipe.write(data);
      this.current.next += data.length;
    });
  }

  /** Waits until everything written so far is in the file; throws the first failure. */
  flush(): Promise<void> {
    return this.enqueue(async () => {
      await this.finish();
      if (this.failure) throw this.failure;
    });
  }

  /** Abandons the writer (the session ended). */
  abort(): void {
    this.current?.pipe.close();
    this.current = null;
  }

  private async finish(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = null;
    c.pipe.end();
    const end = await c.pipe.done;
    if (end.code !== 0 || end.error) this.failure ??= failureOf(end, c.stderr);
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

function failureOf(end: ExecEnd, stderr: Buffer[]): SftpError {
  if (end.error) return new SftpError(FX.FAILURE, end.error.message);
  // dd prints its record counts on stderr too; the error is the line that is not a count.
  const text = Buffer.concat(stderr)
    .toString()
    .split('\n')
    .filter((l) => l && !/records (in|out)|bytes .* copied/.test(l))
    .join('\n');
  return helperFailure(end.code, text);
}
