/**
 * `berth dotfiles set DIR` uploads a folder as a tar archive: regular files and folders only,
 * `.git` left out, within the API's size and file bounds. A symbolic link is followed only
 * when it points at a file inside the folder (stored as that file's copy); one that leaves
 * the folder, or points at a folder, is refused with its name.
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import * as tar from 'tar-stream';
import { BerthError, MAX_DOTFILES_ARCHIVE_BYTES, MAX_DOTFILES_FILES } from '../../api/index.js';

/** How deep the folder may nest. */
const MAX_DEPTH = 16;

/** A packed folder. */
export interface PackedDir {
  archive: Buffer;
  files: number;
}

/** Packs `dir` into a tar archive. */
export async function packDotfiles(dir: string): Promise<PackedDir> {
  const root = await realpath(dir);
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  let files = 0;
  let bytes = 0;
  const tooBig = () =>
    new BerthError('INVALID_ARGUMENT', `${dir} holds more than ${MAX_DOTFILES_ARCHIVE_BYTES / 1024} KiB; keep only dotfiles in it (or use a git repository).`, {
      field: 'dir',
    });
  const walk = async (at: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new BerthError('INVALID_ARGUMENT', `${dir} nests folders more than ${MAX_DEPTH} deep.`, { field: 'dir' });
    for (const name of (await readdir(at)).sort()) {
      if (name === '.git') continue;
      const full = join(at, name);
      const rel = relative(root, full).split(sep).join('/');
      let st = await lstat(full);
      if (st.isSymbolicLink()) {
        const target = await realpath(full).catch(() => null);
        if (target === null || (target !== root && !target.startsWith(root + sep))) {
          throw new BerthError('INVALID_ARGUMENT', `${join(dir, rel)} is a link that leaves ${dir}; copy the file in instead.`, { field: 'dir' });
        }
        st = await stat(full);
        if (!st.isFile())
          throw new BerthError('INVALID_ARGUMENT', `${join(dir, rel)} is a link to a folder; only links to files are followed.`, { field: 'dir' });
      }
      if (st.isDirectory()) {
        pack.entry({ name: `${rel}/`, type: 'directory', mode: 0o755 });
        await walk(full, depth + 1);
      } else if (st.isFile()) {
        if (++files > MAX_DOTFILES_FILES)
          throw new BerthError('INVALID_ARGUMENT', `${dir} holds more than ${MAX_DOTFILES_FILES} files; keep only dotfiles in it.`, { field: 'dir' });
        bytes += st.size + 512;
        if (bytes > MAX_DOTFILES_ARCHIVE_BYTES) throw tooBig();
        pack.entry({ name: rel, type: 'file', mode: st.mode & 0o100 ? 0o755 : 0o644 }, await readFile(full));
      } else {
        throw new BerthError('INVALID_ARGUMENT', `${join(dir, rel)} is neither a file nor a folder; remove it from ${dir}.`, { field: 'dir' });
      }
    }
  };
  await walk(root, 0);
  pack.finalize();
  await ended;
  const archive = Buffer.concat(chunks);
  if (archive.length > MAX_DOTFILES_ARCHIVE_BYTES) throw tooBig();
  return { archive, files };
}
