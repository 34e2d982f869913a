/**
 * Pure translation of a berth workspace spec into LXC terms: container names, the config lines
 * berth appends to a clone, the init script, the metadata file that labels a container as
 * berth's, and limit checks. Free of I/O so every rule is unit-tested.
 */
import type { WorkspaceSpec } from '../../api/index.js';
import { LABELS } from '../provider.js';

/** Where LXC keeps system containers unless told otherwise; `lxc-ls` with no -P looks here. */
export const DEFAULT_LXC_PATH = '/var/lib/lxc';

/** The bridge workspaces are attached to unless told otherwise (the one Debian's lxc-net makes). */
export const DEFAULT_BRIDGE = 'lxcbr0';

/** The metadata file in each container directory that marks it as berth's (LXC has no free-form labels). */
export const METADATA_FILE = 'berth.json';

/** The init script berth bind-mounts into every workspace, kept next to the container's config. */
export const INIT_FILE = 'berth-init';

/** Where the init script appears inside the container. */
export const INIT_PATH_IN_CONTAINER = '/.berth-init';

/** The workspace's home: berth images run as root. */
export const HOME_PATH = '/root';

/** PATH for every exec, the same as berth's Docker images carry. */
export const EXEC_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * PID 1 of a workspace: idles, and exits at once on SIGTERM (berth's halt signal) or SIGPWR
 * (LXC's default), so a stop takes milliseconds instead of the whole timeout.
 */
export const INIT_SCRIPT = "#!/bin/sh\ntrap 'exit 0' TERM INT PWR\nwhile :; do sleep 3600 & wait $!; done\n";

/** How a workspace's rootfs is made from its image: an overlay clone, or a full copy. */
export type BackingStore = 'overlay' | 'dir';

/** The labels (and what exec needs later) berth keeps in a container's metadata file. */
export interface LxcMetadata {
  [LABELS.workspace]: string;
  [LABELS.node]: string;
  [LABELS.managed]: 'true';
  name: string;
  image: string;
  env: Record<string, string>;
  createdAt: string;
}

/** The metadata that labels a new workspace container. */
export function workspaceMetadata(spec: WorkspaceSpec, nodeId: string, now = new Date()): LxcMetadata {
  return {
    [LABELS.workspace]: spec.id,
    [LABELS.node]: nodeId,
    [LABELS.managed]: 'true',
    name: spec.name,
    image: spec.image,
    env: { ...spec.env },
    createdAt: now.toISOString(),
  };
}

/** Reads a metadata file's text; null unless it is a berth label set. */
export function parseMetadata(text: string): LxcMetadata | null {
  try {
    const m = JSON.parse(text) as Partial<LxcMetadata>;
    if (m[LABELS.managed] !== 'true' || typeof m[LABELS.workspace] !== 'string' || typeof m[LABELS.node] !== 'string') return null;
    const env = m.env && typeof m.env === 'object' ? Object.fromEntries(Object.entries(m.env).filter(([, v]) => typeof v === 'string')) : {};
    return { ...(m as LxcMetadata), env };
  } catch {
    return null;
  }
}

/** Which cgroup hierarchy the node runs; decides the config keys for limits. */
export type CgroupVersion = 'v1' | 'v2';

/** The CFS period berth uses: 100 ms, the kernel's default. */
const CFS_PERIOD_US = 100_000;

/** Config lines for CPU and memory limits on this node's cgroup hierarchy. */
export function limitLines(spec: Pick<WorkspaceSpec, 'cpus' | 'memoryBytes'>, cgroup: CgroupVersion, memswAvailable: boolean): string[] {
  const lines: string[] = [];
  if (spec.cpus !== null) {
    const quota = Math.round(spec.cpus * CFS_PERIOD_US);
    if (cgroup === 'v2') lines.push(`lxc.cgroup2.cpu.max = ${quota} ${CFS_PERIOD_US}`);
    else lines.push(`lxc.cgroup.cpu.cfs_period_us = ${CFS_PERIOD_US}`, `lxc.cgroup.cpu.cfs_quota_us = ${quota}`);
  }
  if (spec.memoryBytes !== null) {
    const bytes = Math.floor(spec.memoryBytes);
    // Swap capped at zero beyond the limit, so the limit means what it says (as Docker's MemorySwap = Memory).
    if (cgroup === 'v2') lines.push(`lxc.cgroup2.memory.max = ${bytes}`, 'lxc.cgroup2.memory.swap.max = 0');
    else {
      lines.push(`lxc.cgroup.memory.limit_in_bytes = ${bytes}`);
      if (memswAvailable) lines.push(`lxc.cgroup.memory.memsw.limit_in_bytes = ${bytes}`);
    }
  }
  return lines;
}

/**
 * PID 1 and how to stop it. An image with systemd boots it, so the workspace runs its
 * services like a whole machine, and halts on SIGRTMIN+3 as systemd expects; any other image
 * gets berth's init, which only waits and exits at once on SIGTERM.
 */
function initLines(input: Pick<WorkspaceConfigInput, 'init' | 'containerDir'>): string[] {
  if (input.init === 'systemd') return ['lxc.init.cmd = /sbin/init', 'lxc.signal.halt = SIGRTMIN+3'];
  return [
    `lxc.init.cmd = ${INIT_PATH_IN_CONTAINER}`,
    `lxc.init.cwd = ${HOME_PATH}`,
    'lxc.signal.halt = SIGTERM',
    `lxc.mount.entry = ${input.containerDir}/${INIT_FILE} ${INIT_PATH_IN_CONTAINER.slice(1)} none bind,ro,create=file 0 0`,
  ];
}

/** What the workspace part of a container's config needs besides the spec. */
export interface WorkspaceConfigInput {
  containerDir: string;
  bridge: string;
  /** `ADDRESS/PREFIX` on the bridge's subnet, and the bridge's own address as gateway. */
  ipv4: string;
  gateway: string;
  cgroup: CgroupVersion;
  memswAvailable: boolean;
  /** PID 1: the image's own systemd when it has one, else berth's small init. */
  init: 'berth' | 'systemd';
}

/** True when an image's `/sbin/init` link points at systemd (Debian's systemd-sysv makes it so). */
export function isSystemdInit(initLinkText: string): boolean {
  return /(^|\/)systemd$/.test(initLinkText.trim());
}

/**
 * The lines berth appends to the config lxc-copy wrote (which holds only the rootfs and the
 * host name). common.conf brings LXC's safe defaults: dropped capabilities, device rules,
 * seccomp, ptys for lxc-attach.
 */
export function workspaceConfigLines(spec: WorkspaceSpec, input: WorkspaceConfigInput): string[] {
  return [
    `# berth workspace ${spec.name} (${spec.id}); berth's labels are in ${METADATA_FILE}`,
    'lxc.include = /usr/share/lxc/config/common.conf',
    // With cgroup namespaces LXC leaves /sys/fs/cgroup to the container's init; ours does not
    // mount it, so force the mount: tools inside must see their own limits.
    'lxc.mount.auto = cgroup:mixed:force',
    `lxc.uts.name = ${spec.name}`,
    ...initLines(input),
    'lxc.net.0.type = veth',
    `lxc.net.0.link = ${input.bridge}`,
    'lxc.net.0.flags = up',
    'lxc.net.0.name = eth0',
    `lxc.net.0.ipv4.address = ${input.ipv4}`,
    `lxc.net.0.ipv4.gateway = ${input.gateway}`,
    ...limitLines(spec, input.cgroup, input.memswAvailable),
  ];
}

export { validateLimits } from '../limits.js';

/** `-v NAME=VALUE` arguments for lxc-attach: a clean environment, then the spec's, then the request's. */
export function attachEnvArgs(specEnv: Record<string, string>, reqEnv: Record<string, string>, tty: boolean): string[] {
  const env: Record<string, string> = { PATH: EXEC_PATH, HOME: HOME_PATH, ...(tty ? { TERM: 'xterm' } : {}), ...specEnv, ...reqEnv };
  return Object.keys(env).flatMap((k) => ['-v', `${k}=${env[k]}`]);
}

/**
 * The command inside the container: a POSIX sh changes directory, then execs the argv as is,
 * so a missing program exits 127 as it would in any shell. lxc-attach has no cwd option.
 */
export function inContainerCommand(cmd: string[], cwd: string | undefined): string[] {
  const script = 'cd -- "$1" || exit 126; shift; exec "$@"';
  return ['/bin/sh', '-c', script, 'berth-exec', cwd ?? HOME_PATH, ...cmd];
}
