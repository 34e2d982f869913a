/**
 * The busybox root filesystem: the host's static busybox, one symlink per applet and the few
 * files a shell and berth's exec expect (/etc/passwd for `root`, a sticky /tmp, a home).
 * Built in memory in a second or two, so it is the default image on a fresh node.
 */
import { execFile } from 'node:child_process';
import { access, constants, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { BerthError } from '../api/index.js';
import { packEntries, type RootfsEntry } from './rootfs-tar.js';

const execFileAsync = promisify(execFile);

/** Where Debian's busybox-static puts its binary. */
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';

const DIRECTORIES: Array<[string, number]> = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['etc', 0o755],
  ['root', 0o700],
  ['home', 0o755],
  ['tmp', 0o1777],
  ['var', 0o755],
  ['var/tmp', 0o1777],
  ['run', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
];

const ETC_FILES: Array<[string, string]> = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'],
  ['etc/group', 'root:x:0:\nnogroup:x:65534:\n'],
  ['etc/shadow', 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n'],
  ['etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'],
  ['etc/hostname', 'berth\n'],
  ['etc/resolv.conf', ''],
  ['etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'],
  ['etc/profile', "export PS1='\\u@\\h:\\w\\$ '\n"],
];

/** The entries of a busybox rootfs, given the applet names the binary reports. */
export function busyboxRootfsEntries(applets: string[], busyboxPath: string): RootfsEntry[] {
  const entries: RootfsEntry[] = DIRECTORIES.map(([path, mode]) => ({ type: 'directory', path, mode }));
  entries.push({ type: 'file', path: 'bin/busybox', mode: 0o755, sourcePath: busyboxPath });
  // Every applet lives in /bin: PATH covers it, and one directory keeps the links trivially relative.
  const names = [...new Set(applets)].filter((a) => a !== 'busybox' && /^[A-Za-z0-9._[\]-]+$/.test(a)).sort();
  for (const name of names) entries.push({ type: 'symlink', path: `bin/${name}`, target: 'busybox' });
  for (const [path, content] of ETC_FILES) entries.push({ type: 'file', path, mode: path === 'etc/shadow' ? 0o640 : 0o644, content });
  return entries;
}

/**
 * Does this ELF binary need a dynamic loader? A dynamically linked busybox would import fine
 * and then fail every command in the container with a baffling "not found", so we refuse it.
 */
export function elfNeedsInterpreter(header: Buffer): boolean {
  const isElf64 = header.length >= 64 && header.readUInt32BE(0) === 0x7f454c46 && header[4] === 2;
  if (!isElf64) return false;
  const phoff = Number(header.readBigUInt64LE(0x20));
  const phentsize = header.readUInt16LE(0x36);
  const phnum = header.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > header.length) break;
    if (header.readUInt32LE(at) === PT_INTERP) return true;
  }
  return false;
}

/** Checks the host busybox is present and static, and returns its applet names. */
export async function inspectHostBusybox(busyboxPath: string): Promise<string[]> {
  const install = 'install it with `apt-get install busybox-static`';
  try {
    await access(busyboxPath, constants.X_OK);
  } catch {
    throw new BerthError('PROVIDER_UNAVAILABLE', `No busybox at ${busyboxPath} on this node: ${install}.`);
  }
  const file = await open(busyboxPath, 'r');
  try {
    const header = Buffer.alloc(4096);
    await file.read(header, 0, header.length, 0);
    if (elfNeedsInterpreter(header)) {
      throw new BerthError('PROVIDER_UNAVAILABLE', `${busyboxPath} is dynamically linked and cannot run in an empty image: ${install}.`);
    }
  } finally {
    await file.close();
  }
  const { stdout } = await execFileAsync(busyboxPath, ['--list']);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Builds the busybox rootfs tar from the host's busybox binary. */
export async function busyboxRootfsTar(busyboxPath = DEFAULT_BUSYBOX_PATH): Promise<Readable> {
  const applets = await inspectHostBusybox(busyboxPath);
  return packEntries(busyboxRootfsEntries(applets, busyboxPath));
}
