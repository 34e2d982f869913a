/**
 * Choosing the accelerator and machine type. KVM counts as usable only when a real kernel
 * boots under it to its first panic within a few seconds: on some hosts /dev/kvm exists and
 * a VM starts, then hangs in the kernel's first instructions. The verdict is cached in the
 * state dir per host boot, QEMU version and kernel, so agent restarts do not pay the timeout.
 */
import { join } from 'node:path';
import { BerthError } from '../../api/index.js';
import type { Transport } from '../../transport/index.js';
import { type Accel, type Machine, QEMU_BINARY } from './config.js';

/** How long a test boot under KVM may take before KVM counts as hanging. */
export const KVM_PROBE_TIMEOUT_MS = 8000;

/** What the accelerator probe decided. */
export interface AccelVerdict {
  accel: Accel;
  /** Why KVM is not used; absent when it is. */
  kvmReason?: string;
}

/** Decides from the environment override, if any: BERTH_QEMU_ACCEL=kvm|tcg. */
export function accelOverride(value: string | undefined): AccelVerdict | null {
  if (value === 'tcg') return { accel: 'tcg', kvmReason: 'turned off by BERTH_QEMU_ACCEL=tcg' };
  if (value === 'kvm') return { accel: 'kvm' };
  return null;
}

/** Picks microvm when this QEMU has it (from `-machine help`), else q35; BERTH_QEMU_MACHINE overrides. */
export function pickMachine(machineHelp: string, override?: string): Machine {
  if (override === 'q35' || override === 'microvm') return override;
  return /^microvm\s/m.test(machineHelp) ? 'microvm' : 'q35';
}

/** Boots `kernel` under KVM with no disk: a working KVM reaches the "no root" panic and exits. */
async function bootTest(t: Transport, kernel: string): Promise<AccelVerdict> {
  const exists = await t.run({ cmd: ['test', '-c', '/dev/kvm'] });
  if (exists.code !== 0)
    return { accel: 'tcg', kvmReason: '/dev/kvm does not exist (enable virtualisation in the firmware or the hypervisor, and load kvm_intel or kvm_amd)' };
  const args = ['-M', 'microvm,x-option-roms=off,isa-serial=on,rtc=on', '-accel', 'kvm', '-m', '128M', '-smp', '1'];
  args.push('-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-serial', 'none');
  args.push('-kernel', kernel, '-append', 'console=ttyS0 quiet panic=-1 reboot=t');
  try {
    const r = await t.run({ cmd: [QEMU_BINARY, ...args], timeoutMs: KVM_PROBE_TIMEOUT_MS });
    if (r.code === 0) return { accel: 'kvm' };
    const why = r.stderr.trim().split('\n').pop() ?? `exit code ${r.code}`;
    return { accel: 'tcg', kvmReason: `a test boot under KVM failed (${why})` };
  } catch (err) {
    if (err instanceof BerthError && err.code === 'TIMEOUT') {
      return {
        accel: 'tcg',
        kvmReason: `a test boot under KVM hung for ${KVM_PROBE_TIMEOUT_MS / 1000} s (KVM is broken on this host, e.g. nested virtualisation)`,
      };
    }
    throw err;
  }
}

/** Probes KVM once per (host boot, QEMU version, kernel), caching the verdict in `cacheRoot/accel.json`. */
export async function probeAccel(t: Transport, opts: { cacheRoot: string; kernel: string; qemuVersion: string }): Promise<AccelVerdict> {
  const forced = accelOverride(process.env.BERTH_QEMU_ACCEL);
  if (forced) return forced;
  const bootId = (await t.readFile('/proc/sys/kernel/random/boot_id').catch(() => Buffer.from('unknown'))).toString().trim();
  const key = `${bootId}|${opts.qemuVersion}|${opts.kernel}`;
  const file = join(opts.cacheRoot, 'accel.json');
  try {
    const cached = JSON.parse((await t.readFile(file)).toString()) as { key?: string; verdict?: AccelVerdict };
    if (cached.key === key && cached.verdict) return cached.verdict;
  } catch {
    // No verdict yet, or an unreadable one: probe again.
  }
  const verdict = await bootTest(t, opts.kernel);
  await t.run({ cmd: ['mkdir', '-p', opts.cacheRoot] });
  // Written aside and renamed, so a concurrent agent never reads half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await t.writeFile(tmp, JSON.stringify({ key, verdict }));
  await t.run({ cmd: ['mv', '-f', tmp, file] });
  return verdict;
}
