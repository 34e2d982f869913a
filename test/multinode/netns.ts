/**
 * The network half of the multi-node harness: one Linux bridge per run (in a namespace of its
 * own, see createSwitch), one network namespace per machine joined to it by a veth pair,
 * addresses from 10.77.<run>.0/24 only inside those namespaces (and on this host's veth into
 * the switch, so this host can reach them). Every name holds
 * the run's id, and each run leaves a record in RECORD_DIR so that a run killed before its
 * teardown is cleaned up by the next one. Needs root, `ip` and `tc`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where runs record what they made (under /run: gone after a reboot, like what it records). */
export const RECORD_DIR = '/run/berth-multinode';

/** What one run made, as recorded for a later cleanup. */
export interface RunRecord {
  runId: string;
  ownerPid: number;
  /** This host's end of the veth into the switch namespace. */
  hostLink: string;
  /** The switch namespace (holding the bridge) first, then the server's and the machines'. */
  namespaces: string[];
  /** Processes to kill first (the server's `ip netns exec` parent). */
  pids: number[];
}

/** Runs a command and throws with its stderr when it fails. */
export function must(cmd: string, args: string[], what = `${cmd} ${args.join(' ')}`): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a command, ignoring failure (teardown of things that may already be gone). */
export function attempt(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { encoding: 'utf8' });
}

/** Fails with a clear message when a tool the harness needs is missing or we are not root. */
export function requireHostTools(): void {
  if (process.getuid?.() !== 0) throw new Error('the multi-node harness needs root (network namespaces, bridges, mounts); run the tests as root');
  const tools: Array<[string, string[], string]> = [
    ['ip', ['-V'], 'iproute2'],
    ['tc', ['-V'], 'iproute2'],
    ['unshare', ['--version'], 'util-linux'],
    ['nsenter', ['--version'], 'util-linux'],
    ['ssh-keygen', ['-?'], 'openssh-client'],
  ];
  for (const [tool, args, pkg] of tools) {
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    if (r.error) throw new Error(`${tool} is missing (${r.error.message}); the multi-node harness needs it: apt-get install -y ${pkg}`);
  }
}

/** A fresh run id (6 hex digits) and a /24 not in use by any address on this host or another run. */
export function allocateRun(): { runId: string; subnet: string } {
  const used = must('ip', ['-o', '-4', 'addr', 'show']);
  const others = records().map((r) => r.runId);
  for (let i = 0; i < 50; i++) {
    const runId = randomBytes(3).toString('hex');
    const octet = 1 + (parseInt(runId, 16) % 250);
    const subnet = `10.77.${octet}`;
    if (!used.includes(` ${subnet}.`) && !others.includes(runId)) return { runId, subnet };
  }
  throw new Error('no free 10.77.X.0/24 for the multi-node harness; remove stale bridges (ip -o addr | grep 10.77.)');
}

/** Every run record on this host. */
export function records(): RunRecord[] {
  mkdirSync(RECORD_DIR, { recursive: true });
  const out: RunRecord[] = [];
  for (const f of readdirSync(RECORD_DIR).filter((f) => f.endsWith('.json'))) {
    try {
      out.push(JSON.parse(readFileSync(join(RECORD_DIR, f), 'utf8')) as RunRecord);
    } catch {
      rmSync(join(RECORD_DIR, f), { force: true });
    }
  }
  return out;
}

/** Saves (or updates) a run's record. */
export function writeRecord(r: RunRecord): void {
  mkdirSync(RECORD_DIR, { recursive: true });
  writeFileSync(join(RECORD_DIR, `${r.runId}.json`), JSON.stringify(r));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Tears down runs whose owner process is gone (killed before its own teardown). */
export function cleanStaleRuns(): string[] {
  const cleaned: string[] = [];
  for (const r of records()) {
    if (r.ownerPid !== process.pid && alive(r.ownerPid)) continue;
    teardownRun(r);
    cleaned.push(r.runId);
  }
  return cleaned;
}

/** The pids of every process in a network namespace. */
export function namespacePids(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

/**
 * Removes everything a run made: every process in its namespaces (sshd, the agents their
 * supervisors started, commands run there) is killed, which also frees the machines' tmpfs
 * mounts (they live in mount namespaces those processes hold); then the namespaces (and the
 * veth ends inside them), the bridge, and the record.
 */
export function teardownRun(r: RunRecord): void {
  for (const pid of r.pids) attemptKill(pid);
  // Killing can race with a supervisor restarting its agent: repeat until the namespaces are empty.
  for (let round = 0; round < 20; round++) {
    const pids = r.namespaces.flatMap(namespacePids);
    if (pids.length === 0) break;
    for (const pid of pids) attemptKill(pid);
    spawnSync('sleep', ['0.1']);
  }
  // Deleting a namespace deletes the veth ends in it, and so their peers.
  for (const ns of r.namespaces) attempt('ip', ['netns', 'del', ns]);
  attempt('ip', ['link', 'del', r.hostLink]);
  rmSync(join(RECORD_DIR, `${r.runId}.json`), { force: true });
}

function attemptKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Makes the run's switch: namespace `netNs` holding the bridge, and a veth from this host into
 * it with `<subnet>.254` on this host's end, so the CLI here reaches every machine. The bridge
 * lives in a namespace of its own because Docker turns on br_netfilter and sets the host's
 * FORWARD policy to DROP: a bridge in the host's namespace would have its frames dropped,
 * while a fresh namespace has empty (accepting) tables. Nothing in the host's firewall changes.
 */
export function createSwitch(netNs: string, bridge: string, hostLink: string, subnet: string): void {
  must('ip', ['netns', 'add', netNs]);
  must('ip', ['-n', netNs, 'link', 'add', bridge, 'type', 'bridge']);
  must('ip', ['-n', netNs, 'link', 'set', bridge, 'up']);
  must('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', `${hostLink}b`]);
  must('ip', ['link', 'set', `${hostLink}b`, 'netns', netNs]);
  must('ip', ['-n', netNs, 'link', 'set', `${hostLink}b`, 'master', bridge, 'up']);
  must('ip', ['addr', 'add', `${subnet}.254/24`, 'dev', hostLink]);
  must('ip', ['link', 'set', hostLink, 'up']);
}

/**
 * Makes namespace `ns` with eth0 at `address`/24, plugged into the switch; returns the name of
 * the veth end on the bridge (in `netNs`), which is the machine's link.
 */
export function createNamespace(ns: string, netNs: string, bridge: string, link: string, address: string): string {
  must('ip', ['netns', 'add', ns]);
  must('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}n`]);
  must('ip', ['link', 'set', link, 'netns', netNs]);
  must('ip', ['-n', netNs, 'link', 'set', link, 'master', bridge, 'up']);
  must('ip', ['link', 'set', `${link}n`, 'netns', ns]);
  must('ip', ['-n', ns, 'link', 'set', `${link}n`, 'name', 'eth0']);
  must('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return link;
}
