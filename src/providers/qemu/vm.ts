/**
 * Booting and stopping one VM: launch QEMU daemonised on a free loopback port (retrying when
 * another process takes the port first), wait until the guest's sshd answers through the
 * pooled SSH transport, and shut down through QMP — ACPI power button first, then `quit`
 * after the timeout, then SIGKILL if QMP itself is gone.
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, type OpContext } from '../../api/index.js';
import { GUEST_READY_LINE } from '../../images/qemu-guest-init.js';
import { SshTransport, type Transport } from '../../transport/index.js';
import { type LaunchConfig, QEMU_BINARY, qemuArgs, type VmPaths } from './config.js';
import { clearRuntime, killQemu, runningPid } from './host.js';
import { QmpClient } from './qmp.js';

/** How long a boot may take until sshd answers; TCG on a busy 2-core machine is slow. */
export const BOOT_TIMEOUT_MS = { kvm: 60_000, tcg: 180_000 } as const;

/** A free TCP port on the node's loopback (the agent runs on the node it manages). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The last lines of the guest's console, for error details. */
export async function consoleTail(t: Transport, paths: VmPaths, lines = 25): Promise<string> {
  const text = (await t.readFile(paths.console).catch(() => Buffer.from(''))).toString('utf8');
  return text.split('\n').slice(-lines).join('\n');
}

/** Starts QEMU for `c` (minus the port, chosen here); returns the port it forwards SSH from. */
export async function launch(t: Transport, c: Omit<LaunchConfig, 'sshPort'>, op: OpContext): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freeLoopbackPort();
    await t.run({ cmd: ['rm', '-f', c.paths.console, c.paths.qmp] });
    op.log(`$ ${QEMU_BINARY} -M ${c.machine} -accel ${c.accel} -smp ${c.cpus} -m ${c.memoryMiB}M ... (ssh on 127.0.0.1:${sshPort})`);
    // -daemonize returns once QEMU has opened its disks, sockets and port forward.
    const r = await t.run({ cmd: [QEMU_BINARY, ...qemuArgs({ ...c, sshPort })], timeoutMs: 60_000 });
    if (r.code === 0) {
      await t.writeFile(c.paths.port, `${sshPort}\n`);
      return sshPort;
    }
    // The port was free a moment ago; someone may have taken it since. Only that is worth retrying.
    if (/host forwarding rule|hostfwd/i.test(r.stderr) && attempt < 4) continue;
    await killQemu(t, c.paths);
    if (r.code === 127)
      throw new BerthError('PROVIDER_UNAVAILABLE', `${QEMU_BINARY} is not installed on this node: install it with \`apt-get install qemu-system-x86\`.`);
    throw new BerthError('INTERNAL', `QEMU could not start the workspace's VM: see the detail, then retry.`, { detail: r.stderr.trim().slice(-2000) });
  }
}

/** The pooled SSH transport that reaches a workspace's guest as root, verifying its host key. */
export function guestTransport(port: number, privateKey: Buffer | string, hostFingerprint: string): SshTransport {
  return new SshTransport({ host: '127.0.0.1', port, username: 'root', privateKey, hostFingerprint, connectTimeoutMs: 10_000, maxChannelsPerConnection: 32 });
}

/** Waits until the guest's sshd runs a command; fails early (with the console) when QEMU exits. */
export async function waitForSsh(t: Transport, paths: VmPaths, guest: SshTransport, timeoutMs: number, op: OpContext): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  op.progress('booting', null);
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 500)) {
    op.signal.throwIfAborted();
    try {
      const r = await guest.run({ cmd: ['true'], timeoutMs: 10_000 });
      if (r.code === 0) return;
      last = `true exited ${r.code}: ${r.stderr}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if ((await runningPid(t, paths)) === null) {
      throw new BerthError('INTERNAL', 'The VM stopped while booting: see the console in the detail.', { detail: await consoleTail(t, paths) });
    }
    if (Date.now() > deadline) {
      const booted = (await consoleTail(t, paths, 200)).includes(GUEST_READY_LINE);
      throw new BerthError(
        'TIMEOUT',
        `The VM's sshd did not answer within ${timeoutMs / 1000} s${booted ? ' although the guest booted' : ''}: see the console in the detail.`,
        {
          detail: `${last}\n${await consoleTail(t, paths)}`,
        },
      );
    }
    await sleep(delay);
  }
}

/** Waits up to `ms` for the workspace's QEMU to exit. */
async function exited(t: Transport, paths: VmPaths, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while ((await runningPid(t, paths)) !== null) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Stops the VM: power button and up to `timeoutMs` for the guest to power off (unless forced), then quit, then SIGKILL. */
export async function shutdown(t: Transport, paths: VmPaths, opts: { timeoutMs: number; force: boolean }, op: OpContext): Promise<void> {
  if ((await runningPid(t, paths)) === null) return clearRuntime(t, paths);
  const qmp = await QmpClient.connect(paths.qmp, 3000).catch(() => null);
  try {
    if (qmp && !opts.force && opts.timeoutMs > 0) {
      op.progress('powering off', null);
      await qmp.execute('system_powerdown').catch(() => {});
      if (await exited(t, paths, opts.timeoutMs)) return await clearRuntime(t, paths);
      op.log(`the guest did not power off within ${opts.timeoutMs} ms; stopping the VM`);
    }
    if (qmp) {
      await qmp.execute('quit').catch(() => {}); // The socket closing is the answer.
      if (await exited(t, paths, 5000)) return await clearRuntime(t, paths);
    }
    await killQemu(t, paths);
  } finally {
    qmp?.close();
  }
}
