// What the chroot provider runs on the node: the busybox root filesystem, the cgroups that
// hold a workspace's limits, and the shell scripts that start its init inside new PID,
// network and mount namespaces. Everything berth makes for a workspace is its folder under
// the plugin's state dir and its cgroup directories, so leftovers are easy to find.
import { access, chmod, constants, copyFile, mkdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from 'berth/plugin';

/** The static busybox the rootfs is made from (Debian's busybox-static). */
export const BUSYBOX = '/bin/busybox';
/** The only image this provider runs. */
export const IMAGE = 'busybox';
const PERIOD_US = 100_000;

/** Host PATH for the tools the provider runs on the node. */
export const HOST_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

/** Makes a busybox root filesystem in `root`: the binary, one link per applet, a home, /etc basics. */
export async function makeRootfs(transport, root) {
  for (const d of ['bin', 'etc', 'root', 'tmp', 'proc', 'dev', 'sys/fs/cgroup/cpu', 'sys/fs/cgroup/memory', 'var/tmp'])
    await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'root'), 0o700);
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const r = await transport.run({ cmd: ['chroot', root, '/bin/busybox', '--install', '-s', '/bin'], env: HOST_ENV, timeoutMs: 30_000 });
  if (r.code !== 0) throw new BerthError('INTERNAL', `Could not install busybox's applets in ${root}: ${r.stderr.trim().slice(0, 200)}`);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
}

/** True when the node has the busybox binary the rootfs is made from. */
export async function busyboxUsable() {
  return access(BUSYBOX, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The workspace's cgroup v1 directories (cpu and memory), named after the workspace id. */
export function cgroupDirs(workspaceId) {
  return { cpu: `/sys/fs/cgroup/cpu/berth-chroot-${workspaceId}`, memory: `/sys/fs/cgroup/memory/berth-chroot-${workspaceId}` };
}

/** Why this node cannot hold the cgroups (v1 cpu and memory controllers), or null. */
export async function cgroupProblem() {
  for (const f of ['/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    if (
      !(await access(f).then(
        () => true,
        () => false,
      ))
    )
      return `${f} is missing: this example needs cgroup v1 cpu and memory controllers mounted under /sys/fs/cgroup`;
  }
  return null;
}

/** Creates (or re-creates) the workspace's cgroups with its limits; -1 means no limit. */
export async function makeCgroups(workspaceId, cpus, memoryBytes) {
  const dirs = cgroupDirs(workspaceId);
  await mkdir(dirs.cpu, { recursive: true });
  await mkdir(dirs.memory, { recursive: true });
  await writeFile(join(dirs.cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
  await writeFile(join(dirs.cpu, 'cpu.cfs_quota_us'), cpus ? String(Math.round(cpus * PERIOD_US)) : '-1');
  await writeFile(join(dirs.memory, 'memory.limit_in_bytes'), memoryBytes ? String(memoryBytes) : '-1');
  return dirs;
}

/** Removes the workspace's cgroups once nothing is in them; missing ones are fine. */
export async function removeCgroups(workspaceId) {
  for (const dir of Object.values(cgroupDirs(workspaceId))) {
    for (let i = 0; i < 50; i++) {
      const gone = await rmdir(dir).then(
        () => true,
        (e) => (e.code === 'ENOENT' ? true : e.code === 'EBUSY' ? false : Promise.reject(e)),
      );
      if (gone) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Starts the init, detached from the agent (it outlives an agent restart): joins the cgroups,
 * then `unshare` makes new PID, network and mount namespaces. Inside, before the chroot, the
 * shell notes its own PID as the node sees it (from the node's /proc), brings loopback up and
 * mounts /proc, /dev and the cgroups into the root; the init then waits for SIGTERM.
 * Args: $1 root, $2 cpu cgroup, $3 memory cgroup, $4 the pid file, $5 the inner script.
 */
export const LAUNCH_SCRIPT =
  'echo $$ > "$2/cgroup.procs" && echo $$ > "$3/cgroup.procs" && exec unshare --pid --net --mount --fork --propagation private sh -c "$5" sh "$1" "$2" "$3" "$4" </dev/null >/dev/null 2>&1';
export const INNER_SCRIPT = [
  'read -r hostpid _ < /proc/self/stat',
  'ip link set lo up',
  'mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && mount --bind "$2" "$1/sys/fs/cgroup/cpu" && mount --bind "$3" "$1/sys/fs/cgroup/memory" || exit 1',
  'echo "$hostpid" > "$4.tmp" && mv "$4.tmp" "$4"',
  // The init exits on SIGTERM at once; `wait` lets the trap run without waiting for sleep.
  'exec chroot "$1" /bin/sh -c \'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done\'',
].join('\n');

/** The init's PID from the pid file, if that process still runs inside this root. */
export async function livePid(pidFile, root) {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  // A PID can be reused: it counts only while its root is this workspace's.
  const at = await readlink(`/proc/${pid}/root`).catch(() => null);
  return at === root ? pid : null;
}
