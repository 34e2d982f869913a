import { chmod, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { packDirectory, packEntries, splitDeviceNumber } from './rootfs-tar.js';

interface Listed {
  name: string;
  type: string;
  mode: number;
  linkname: string | null;
  body: string;
}

/** Reads a tar stream back into its entries. */
async function list(stream: Readable): Promise<Listed[]> {
  const extract = tar.extract();
  const out: Listed[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      out.push({ name: h.name, type: h.type, mode: h.mode, linkname: h.linkname ?? null, body: (await buffer(entry)).toString() });
    }
  })();
  // Errors of the packer must reach the caller, as they would reach an import.
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await Promise.race([done, failed]);
  return out;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('splitDeviceNumber', () => {
  it('decodes glibc dev_t numbers', () => {
    expect(splitDeviceNumber(0x0103)).toEqual({ major: 1, minor: 3 }); // /dev/null
    expect(splitDeviceNumber(0x0501)).toEqual({ major: 5, minor: 1 }); // /dev/console
    expect(splitDeviceNumber(0x8800 + 0x00100000 * 0 + 2)).toEqual({ major: 136, minor: 2 });
    expect(splitDeviceNumber(259 * 256 + (300 & 0xff) + ((300 & ~0xff) << 12))).toEqual({ major: 259, minor: 300 });
  });
});

describe('packEntries', () => {
  it('packs directories, inline files, host files and symlinks in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tar-'));
    dirs.push(dir);
    await writeFile(join(dir, 'big'), 'x'.repeat(100_000));
    const entries = await list(
      packEntries([
        { type: 'directory', path: 'tmp', mode: 0o1777 },
        { type: 'file', path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0::/root:/bin/sh\n' },
        { type: 'file', path: 'bin/busybox', mode: 0o755, sourcePath: join(dir, 'big') },
        { type: 'symlink', path: 'bin/sh', target: 'busybox' },
      ]),
    );
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['tmp', 'directory'],
      ['etc/passwd', 'file'],
      ['bin/busybox', 'file'],
      ['bin/sh', 'symlink'],
    ]);
    expect(entries[0].mode).toBe(0o1777);
    expect(entries[1].body).toContain('root:x:0:0');
    expect(entries[2].body).toHaveLength(100_000);
    expect(entries[3].linkname).toBe('busybox');
  });
});

describe('packDirectory', () => {
  it('keeps modes, symlinks and hard links, in sorted order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tar-'));
    dirs.push(dir);
    await mkdir(join(dir, 'usr/bin'), { recursive: true });
    await writeFile(join(dir, 'usr/bin/tool'), 'tool');
    await chmod(join(dir, 'usr/bin/tool'), 0o4755);
    await link(join(dir, 'usr/bin/tool'), join(dir, 'usr/bin/tool-alias'));
    await symlink('usr/bin', join(dir, 'bin'));
    const entries = await list(packDirectory(dir));
    expect(entries.map((e) => e.name)).toEqual(['bin', 'usr', 'usr/bin', 'usr/bin/tool', 'usr/bin/tool-alias']);
    expect(entries[0]).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
    expect(entries[3]).toMatchObject({ type: 'file', mode: 0o4755, body: 'tool' });
    expect(entries[4]).toMatchObject({ type: 'link', linkname: 'usr/bin/tool' });
  });

  it('fails the stream when the directory cannot be read', async () => {
    await expect(list(packDirectory('/nonexistent/berth-tar'))).rejects.toThrow();
  });
});
