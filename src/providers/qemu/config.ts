/**
 * Pure translation of a berth workspace into QEMU terms: where its files live, how big the
 * machine is, and the command line that boots it. Kept free of I/O so every rule is unit-tested.
 */
import { join, resolve } from 'node:path';
import { BerthError, formatSize, type WorkspaceSpec } from '../../api/index.js';

/** The QEMU binary berth runs (x86-64 guests only, for now). */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** vCPUs and RAM when the spec leaves them open: a VM cannot be "unlimited". */
export const DEFAULT_VM_CPUS = 1;
export const DEFAULT_VM_MEMORY_BYTES = 512 * 1024 ** 2;
/** Below this the Debian kernel and sshd do not fit comfortably. */
export const MIN_VM_MEMORY_BYTES = 128 * 1024 ** 2;
/** Virtual size of a new home disk (sparse: it takes only what is written). */
export const HOME_DISK_SIZE = '8G';
/** Unix socket paths longer than this do not fit in sockaddr_un on Linux (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

export type Accel = 'kvm' | 'tcg';
export type Machine = 'microvm' | 'q35';

/** The files of one VM workspace, all in its own directory under the agent's state dir. */
export interface VmPaths {
  dir: string;
  meta: string;
  clientKey: string;
  seedDir: string;
  seed: string;
  overlay: string;
  home: string;
  pid: string;
  qmp: string;
  console: string;
  port: string;
}

/** Where the provider keeps everything of its workspaces: `<stateDir>/qemu`, always absolute (QEMU runs elsewhere). */
export function qemuRoot(stateDir: string): string {
  return join(resolve(stateDir), 'qemu');
}

/** The paths of workspace `workspaceId`; the id is checked first so it cannot walk out of the root. */
export function vmPaths(root: string, workspaceId: string): VmPaths {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(workspaceId) || workspaceId.includes('..')) {
    throw new BerthError('INVALID_ARGUMENT', `Workspace id "${workspaceId}" cannot name a directory: use letters, digits, dot, dash and underscore.`, {
      field: 'id',
    });
  }
  const dir = join(root, workspaceId);
  const p = (name: string): string => join(dir, name);
  return {
    dir,
    meta: p('workspace.json'),
    clientKey: p('id_ed25519'),
    seedDir: p('seed'),
    seed: p('seed.img'),
    overlay: p('overlay.qcow2'),
    home: p('home.img'),
    pid: p('qemu.pid'),
    qmp: p('qmp'),
    console: p('console.log'),
    port: p('ssh-port'),
  };
}

/** FAILED_PRECONDITION when the QMP socket path would not fit in a unix socket address. */
export function checkSocketPath(paths: VmPaths): void {
  if (Buffer.byteLength(paths.qmp) > MAX_SOCKET_PATH) {
    throw new BerthError('FAILED_PRECONDITION', `The QMP socket path ${paths.qmp} is longer than a unix socket allows: give the agent a shorter --state-dir.`, {
      field: 'state-dir',
    });
  }
}

/** The machine size for a spec: whole vCPUs and RAM in MiB; INVALID_ARGUMENT naming the field otherwise. */
export function vmSize(spec: Pick<WorkspaceSpec, 'cpus' | 'memoryBytes'>, host: { cpus: number; memoryBytes: number }): { cpus: number; memoryMiB: number } {
  const cpus = spec.cpus ?? DEFAULT_VM_CPUS;
  if (!Number.isInteger(cpus) || cpus < 1) {
    throw new BerthError('INVALID_ARGUMENT', `A virtual machine has whole vCPUs: ask for 1 or more, not ${cpus}.`, { field: 'cpus' });
  }
  if (host.cpus > 0 && cpus > host.cpus) {
    throw new BerthError('INVALID_ARGUMENT', `This node has ${host.cpus} CPUs: ask for at most ${host.cpus}, or pick a bigger node.`, { field: 'cpus' });
  }
  const memory = spec.memoryBytes ?? DEFAULT_VM_MEMORY_BYTES;
  if (memory < MIN_VM_MEMORY_BYTES) {
    throw new BerthError('INVALID_ARGUMENT', `A virtual machine needs at least ${formatSize(MIN_VM_MEMORY_BYTES)} of memory.`, { field: 'memory' });
  }
  if (host.memoryBytes > 0 && memory > host.memoryBytes) {
    throw new BerthError('INVALID_ARGUMENT', `This node has ${formatSize(host.memoryBytes)} of memory: ask for less, or pick a bigger node.`, {
      field: 'memory',
    });
  }
  return { cpus, memoryMiB: Math.floor(memory / 1024 ** 2) };
}

