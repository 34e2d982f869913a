/**
 * The SFTP server berth runs itself for workspaces without an sftp-server binary (busybox
 * images). The protocol is ssh2's SFTP implementation in server mode, run over any byte stream
 * (here: the raw subsystem channel) through a small adapter; every request is answered from
 * WorkspaceFiles and the streaming file handles.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import { type AttrChanges, OPEN, type WorkspaceFiles } from './sftp-files.js';
import { FileReader, FileWriter } from './sftp-handles.js';
import { checkPathText, FX, longName, resolvePath, SftpError } from './sftp-paths.js';

type SftpCtor = new (client: unknown, chanInfo: unknown, cfg: { server: boolean }) => SFTPWrapper & { push(data: Buffer | null): void };
// ssh2 does not export its SFTP class from the package root; in server mode it only needs a
// way to write bytes and to close, which the adapter below provides.
const { SFTP } = createRequire(import.meta.url)('ssh2/lib/protocol/SFTP.js') as { SFTP: SftpCtor };

/** Open handles per session; more is refused like a full file table. */
export const MAX_HANDLES = 256;
/** Directory entries per READDIR answer, keeping each packet well under the 256 KiB limit. */
const NAMES_PER_PACKET = 200;

type Handle = { kind: 'file'; reader: FileReader | null; writer: FileWriter | null; path: string } | { kind: 'dir'; entries: FileEntry[] | null; path: string };

/** Runs ssh2's SFTP protocol in server mode over `stream`. */
export function sftpOverStream(stream: Duplex): SFTPWrapper {
  const outgoing = { id: 0, window: Number.MAX_SAFE_INTEGER, packetSize: Number.MAX_SAFE_INTEGER, state: 'open' };
  const protocol = {
    // Identifying the peer as OpenSSH lets ssh2 use OpenSSH's larger packet limits.
    _remoteIdentRaw: 'SSH-2.0-OpenSSH_berth-gateway',
    channelData: (_id: number, data: Buffer) => stream.write(data),
    channelClose: () => stream.end(),
  };
  const sftp = new SFTP({ _protocol: protocol }, { type: 'session', incoming: { id: 0, window: 0, packetSize: 0, state: 'open' }, outgoing }, { server: true });
  stream.on('data', (d: Buffer) => sftp.push(d));
  stream.on('end', () => sftp.push(null));
  return sftp;
}

