import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { busyboxRootfsEntries, elfNeedsInterpreter } from './busybox-rootfs.js';

describe('busyboxRootfsEntries', () => {
  const entries = busyboxRootfsEntries(['sh', 'ls', 'busybox', 'ls', 'bad/name'], '/bin/busybox');
  const byPath = new Map(entries.map((e) => [e.path, e]));

  it('links every applet once to busybox, skipping busybox itself and odd names', () => {
    expect(byPath.get('bin/sh')).toEqual({ type: 'symlink', path: 'bin/sh', target: 'busybox' });
    expect(entries.filter((e) => e.path === 'bin/ls')).toHaveLength(1);
    expect(byPath.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755, sourcePath: '/bin/busybox' });
    expect([...byPath.keys()].some((p) => p.includes('bad'))).toBe(false);
  });

  it('has root with home /root and shell /bin/sh, a sticky /tmp and a private /root', () => {
    const passwd = byPath.get('etc/passwd');
    expect(passwd && 'content' in passwd ? String(passwd.content) : '').toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(byPath.get('etc/group')).toBeDefined();
    expect(byPath.get('etc/hosts')).toBeDefined();
    expect(byPath.get('tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(byPath.get('root')).toMatchObject({ type: 'directory', mode: 0o700 });
  });

  it('lists directories before the files inside them', () => {
    const index = (p: string): number => entries.findIndex((e) => e.path === p);
    expect(index('bin')).toBeLessThan(index('bin/busybox'));
    expect(index('etc')).toBeLessThan(index('etc/passwd'));
  });
});

describe('elfNeedsInterpreter', () => {
  it('tells the static busybox from a dynamically linked binary', async () => {
    const head = async (p: string): Promise<Buffer> => (await readFile(p)).subarray(0, 4096);
    expect(elfNeedsInterpreter(await head('/bin/busybox'))).toBe(false);
    expect(elfNeedsInterpreter(await head(process.execPath))).toBe(true);
    expect(elfNeedsInterpreter(Buffer.from('#!/bin/sh\n'))).toBe(false);
  });
});
