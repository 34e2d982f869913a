/**
 * Is LXC usable on this node? One POSIX sh script, run through the Transport, gathers every
 * fact in a single round trip (tools, root, cgroups, the bridge, overlay support, the host's
 * size); a pure function turns the facts into a verdict with a reason that says what to do.
 */
import type { ProviderInfo } from '../../api/index.js';
import { quoteArg } from '../../transport/index.js';
import type { BackingStore, CgroupVersion } from './config.js';
import { type BridgeAddress, parseBridgeAddress } from './network.js';
import { INSTALL_ADVICE } from './tools.js';

/** The tools the provider drives; all must be present. */
export const LXC_TOOLS = ['lxc-create', 'lxc-copy', 'lxc-start', 'lxc-attach', 'lxc-stop', 'lxc-destroy', 'lxc-info', 'lxc-ls'];

/** The probe script for a bridge and an lxcpath; `overlay` tests an overlay mount there (skipped when false). */
export function probeScript(bridge: string, lxcPath: string, testOverlay: boolean): string {
  const br = quoteArg(bridge);
  const dir = quoteArg(lxcPath);
  return [
    'echo "uid=$(id -u)"',
    `for t in ${LXC_TOOLS.join(' ')} script; do command -v "$t" >/dev/null 2>&1 || echo "missing=$t"; done`,
    'echo "version=$(lxc-start --version 2>/dev/null)"',
    'echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"',
    'echo "v2controllers=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"',
    '[ -d /sys/fs/cgroup/cpu ] && echo "v1cpu=1"; [ -d /sys/fs/cgroup/memory ] && echo "v1memory=1"',
    '[ -f /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] && echo "memsw=1"',
    `echo "bridgeaddr=$(ip -4 -o addr show dev ${br} 2>/dev/null | head -n1)"`,
    `ip link show dev ${br} 2>/dev/null | head -n1 | grep -q '[<,]UP[,>]' && echo "bridgeup=1"`,
    'echo "cpus=$(nproc 2>/dev/null)"',
    'echo "memory=$(awk \'/^MemTotal:/ {print $2 * 1024}\' /proc/meminfo)"',
    testOverlay
      ? [
          // A real overlay mount in the lxcpath's filesystem: only that says whether clones can be copy-on-write here.
          `mkdir -p ${dir} 2>/dev/null; d=$(mktemp -d ${dir}/.berth-probe-XXXXXX 2>/dev/null) && {`,
          '  mkdir "$d/l" "$d/u" "$d/w" "$d/m"',
          '  if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then umount "$d/m"; echo "overlay=1"; fi',
          '  rm -rf "$d"; }',
        ].join('\n')
      : '',
    'exit 0',
  ].join('\n');
}

/** The node facts a probe found. */
export interface LxcFacts {
  uid: number;
  missing: string[];
  version: string;
  cgroup: CgroupVersion | null;
  /** The controllers berth's limits need are there (cpu and memory). */
  cgroupLimits: boolean;
  memsw: boolean;
  bridgeAddress: BridgeAddress | null;
  bridgeUp: boolean;
  overlay: boolean;
  cpus: number;
  memoryBytes: number;
}

/** Parses the probe script's output. */
export function parseProbe(output: string): LxcFacts {
  const values = new Map<string, string>();
  const missing: string[] = [];
  for (const line of output.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1).trim();
    if (key === 'missing') missing.push(value);
    else values.set(key, value);
  }
  const fs = values.get('cgroupfs') ?? '';
  const v2 = (values.get('v2controllers') ?? '').split(/\s+/);
  const cgroup: CgroupVersion | null = fs === 'cgroup2fs' ? 'v2' : fs === 'tmpfs' ? 'v1' : null;
  const cgroupLimits = cgroup === 'v2' ? v2.includes('cpu') && v2.includes('memory') : values.has('v1cpu') && values.has('v1memory');
  return {
    uid: Number(values.get('uid') ?? -1),
    missing,
    version: values.get('version') ?? '',
    cgroup,
    cgroupLimits,
    memsw: values.has('memsw'),
    bridgeAddress: parseBridgeAddress(values.get('bridgeaddr') ?? ''),
    bridgeUp: values.has('bridgeup'),
    overlay: values.has('overlay'),
    cpus: Number(values.get('cpus')) || 0,
    memoryBytes: Number(values.get('memory')) || 0,
  };
}

/** The backing store workspaces get: overlay clones where the filesystem allows, else plain copies. */
export function chooseBackingStore(facts: Pick<LxcFacts, 'overlay'>, forced?: BackingStore): BackingStore {
  return forced ?? (facts.overlay ? 'overlay' : 'dir');
}

/** Turns facts into the provider's ProviderInfo; unusable ones carry the first problem and its fix. */
export function verdict(facts: LxcFacts, opts: { bridge: string; lxcPath: string; backingStore: BackingStore }): ProviderInfo {
  const details: Record<string, string> = { lxcPath: opts.lxcPath, bridge: opts.bridge };
  if (facts.cgroup) details.cgroup = facts.cgroup;
  if (facts.bridgeAddress) details.bridgeAddress = `${facts.bridgeAddress.address}/${facts.bridgeAddress.prefix}`;
  details.backingStore = opts.backingStore === 'overlay' ? 'overlay (copy-on-write clone)' : 'dir (plain copy)';
  const version = facts.version || undefined;
  const unusable = (reason: string): ProviderInfo => ({ kind: 'lxc', usable: false, reason, version, details });
  const tools = facts.missing.filter((t) => t !== 'script');
  if (tools.length > 0) return unusable(`The LXC tools are not installed on this node (${tools.join(', ')} missing): ${INSTALL_ADVICE}.`);
  if (facts.missing.includes('script'))
    return unusable('`script` (util-linux) is missing, which berth needs for terminals: install it with `apt-get install bsdutils`.');
  if (facts.uid !== 0) return unusable('berth runs LXC workspaces as privileged containers, which needs root: run the agent as root.');
  if (facts.cgroup === null || !facts.cgroupLimits) {
    return unusable(
      'No usable cgroups (cpu and memory controllers) under /sys/fs/cgroup: mount cgroup2 there, or the v1 cpu and memory hierarchies (see docs/providers/lxc.md).',
    );
  }
  if (!facts.bridgeAddress) {
    return unusable(
      `No network bridge ${opts.bridge} with an IPv4 address on this node: create it with \`ip link add ${opts.bridge} type bridge; ip addr add 10.0.3.1/24 dev ${opts.bridge}; ip link set ${opts.bridge} up\`, or start lxc-net (see docs/providers/lxc.md).`,
    );
  }
  if (!facts.bridgeUp) return unusable(`The bridge ${opts.bridge} is down: bring it up with \`ip link set ${opts.bridge} up\`.`);
  return { kind: 'lxc', usable: true, version, details };
}