/** Everything that decides one boot. */
export interface LaunchConfig {
  paths: VmPaths;
  /** Shown in `ps` and QMP: berth-NAME. */
  name: string;
  machine: Machine;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  /** Loopback port on the node that forwards to the guest's sshd. */
  sshPort: number;
  /** The host's TSC rate in kHz, handed to TCG guests (see kernelCmdline). */
  tscKhz?: number | null;
}

/**
 * The kernel command line. panic=-1 with reboot=t turns a guest panic into a triple fault,
 * which -no-reboot turns into QEMU exiting, so a broken guest never lingers.
 */
export const KERNEL_CMDLINE = 'console=ttyS0 quiet panic=-1 reboot=t';

/**
 * The command line for one boot. Under TCG on a busy host the kernel's TSC calibration
 * against the PIT fails, and microvm has no HPET or PM timer to fall back on: the boot then
 * hangs for good. Telling the kernel the TSC rate (TCG's guest TSC is the host's) skips that.
 */
export function kernelCmdline(accel: Accel, tscKhz: number | null | undefined): string {
  return accel === 'tcg' && tscKhz ? `${KERNEL_CMDLINE} tsc_early_khz=${tscKhz}` : KERNEL_CMDLINE;
}

/** The host's TSC rate in kHz from /proc/cpuinfo's first "cpu MHz", or null. */
export function tscKhzFromCpuinfo(cpuinfo: string): number | null {
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : null;
}

/**
 * A value inside a QEMU option string (`file=VALUE,format=...`): QEMU splits those at commas
 * and reads a doubled comma as a literal one, so a state dir or image path with a comma in it
 * would otherwise add options of its own.
 */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/** The argv (without the binary) that boots a workspace, daemonised with a pid file and QMP socket. */
export function qemuArgs(c: LaunchConfig): string[] {
  const v = qemuOptValue;
  // microvm has no PCI bus: its virtio devices sit on MMIO transports.
  const bus = c.machine === 'microvm' ? 'device' : 'pci';
  const machine = c.machine === 'microvm' ? 'microvm,x-option-roms=off,isa-serial=on,rtc=on' : 'q35';
  return [
    '-name',
    `${v(c.name)},process=${v(c.name.slice(0, 15))}`,
    '-M',
    machine,
    '-accel',
    c.accel,
    ...(c.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp',
    String(c.cpus),
    '-m',
    `${c.memoryMiB}M`,
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    c.kernel,
    '-initrd',
    c.initrd,
    '-append',
    kernelCmdline(c.accel, c.tscKhz),
    '-serial',
    `file:${c.paths.console}`,
    '-drive',
    `id=root,file=${v(c.paths.overlay)},format=qcow2,if=none,discard=unmap`,
    '-device',
    `virtio-blk-${bus},drive=root`,
    '-drive',
    `id=home,file=${v(c.paths.home)},format=raw,if=none,discard=unmap`,
    '-device',
    `virtio-blk-${bus},drive=home`,
    '-drive',
    `id=seed,file=${v(c.paths.seed)},format=raw,if=none,readonly=on`,
    '-device',
    `virtio-blk-${bus},drive=seed`,
    // User-mode networking keeps everything on the node's loopback; nothing listens elsewhere.
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${c.sshPort}-:22`,
    '-device',
    `virtio-net-${bus},netdev=net0`,
    '-qmp',
    `unix:${v(c.paths.qmp)},server=on,wait=off`,
    '-daemonize',
    '-pidfile',
    c.paths.pid,
  ];
}

/** True when a process command line (NUL-separated, from /proc/PID/cmdline) is QEMU running this workspace. */
export function isWorkspaceQemu(cmdline: string, paths: VmPaths): boolean {
  const argv = cmdline.split('\0');
  return argv.some((a) => a.endsWith(QEMU_BINARY)) && argv.includes(paths.pid);
}
