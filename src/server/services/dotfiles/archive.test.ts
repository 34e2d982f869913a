import fc from 'fast-check';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../../api/index.js';
import { checkArchive } from './archive.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'; body?: string; linkname?: string };

/** A tar archive of these entries. */
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname };
    if (header.type === 'file') pack.entry(header, e.body ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

describe('dotfiles archive check', () => {
  it('accepts plain files and folders and counts them', async () => {
    expect(
      await checkArchive(
        await tarOf([
          { name: '.bashrc', body: 'x' },
          { name: 'bin/', type: 'directory' },
          { name: 'bin/tool', body: 'abc' },
        ]),
      ),
    ).toEqual({ files: 2, bytes: 4 });
  });

  it('refuses links, special files and paths that leave the folder', async () => {
    for (const [entries, why] of [
      [[{ name: '.bashrc', type: 'symlink', linkname: '/etc/shadow' }], /a symlink/],
      [[{ name: 'h', type: 'link', linkname: 'x' }], /a link/],
      [[{ name: 'p', type: 'fifo' }], /a fifo/],
      [[{ name: '../escape', body: 'x' }], /leaves the folder/],
      [[{ name: '/etc/passwd', body: 'x' }], /leaves the folder/],
      [[{ name: 'a/../../b', body: 'x' }], /leaves the folder/],
    ] as Array<[Entry[], RegExp]>) {
      await expect(checkArchive(await tarOf(entries))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'source.archive',
        message: expect.stringMatching(why),
      });
    }
  });

  it('refuses too many files, and bytes that are not a tar archive', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}` }));
    await expect(checkArchive(await tarOf(many))).rejects.toMatchObject({ message: expect.stringMatching(/more than 1000 files/) });
    await expect(checkArchive(Buffer.alloc(2 * 1024 * 1024))).rejects.toMatchObject({ message: expect.stringMatching(/larger than 512 KiB/) });
  });

  it('any bytes end in facts or an INVALID_ARGUMENT, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        try {
          await checkArchive(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(BerthError);
          expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
        }
      }),
      { numRuns: 200 },
    );
  });
});
