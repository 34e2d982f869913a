import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packDotfiles } from './pack.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-pack-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The entries of an archive: name, type, mode. */
async function entries(archive: Buffer): Promise<string[]> {
  const out: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, s, next) => {
    out.push(`${h.name} ${h.type} ${(h.mode ?? 0).toString(8)}`);
    s.on('end', next);
    s.resume();
  });
  const done = new Promise<void>((r) => ex.on('finish', () => r()));
  Readable.from([archive]).pipe(ex);
  await done;
  return out;
}

describe('packing a dotfiles folder', () => {
  it('packs files and folders, keeps the executable bit, leaves .git out, copies a link to a file inside', async () => {
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD'), 'x');
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(dir, '.bashrc'), 'x');
    await symlink('.bashrc', join(dir, '.profile'));
    const packed = await packDotfiles(dir);
    expect(packed.files).toBe(3);
    expect(await entries(packed.archive)).toEqual(['.bashrc file 644', '.profile file 644', 'bin/ directory 755', 'bin/tool file 755']);
  });

  it('refuses a link that leaves the folder or points at a folder, and a folder that is too big', async () => {
    await symlink('/etc/passwd', join(dir, '.evil'));
    await expect(packDotfiles(dir)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/\.evil is a link that leaves/) });
    await rm(join(dir, '.evil'));
    await symlink('..', join(dir, '.up'));
    await expect(packDotfiles(dir)).rejects.toMatchObject({ message: expect.stringMatching(/\.up is a link that leaves/) });
    await rm(join(dir, '.up'));
    await mkdir(join(dir, 'sub'));
    await symlink('sub', join(dir, '.sub'));
    await expect(packDotfiles(dir)).rejects.toMatchObject({ message: expect.stringMatching(/link to a folder/) });
    await rm(join(dir, '.sub'));
    await writeFile(join(dir, 'big'), Buffer.alloc(1100 * 1024));
    await expect(packDotfiles(dir)).rejects.toMatchObject({ message: expect.stringMatching(/more than 512 KiB/) });
  });
});
