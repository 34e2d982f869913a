/**
 * An uploaded dotfiles folder arrives as a tar archive. The CLI builds it, but the server never
 * trusts a client: every entry must be a regular file or a folder with a plain relative path
 * (no `..`, no absolute path, no link, device or fifo), within the file and size bounds, before
 * the archive is stored and later unpacked inside a workspace.
 */
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { BerthError, MAX_DOTFILES_ARCHIVE_BYTES, MAX_DOTFILES_FILES } from '../../../api/index.js';

/** What a checked archive holds. */
export interface ArchiveFacts {
  files: number;
  bytes: number;
}

/** A path inside the folder: relative, no `..` or empty segments, printable. */
function safeEntryPath(name: string): boolean {
  const path = name.replace(/^\.\//, '').replace(/\/$/, '');
  if (path === '' || path === '.') return true;
  if (path.length > 1024 || path.startsWith('/') || !/^[\x21-\x7e ]+$/.test(path)) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '..' && seg !== '.');
}

/** Checks an archive; throws INVALID_ARGUMENT naming the first bad entry. */
export async function checkArchive(archive: Buffer): Promise<ArchiveFacts> {
  if (archive.length > MAX_DOTFILES_ARCHIVE_BYTES) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `The dotfiles archive is larger than ${MAX_DOTFILES_ARCHIVE_BYTES / 1024} KiB; keep only dotfiles in the folder.`,
      { field: 'source.archive' },
    );
  }
  const bad = (why: string) =>
    new BerthError('INVALID_ARGUMENT', `The dotfiles archive ${why}; upload a folder of plain files (berth dotfiles set DIR builds a good one).`, {
      field: 'source.archive',
    });
  let files = 0;
  let bytes = 0;
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    // Stop reading at the first bad entry: the rest is not worth parsing.
    const fail = (err: BerthError) => {
      reject(err);
      ex.destroy();
    };
    ex.on('entry', (header, stream, next) => {
      if (header.type !== 'file' && header.type !== 'directory')
        return fail(bad(`holds ${JSON.stringify(header.name.slice(0, 200))}, a ${header.type} (only files and folders)`));
      if (!safeEntryPath(header.name)) return fail(bad(`holds the path ${JSON.stringify(header.name.slice(0, 200))}, which leaves the folder or is not plain`));
      if (header.type === 'file' && ++files > MAX_DOTFILES_FILES) return fail(bad(`holds more than ${MAX_DOTFILES_FILES} files`));
      bytes += header.size ?? 0;
      stream.on('end', () => next());
      stream.resume();
    });
    ex.on('finish', () => resolve());
    ex.on('error', (err: Error) => fail(bad(`is not a tar archive (${err.message.slice(0, 200)})`)));
  });
  Readable.from([archive]).pipe(ex);
  await done;
  return { files, bytes };
}
