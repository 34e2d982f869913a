import { describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { accelOverride, pickMachine } from './accel.js';
import { checkSocketPath, isWorkspaceQemu, kernelCmdline, qemuArgs, qemuOptValue, tscKhzFromCpuinfo, vmPaths, vmSize } from './config.js';
import { makeHandle, parseMeta, readHandle } from './handle.js';

const host = { cpus: 4, memoryBytes: 8 * 1024 ** 3 };

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).field;
  }
  throw new Error('expected a BerthError');
}

describe('vmSize', () => {
  it('defaults to 1 vCPU and 512 MiB, and converts memory to MiB', () => {
    expect(vmSize({ cpus: null, memoryBytes: null }, host)).toEqual({ cpus: 1, memoryMiB: 512 });
    expect(vmSize({ cpus: 2, memoryBytes: 256 * 1024 ** 2 }, host)).toEqual({ cpus: 2, memoryMiB: 256 });
  });
  it('refuses fractional or too many vCPUs and too little or too much memory, naming the field', () => {
    expect(fieldOf(() => vmSize({ cpus: 1.5, memoryBytes: null }, host))).toBe('cpus');
    expect(fieldOf(() => vmSize({ cpus: 8, memoryBytes: null }, host))).toBe('cpus');
    expect(fieldOf(() => vmSize({ cpus: 1, memoryBytes: 64 * 1024 ** 2 }, host))).toBe('memory');
    expect(fieldOf(() => vmSize({ cpus: 1, memoryBytes: 64 * 1024 ** 3 }, host))).toBe('memory');
  });
});

describe('vmPaths', () => {
  it('keeps every file in the workspace directory', () => {
    const p = vmPaths('/state/qemu', 'ws1');
    expect(p.dir).toBe('/state/qemu/ws1');
    for (const f of [p.meta, p.overlay, p.home, p.seed, p.pid, p.qmp, p.console, p.port, p.clientKey]) expect(f.startsWith('/state/qemu/ws1/')).toBe(true);
  });
  it('refuses ids that would leave the root', () => {
    expect(fieldOf(() => vmPaths('/state/qemu', '../etc'))).toBe('id');
    expect(fieldOf(() => vmPaths('/state/qemu', 'a/b'))).toBe('id');
  });
  it('refuses a socket path longer than a unix address holds', () => {
    expect(fieldOf(() => checkSocketPath(vmPaths(`/${'x'.repeat(100)}`, 'ws1')))).toBe('state-dir');
    expect(() => checkSocketPath(vmPaths('/var/lib/berth-agent/qemu', 'ws1'))).not.toThrow();
  });
});

describe('qemuArgs', () => {
  const base = { paths: vmPaths('/s/qemu', 'ws1'), name: 'berth-demo', cpus: 2, memoryMiB: 256, kernel: '/k', initrd: '/i', sshPort: 2222 };
  it('boots microvm with MMIO virtio devices, loopback-only port forward, QMP socket and pid file', () => {
    const args = qemuArgs({ ...base, machine: 'microvm', accel: 'tcg', tscKhz: 2_600_000 });
    const joined = args.join(' ');
    expect(joined).toContain('-M microvm,');
    expect(joined).toContain('-accel tcg');
    expect(joined).not.toContain('-cpu host');
    expect(joined).toContain('-smp 2 -m 256M');
    expect(joined).toContain('virtio-blk-device,drive=root');
    expect(joined).toContain('hostfwd=tcp:127.0.0.1:2222-:22');
    expect(joined).toContain('-qmp unix:/s/qemu/ws1/qmp,server=on,wait=off');
    expect(joined).toContain('-daemonize -pidfile /s/qemu/ws1/qemu.pid');
    expect(args[args.indexOf('-append') + 1]).toContain('tsc_early_khz=2600000');
    expect(joined).toContain('id=seed,file=/s/qemu/ws1/seed.img,format=raw,if=none,readonly=on');
  });
  it('doubles commas in option values, so a path cannot add options of its own', () => {
    const paths = vmPaths('/s,format=raw,x=/qemu', 'ws1');
    const args = qemuArgs({ ...base, paths, machine: 'microvm', accel: 'tcg' });
    const root = args.find((a) => a.startsWith('id=root,'))!;
    expect(root).toBe('id=root,file=/s,,format=raw,,x=/qemu/ws1/overlay.qcow2,format=qcow2,if=none,discard=unmap');
    expect(args[args.indexOf('-qmp') + 1]).toBe('unix:/s,,format=raw,,x=/qemu/ws1/qmp,server=on,wait=off');
    expect(qemuOptValue('a,b,,c')).toBe('a,,b,,,,c');
  });
  it('uses PCI devices on q35 and the host CPU under KVM, without a TSC hint', () => {
    const args = qemuArgs({ ...base, machine: 'q35', accel: 'kvm', tscKhz: 2_600_000 });
    expect(args.join(' ')).toContain('virtio-net-pci,netdev=net0');
    expect(args.join(' ')).toContain('-cpu host');
    expect(args[args.indexOf('-append') + 1]).not.toContain('tsc_early_khz');
  });
  it('recognises its own QEMU process by the pid file in the command line', () => {
    const paths = vmPaths('/s/qemu', 'ws1');
    const argv = ['/usr/bin/qemu-system-x86_64', ...qemuArgs({ ...base, machine: 'microvm', accel: 'tcg' })].join('\0');
    expect(isWorkspaceQemu(argv, paths)).toBe(true);
    expect(isWorkspaceQemu(argv, vmPaths('/s/qemu', 'ws2'))).toBe(false);
    expect(isWorkspaceQemu(['sleep', '/s/qemu/ws1/qemu.pid'].join('\0'), paths)).toBe(false);
  });
});