/** Serves SFTP requests on `sftp` from a workspace's files; resolves when the stream ends. */
export function serveFiles(sftp: SFTPWrapper, files: WorkspaceFiles, onError: (err: unknown) => void): Promise<void> {
  const handles = new Map<string, Handle>();
  let nextHandle = 1;
  const newHandle = (h: Handle): Buffer => {
    if (handles.size >= MAX_HANDLES) throw new SftpError(FX.FAILURE, `Too many open files (at most ${MAX_HANDLES} per session).`);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(nextHandle++);
    handles.set(id.toString('hex'), h);
    return id;
  };
  const handleOf = (id: Buffer): Handle => {
    const h = handles.get(id.toString('hex'));
    if (!h) throw new SftpError(FX.FAILURE, 'Invalid handle.');
    return h;
  };
  const path = async (p: string) => resolvePath(await files.home(), p);

  /** Answers a request: `fn` returns how to reply; failures become a status. Resolves once answered. */
  const serve = (reqId: number, fn: () => Promise<(() => void) | void>): Promise<void> =>
    fn().then(
      (reply) => (reply ? reply() : sftp.status(reqId, FX.OK)),
      (err: unknown) => {
        if (err instanceof SftpError) return sftp.status(reqId, err.status, err.message);
        onError(err);
        sftp.status(reqId, FX.FAILURE, err instanceof Error ? err.message : String(err));
      },
    );
  /**
   * Answers requests on one handle strictly in the order they came. OpenSSH's client treats a
   * READ answered out of order as "reordered" and truncates the download at the last
   * contiguous byte, so replies must never overtake each other.
   */
  const chains = new Map<string, Promise<void>>();
  const serveInOrder = (id: Buffer, reqId: number, fn: () => Promise<(() => void) | void>) => {
    const key = Buffer.isBuffer(id) ? id.toString('hex') : '';
    const next = (chains.get(key) ?? Promise.resolve()).then(() => serve(reqId, fn));
    chains.set(key, next);
    void next.then(() => {
      if (chains.get(key) === next) chains.delete(key);
    });
  };
  const attrsReply = (reqId: number, a: Attributes) => () => sftp.attrs(reqId, a);

  sftp.on('OPEN', (reqId: number, filename: string, flags: number, attrs: AttrChanges) =>
    serve(reqId, async () => {
      const p = await path(filename);
      await files.prepareOpen(p, flags, attrs?.mode);
      const write = (flags & OPEN.WRITE) !== 0;
      const h = newHandle({
        kind: 'file',
        path: p,
        reader: (flags & OPEN.READ) !== 0 ? new FileReader(files.deps, files.ws, p) : null,
        writer: write ? new FileWriter(files.deps, files.ws, p) : null,
      });
      return () => sftp.handle(reqId, h);
    }),
  );
  sftp.on('READ', (reqId: number, id: Buffer, offset: number, len: number) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      if (h.kind !== 'file' || !h.reader) throw new SftpError(FX.PERMISSION_DENIED, 'The file was not opened for reading.');
      const data = await h.reader.read(offset, Math.min(len, 256 * 1024 - 1024));
      return () => (data ? sftp.data(reqId, data) : sftp.status(reqId, FX.EOF));
    }),
  );
  sftp.on('WRITE', (reqId: number, id: Buffer, offset: number, data: Buffer) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      if (h.kind !== 'file' || !h.writer) throw new SftpError(FX.PERMISSION_DENIED, 'The file was not opened for writing.');
      await h.writer.write(offset, data);
    }),
  );
  sftp.on('FSTAT', (reqId: number, id: Buffer) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      if (h.kind === 'file') await h.writer?.flush();
      return attrsReply(reqId, await files.stat(h.path, true));
    }),
  );
  sftp.on('FSETSTAT', (reqId: number, id: Buffer, attrs: AttrChanges) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      if (h.kind === 'file') await h.writer?.flush();
      await files.setstat(h.path, attrs);
    }),
  );
  sftp.on('CLOSE', (reqId: number, id: Buffer) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      handles.delete(id.toString('hex'));
      if (h.kind === 'file') {
        h.reader?.close();
        await h.writer?.flush();
      }
    }),
  );
  sftp.on('OPENDIR', (reqId: number, dir: string) =>
    serve(reqId, async () => {
      const p = await path(dir);
      const st = await files.stat(p, true);
      if ((st.mode & 0o170000) !== 0o040000) throw new SftpError(FX.FAILURE, `${p}: Not a directory`);
      const h = newHandle({ kind: 'dir', path: p, entries: null });
      return () => sftp.handle(reqId, h);
    }),
  );
  sftp.on('READDIR', (reqId: number, id: Buffer) =>
    serveInOrder(id, reqId, async () => {
      const h = handleOf(id);
      if (h.kind !== 'dir') throw new SftpError(FX.FAILURE, 'That handle is not a directory.');
      if (!h.entries) {
        const now = Date.now();
        h.entries = (await files.list(h.path)).map((e) => ({ filename: e.name, longname: longName(e.name, e.attrs, now), attrs: e.attrs }));
      }
      const batch = h.entries.splice(0, NAMES_PER_PACKET);
      return () => (batch.length ? sftp.name(reqId, batch) : sftp.status(reqId, FX.EOF));
    }),
  );
  sftp.on('STAT', (reqId: number, p: string) => serve(reqId, async () => attrsReply(reqId, await files.stat(await path(p), true))));
  sftp.on('LSTAT', (reqId: number, p: string) => serve(reqId, async () => attrsReply(reqId, await files.stat(await path(p), false))));
  sftp.on('SETSTAT', (reqId: number, p: string, attrs: AttrChanges) => serve(reqId, async () => files.setstat(await path(p), attrs)));
  sftp.on('MKDIR', (reqId: number, p: string, attrs: AttrChanges) => serve(reqId, async () => files.mkdir(await path(p), attrs?.mode)));
  sftp.on('RMDIR', (reqId: number, p: string) => serve(reqId, async () => files.rmdir(await path(p))));
  sftp.on('REMOVE', (reqId: number, p: string) => serve(reqId, async () => files.remove(await path(p))));
  sftp.on('RENAME', (reqId: number, from: string, to: string) => serve(reqId, async () => files.rename(await path(from), await path(to))));
  sftp.on('SYMLINK', (reqId: number, link: string, target: string) =>
    serve(reqId, async () => {
      // The target is kept verbatim (it may be relative), but it must still be a path a file system takes.
      checkPathText(target);
      await files.symlink(await path(link), target);
    }),
  );
  sftp.on('READLINK', (reqId: number, p: string) =>
    serve(reqId, async () => {
      const target = await files.readlink(await path(p));
      return () => sftp.name(reqId, [{ filename: target, longname: target, attrs: {} as Attributes }]);
    }),
  );
  sftp.on('REALPATH', (reqId: number, p: string) =>
    serve(reqId, async () => {
      // Folded without touching the file system: clients ask this for paths they are about to create.
      const resolved = await path(p);
      return () => sftp.name(reqId, [{ filename: resolved, longname: resolved, attrs: {} as Attributes }]);
    }),
  );

  return new Promise<void>((resolve) => {
    const done = () => {
      for (const h of handles.values()) {
        if (h.kind === 'file') {
          h.reader?.close();
          h.writer?.abort();
        }
      }
      handles.clear();
      resolve();
    };
    sftp.once('end', done);
    sftp.once('close', done);
    sftp.on('error', (err: unknown) => {
      onError(err);
      done();
    });
  });
}
