/**
 * The host check of `berth node add`: one shell script run over SSH prints `key=value` lines
 * about the machine, and a pure parser turns them into SshHostFacts. The checks that refuse a
 * host (no Linux, no Node ≥ 20, not root, too little disk) and the provider report are pure
 * functions of those facts, so they are unit-tested without a machine.
 */
import { BerthError, type SshHostFacts } from '../../api/index.js';
import { INSTALL_DIR, STATE_DIR } from './layout.js';

/** Oldest Node the agent bundle runs on (its esbuild target). */
export const MIN_NODE_MAJOR = 20;
/** Space the agent needs on the install dir's file system: its bundle, logs and state. */
export const MIN_DISK_FREE_BYTES = 200 * 1024 * 1024;

/**
 * POSIX sh, run through the login shell. Every fact is one line; a missing tool prints an
 * empty value rather than failing the script.
 */
export const PROBE_SCRIPT = [
  'echo "os=$(uname -s 2>/dev/null)"',
  'echo "arch=$(uname -m 2>/dev/null)"',
  'echo "node=$(command -v node >/dev/null 2>&1 && node --version 2>/dev/null)"',
  'echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"',
  'echo "uid=$(id -u)"',
  // The first existing ancestor of the install dir is where its files will land.
  `d=${INSTALL_DIR}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; echo "diskfree=$(df -Pk "$d" 2>/dev/null | awk 'NR==2 {print $4 * 1024}')"`,
  'echo "systemd=$(systemctl is-system-running 2>/dev/null)"',
  'echo "cron=$(command -v crontab >/dev/null 2>&1 && echo yes)"',
  'echo "docker=$([ -S /var/run/docker.sock ] && echo yes)"',
  'echo "lxc=$(command -v lxc-start >/dev/null 2>&1 && echo yes)"',
  'echo "qemu=$(command -v qemu-system-$(uname -m) >/dev/null 2>&1 && echo yes)"',
  'echo "kvm=$([ -c /dev/kvm ] && echo yes)"',
  `echo "joined=$(sed -n 's/.*"nodeId": *"\\([^"]*\\)".*/\\1/p' ${STATE_DIR}/credential.json 2>/dev/null | head -n 1)"`,
].join('\n');

/** Parses the probe's output; unknown keys are ignored, missing ones read as absent. */
export function parseHostFacts(stdout: string): SshHostFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !kv.has(line.slice(0, eq))) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const get = (k: string): string => kv.get(k) ?? '';
  const yes = (k: string): boolean => get(k) === 'yes';
  const disk = Number(get('diskfree'));
  const uid = Number(get('uid'));
  const systemd = get('systemd');
  return {
    os: get('os'),
    arch: get('arch'),
    nodeVersion: /^v\d+\.\d+\.\d+/.test(get('node')) ? get('node') : null,
    diskFreeBytes: get('diskfree') !== '' && Number.isFinite(disk) ? disk : null,
    hostname: get('hostname'),
    uid: Number.isInteger(uid) && get('uid') !== '' ? uid : -1,
    // `degraded` still runs units; `offline` means systemd is not PID 1 (a container, say).
    systemd: ['running', 'degraded', 'starting', 'initializing'].includes(systemd),
    cron: yes('cron'),
    dockerSocket: yes('docker'),
    lxcTools: yes('lxc'),
    qemu: yes('qemu'),
    kvm: yes('kvm'),
    joinedNodeId: /^[0-9a-f-]{36}$/.test(get('joined')) ? get('joined') : null,
  };
}

/** The major version of a `vMAJOR.MINOR.PATCH` string. */
export function nodeMajor(version: string): number {
  return Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
}

/** Refuses a host the agent cannot run on, naming everything that is missing at once. */
export function assertHostUsable(f: SshHostFacts, where: string): void {
  const missing: string[] = [];
  if (f.os !== 'Linux') missing.push(`the agent runs on Linux, and this host runs ${f.os || 'an unknown system'}`);
  if (!['x86_64', 'aarch64', 'arm64'].includes(f.arch)) missing.push(`the architecture ${f.arch || '(unknown)'} is not one berth supports (x86_64, aarch64)`);
  if (f.nodeVersion === null)
    missing.push(
      `Node.js ≥ ${MIN_NODE_MAJOR} is not installed (no \`node\` on the PATH of a non-interactive SSH login); install it, e.g. apt-get install nodejs`,
    );
  else if (nodeMajor(f.nodeVersion) < MIN_NODE_MAJOR) missing.push(`Node.js ${f.nodeVersion} is too old; install Node.js ≥ ${MIN_NODE_MAJOR}`);
  if (f.uid !== 0) missing.push('the agent is installed as root (it drives Docker, LXC and QEMU and installs a service); log in as root');
  if (f.diskFreeBytes !== null && f.diskFreeBytes < MIN_DISK_FREE_BYTES) {
    missing.push(`only ${Math.floor(f.diskFreeBytes / 1048576)} MiB are free under ${INSTALL_DIR}; free at least ${MIN_DISK_FREE_BYTES / 1048576} MiB`);
  }
  if (missing.length) {
    throw new BerthError('FAILED_PRECONDITION', `${where} cannot run a berth agent: ${missing.join('; ')}. Nothing was installed.`, { field: 'host' });
  }
}

/** One line per provider: would it be usable there, and why not (the agent's own probe has the last word once it runs). */
export function providerOutlook(f: SshHostFacts): string[] {
  return [
    f.dockerSocket ? 'docker: usable (/var/run/docker.sock exists)' : 'docker: not usable (no /var/run/docker.sock; install Docker Engine)',
    f.lxcTools ? 'lxc: tools found (lxc-start)' : 'lxc: not usable (no lxc-start; install lxc)',
    f.qemu
      ? `qemu: ${f.kvm ? 'usable with KVM' : 'found, without /dev/kvm (slow emulation)'}`
      : `qemu: not usable (no qemu-system-${f.arch || 'ARCH'}; install qemu-system)`,
  ];
}

/** A one-line summary of the facts, for the operation's log. */
export function describeHost(f: SshHostFacts): string {
  const disk = f.diskFreeBytes === null ? 'unknown' : `${(f.diskFreeBytes / 1073741824).toFixed(1)} GiB`;
  return `${f.hostname || '(no host name)'}: ${f.os} ${f.arch}, Node ${f.nodeVersion ?? 'missing'}, ${disk} free, ${f.systemd ? 'systemd' : 'no systemd'}${f.cron ? ', cron' : ''}`;
}