describe('host facts', () => {
  it('reads the TSC rate from cpuinfo', () => {
    expect(tscKhzFromCpuinfo('processor\t: 0\ncpu MHz\t\t: 2596.146\n')).toBe(2_596_146);
    expect(tscKhzFromCpuinfo('processor\t: 0\n')).toBeNull();
    expect(kernelCmdline('tcg', null)).not.toContain('tsc_early_khz');
  });
  it('picks microvm when QEMU has it, q35 otherwise, and honours overrides', () => {
    expect(pickMachine('microvm              microvm (i386)\nq35   Standard PC\n')).toBe('microvm');
    expect(pickMachine('q35   Standard PC\n')).toBe('q35');
    expect(pickMachine('microvm   microvm (i386)\n', 'q35')).toBe('q35');
  });
  it('takes BERTH_QEMU_ACCEL as an override, with the reason when it turns KVM off', () => {
    expect(accelOverride('tcg')).toEqual({ accel: 'tcg', kvmReason: expect.stringContaining('BERTH_QEMU_ACCEL') });
    expect(accelOverride('kvm')).toEqual({ accel: 'kvm' });
    expect(accelOverride(undefined)).toBeNull();
  });
});

describe('handles and workspace.json', () => {
  it('round-trips a handle and refuses other kinds', () => {
    const h = makeHandle('ws1', { dir: '/s/qemu/ws1' });
    expect(readHandle(h)).toEqual({ dir: '/s/qemu/ws1' });
    expect(() => readHandle({ ...h, kind: 'docker' })).toThrow(BerthError);
    expect(() => readHandle({ ...h, version: 99 })).toThrow(/newer berth agent/);
  });
  it('parses a complete workspace.json and rejects a partial one', () => {
    const meta = {
      workspaceId: 'ws1',
      nodeId: 'n',
      name: 'demo',
      image: 'vm',
      disk: '/d',
      kernel: '/k',
      initrd: '/i',
      cpus: 1,
      memoryMiB: 256,
      env: { A: '1' },
      hostFingerprint: 'SHA256:x',
      createdAt: 'now',
    };
    expect(parseMeta(JSON.stringify(meta))).toEqual(meta);
    expect(parseMeta(JSON.stringify({ ...meta, cpus: undefined }))).toBeNull();
    expect(parseMeta('not json')).toBeNull();
  });
});

describe('newKeyPair', () => {
  it('only hands out well-formed ed25519 keys (ssh2 sometimes makes malformed ones)', async () => {
    const { newKeyPair } = await import('./host.js');
    const ssh2 = (await import('ssh2')).default;
    for (let i = 0; i < 500; i++) {
      const k = newKeyPair(`t${i}`);
      expect(ssh2.utils.parseKey(k.publicKey)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(k.privateKey)).not.toBeInstanceOf(Error);
      expect(k.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
  });
});
