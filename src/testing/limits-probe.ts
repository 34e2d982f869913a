/**
 * Reading a workspace's CPU and memory limits from inside it, the same way for every provider:
 * cgroup v2 (cpu.max, memory.max), cgroup v1 (cfs quota, limit_in_bytes), and for virtual
 * machines — whose cgroup root has no limit — the CPUs and memory the guest kernel sees.
 */

/** A POSIX sh script that prints what limits-probe parses; needs only cat, awk and nproc or /proc. */
export const LIMITS_PROBE_SCRIPT = [
  'if [ -f /sys/fs/cgroup/cpu.max ]; then',
  '  echo "cpu $(cat /sys/fs/cgroup/cpu.max)"; echo "mem $(cat /sys/fs/cgroup/memory.max 2>/dev/null)"',
  'elif [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then',
  '  echo "cpu $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
  '  echo "mem $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"',
  'fi',
  'echo "nproc $(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)"',
  'echo "memtotal $(awk \'/^MemTotal:/ {print $2 * 1024}\' /proc/meminfo)"',
].join('\n');

/** Limits as seen inside a workspace; null when nothing limits it below the machine it sees. */
export interface EffectiveLimits {
  cpus: number;
  memoryBytes: number;
  /** Where the numbers came from: the cgroup, or the (virtual) machine itself. */
  cpuSource: 'cgroup' | 'machine';
  memorySource: 'cgroup' | 'machine';
}

/**
 * Parses the probe's output. cgroup v1 reports "no limit" as -1 (cpu) or a huge page-rounded
 * number (memory), v2 as "max"; in those cases the machine's own size is the limit.
 */
export function parseLimitsProbe(output: string): EffectiveLimits {
  const fields = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key) fields.set(key, rest);
  }
  const nproc = Number(fields.get('nproc')?.[0]);
  const memtotal = Number(fields.get('memtotal')?.[0]);
  let cpus = nproc;
  let cpuSource: EffectiveLimits['cpuSource'] = 'machine';
  const [quota, period] = fields.get('cpu') ?? [];
  if (quota !== undefined && quota !== 'max' && Number(quota) > 0 && Number(period) > 0) {
    cpus = Number(quota) / Number(period);
    cpuSource = 'cgroup';
  }
  let memoryBytes = memtotal;
  let memorySource: EffectiveLimits['memorySource'] = 'machine';
  const mem = fields.get('mem')?.[0];
  // v1's "unlimited" is close to 2^63; anything at or above the machine's memory is no limit either.
  if (mem !== undefined && mem !== 'max' && Number(mem) > 0 && Number(mem) < memtotal) {
    memoryBytes = Number(mem);
    memorySource = 'cgroup';
  }
  return { cpus, memoryBytes, cpuSource, memorySource };
}
