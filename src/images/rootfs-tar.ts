/**
 * Turns a root filesystem into a tar stream for the engine's image import, without a host
 * `tar`: either from a list of entries made up in memory (busybox) or by walking a directory
 * (a debootstrap rootfs, which holds device nodes, hard links and setuid files that must
 * survive unchanged).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/** One entry of an in-memory rootfs; `path` is relative, without a leading slash. */
export type RootfsEntry =
  | { type: 'directory'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; content: string | Buffer }
  | { type: 'file'; path: string; mode: number; sourcePath: string }
  | { type: 'symlink'; path: string; target: string };

/** Splits a Linux dev_t into major and minor numbers (glibc's encoding, as stat reports it). */
export function splitDeviceNumber(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev % 2 ** 32;
  const major = ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
  const minor = (low & 0xff) | ((low >>> 12) & 0xfff00);
  return { major, minor };
}

/** Writes one entry with a body and waits until tar-stream has taken all of it. */
function writeEntry(pack: tar.Pack, header: TarHeader, body?: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const callback = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (body === undefined) pack.entry(header, callback);
    else pack.entry(header, body, callback);
  });
}

/** Streams a host file into the archive without holding it in memory, respecting backpressure. */
async function writeFileEntry(pack: tar.Pack, header: TarHeader, sourcePath: string): Promise<void> {
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  for await (const chunk of createReadStream(sourcePath)) {
    if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  sink.end(undefined);
  await done;
}

/**
 * tar-stream is built on streamx, whose streams pipe into Node streams but do not pass
 * errors along; an async-iterated Node Readable does, so a failed walk fails the import.
 */
function asNodeReadable(pack: tar.Pack): Readable {
  return Readable.from(pack, { objectMode: false });
}

/** Packs in-memory entries, in the order given, into a tar stream. */
export function packEntries(entries: RootfsEntry[]): Readable {
  const pack = tar.pack();
  const mtime = new Date();
  const run = async (): Promise<void> => {
    for (const e of entries) {
      const base = { name: e.path, uid: 0, gid: 0, mtime };
      if (e.type === 'directory') await writeEntry(pack, { ...base, type: 'directory', mode: e.mode });
      else if (e.type === 'symlink') await writeEntry(pack, { ...base, type: 'symlink', linkname: e.target, mode: 0o777 });
      else if ('content' in e) await writeEntry(pack, { ...base, type: 'file', mode: e.mode }, e.content);
      else {
        const st = await lstat(e.sourcePath);
        await writeFileEntry(pack, { ...base, type: 'file', mode: e.mode, size: st.size }, e.sourcePath);
      }
    }
    pack.finalize();
  };
  run().catch((err: unknown) => pack.destroy(err as Error));
  return asNodeReadable(pack);
}

/**
 * Packs a directory tree. Entries come in sorted order so two packs of one tree are equal;
 * files sharing an inode become hard links, as in the original; sockets are skipped because
 * an image cannot carry them.
 */
export function packDirectory(root: string): Readable {
  const pack = tar.pack();
  const seenInodes = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, relPath);
      const st = await lstat(abs);
      const header: TarHeader = { name: relPath, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        await writeEntry(pack, { ...header, type: 'directory' });
        await walk(relPath);
      } else if (st.isSymbolicLink()) {
        await writeEntry(pack, { ...header, type: 'symlink', linkname: await readlink(abs) });
      } else if (st.isFile()) {
        const inodeKey = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seenInodes.get(inodeKey) : undefined;
        if (first !== undefined) {
          await writeEntry(pack, { ...header, type: 'link', linkname: first });
        } else {
          if (st.nlink > 1) seenInodes.set(inodeKey, relPath);
          await writeFileEntry(pack, { ...header, type: 'file', size: st.size }, abs);
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = splitDeviceNumber(st.rdev);
        const type = st.isCharacterDevice() ? 'character-device' : 'block-device';
        await writeEntry(pack, { ...header, type, devmajor: major, devminor: minor });
      } else if (st.isFIFO()) {
        await writeEntry(pack, { ...header, type: 'fifo' });
      }
    }
  };
  walk('')
    .then(() => pack.finalize())
    .catch((err: unknown) => pack.destroy(err as Error));
  return asNodeReadable(pack);
}
