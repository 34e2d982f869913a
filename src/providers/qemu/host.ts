/**
 * Host-side chores of the QEMU provider, all through the node's Transport: running the disk
 * tools, generating the per-workspace SSH keys and seed disk, and finding (and killing) the
 * QEMU process of a workspace by its pid file — checked against /proc so that a recycled pid
 * is never mistaken for ours.
 */
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { BerthError } from '../../api/index.js';
import { DISK_LABELS } from '../../images/qemu-guest-init.js';
import { sshFingerprint, type Transport } from '../../transport/index.js';
import { HOME_DISK_SIZE, isWorkspaceQemu, tscKhzFromCpuinfo, type VmPaths } from './config.js';

// ssh2 is CommonJS; `utils` is only reachable through the default export.
const { utils: sshUtils } = ssh2;

/** Packages that provide each host tool, for "install it" advice. */
const TOOL_PACKAGES: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  mke2fs: 'e2fsprogs',
};

/** Runs a command that must succeed; a missing tool is PROVIDER_UNAVAILABLE, another failure INTERNAL with stderr. */
export async function must(t: Transport, cmd: string[], doing: string, timeoutMs = 60_000): Promise<string> {
  const r = await t.run({ cmd, timeoutMs, env: { PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` } });
  if (r.code === 0) return r.stdout;
  if (r.code === 127 && TOOL_PACKAGES[cmd[0]]) {
    throw new BerthError('PROVIDER_UNAVAILABLE', `${cmd[0]} is not installed on this node: install it with \`apt-get install ${TOOL_PACKAGES[cmd[0]]}\`.`);
  }
  throw new BerthError('INTERNAL', `${cmd[0]} failed while ${doing} on ${t.description}: see the detail, then retry.`, {
    detail: r.stderr.trim().slice(-2000),
  });
}

/**
 * A fresh ed25519 key pair in OpenSSH format, and the public key's fingerprint. ssh2's
 * generator drops a leading zero byte of the public key about once in 200 keys, which makes
 * a malformed key; such pairs are thrown away and generated again.
 */
export function newKeyPair(comment: string): { privateKey: string; publicKey: string; fingerprint: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = sshUtils.generateKeyPairSync('ed25519', { comment });
    const pub = sshUtils.parseKey(pair.public);
    const priv = sshUtils.parseKey(pair.private);
    const key = Array.isArray(pub) ? pub[0] : pub;
    if (key instanceof Error || priv instanceof Error) continue;
    const blob = key.getPublicSSH();
    // 4 + "ssh-ed25519" + 4 + 32 bytes of key.
    if (blob.length !== 51) continue;
    return { privateKey: pair.private, publicKey: pair.public, fingerprint: sshFingerprint(blob) };
  }
  throw new BerthError('INTERNAL', 'Could not generate a valid SSH key for the workspace: retry the create.');
}

/**
 * Makes the workspace's client key and its seed disk: the guest's host key, the authorized
 * key and the host name, on a tiny read-only ext2 disk the guest's init copies from. Returns
 * the host key fingerprint, so berth's SSH connections verify the guest.
 */
export async function writeSeed(t: Transport, paths: VmPaths, hostname: string): Promise<string> {
  const client = newKeyPair(`berth@${hostname}`);
  const host = newKeyPair(`${hostname} host key`);
  await must(t, ['mkdir', '-p', paths.seedDir], 'making the seed directory');
  await t.writeFile(paths.clientKey, client.privateKey, 0o600);
  await t.writeFile(join(paths.seedDir, 'authorized_keys'), `${client.publicKey}\n`, 0o600);
  await t.writeFile(join(paths.seedDir, 'ssh_host_ed25519_key'), host.privateKey, 0o600);
  await t.writeFile(join(paths.seedDir, 'hostname'), `${hostname}\n`, 0o644);
  await must(t, ['mke2fs', '-q', '-F', '-t', 'ext2', '-L', DISK_LABELS.seed, '-d', paths.seedDir, paths.seed, '1M'], 'making the seed disk');
  // The directory only fed mke2fs; the disk is what the guest reads.
  await must(t, ['rm', '-rf', paths.seedDir], 'removing the seed directory');
  return host.fingerprint;
}

/** Makes the workspace's root overlay on the image's base disk: a few hundred KiB, nothing copied. */
export async function createOverlay(t: Transport, paths: VmPaths, baseDisk: string): Promise<void> {
  await must(t, ['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', baseDisk, '-F', 'qcow2', paths.overlay], 'creating the root overlay');
}

/** Makes the sparse ext4 home disk mounted at /root; it is kept across stops and removed with the workspace. */
export async function createHomeDisk(t: Transport, paths: VmPaths): Promise<void> {
  await must(t, ['truncate', '-s', HOME_DISK_SIZE, paths.home], 'creating the home disk');
  await must(
    t,
    ['mke2fs', '-q', '-F', '-t', 'ext4', '-L', DISK_LABELS.home, '-E', 'lazy_itable_init=1,lazy_journal_init=1', paths.home],
    'formatting the home disk',
  );
}

/** The pid of the workspace's QEMU if it runs (pid file present and /proc confirms it is ours), else null. */
export async function runningPid(t: Transport, paths: VmPaths): Promise<number | null> {
  let pid: number;
  try {
    pid = Number((await t.readFile(paths.pid)).toString().trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    return isWorkspaceQemu((await t.readFile(`/proc/${pid}/cmdline`)).toString(), paths) ? pid : null;
  } catch {
    return null; // No such process any more.
  }
}

/** SIGKILLs the workspace's QEMU (if it runs) and waits until it is gone. */
export async function killQemu(t: Transport, paths: VmPaths): Promise<void> {
  const pid = await runningPid(t, paths);
  if (pid !== null) {
    await t.run({ cmd: ['kill', '-KILL', String(pid)] });
    for (let i = 0; i < 100 && (await runningPid(t, paths)) !== null; i++) await new Promise((r) => setTimeout(r, 50));
  }
  await clearRuntime(t, paths);
}

/** Removes what only a running VM needs (pid file, QMP socket, port file), so a stopped workspace has none. */
export async function clearRuntime(t: Transport, paths: VmPaths): Promise<void> {
  await t.run({ cmd: ['rm', '-f', paths.pid, paths.qmp, paths.port] });
}

/** The node's TSC rate in kHz (for TCG guests), or null when /proc/cpuinfo does not say. */
export async function hostTscKhz(t: Transport): Promise<number | null> {
  return tscKhzFromCpuinfo((await t.readFile('/proc/cpuinfo').catch(() => Buffer.from(''))).toString());
}

/** The node's CPU count and memory, for checking a spec's limits. */
export async function hostSize(t: Transport): Promise<{ cpus: number; memoryBytes: number }> {
  const cpus = Number((await t.run({ cmd: ['nproc'] })).stdout.trim()) || 0;
  const meminfo = (await t.readFile('/proc/meminfo').catch(() => Buffer.from(''))).toString();
  const kb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return { cpus, memoryBytes: kb * 1024 };
}
