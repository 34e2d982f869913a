/**
 * The SSH connection pool against a real sshd: reuse, reconnects, concurrency limits, idle
 * timeouts. Every claim about connections is checked from both sides: our counters, and
 * what sshd saw ($SSH_CLIENT's source port names the connection a command arrived on).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestSshd, type TestSshd } from '../../src/testing/sshd.js';
import { SshTransport, type SshTransportOptions } from '../../src/transport/ssh.js';

/** Runs a command that reports which connection (client port) and which sshd session process served it. */
async function whereServed(t: SshTransport, sleepSeconds = 0): Promise<{ port: string; sshdPid: number }> {
  const r = await t.run({ cmd: ['sh', '-c', `set -- $SSH_CLIENT; echo "$2 $PPID"; sleep ${sleepSeconds}`] });
  expect(r.code).toBe(0);
  const [port, ppid] = r.stdout.trim().split(' ');
  return { port, sshdPid: Number(ppid) };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SSH connection pool', () => {
  let sshd: TestSshd;
  const made: SshTransport[] = [];
  const transport = (extra: Partial<SshTransportOptions> = {}) => {
    const t = new SshTransport({ ...sshd.clientOptions(), ...extra });
    made.push(t);
    return t;
  };

  beforeAll(async () => {
    sshd = await startTestSshd();
  });
  afterEach(async () => {
    await Promise.all(made.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  test('sequential execs share one connection (our dial count and sshd agree)', async () => {
    const t = transport();
    const served = [];
    for (let i = 0; i < 10; i++) served.push(await whereServed(t));
    expect(new Set(served.map((s) => s.port)).size).toBe(1);
    expect(new Set(served.map((s) => s.sshdPid)).size).toBe(1);
    expect(t.stats()).toMatchObject({ dials: 1, connections: 1, activeChannels: 0 });
  });

  test('file operations reuse the pooled connection too', async () => {
    const t = transport();
    await whereServed(t);
    await t.writeFile(`${sshd.scratch}/pooled.txt`, 'x');
    await t.readFile(`${sshd.scratch}/pooled.txt`);
    await whereServed(t);
    expect(t.stats().dials).toBe(1);
  });

  test('a connection killed on the server side is noticed and replaced', async () => {
    const t = transport();
    const before = await whereServed(t);
    sshd.dropConnectionOf(before.sshdPid);
    await until('the pool to notice the drop', () => t.stats().connections === 0);
    const after = await whereServed(t);
    expect(after.port).not.toBe(before.port);
    expect(t.stats()).toMatchObject({ dials: 2, connections: 1 });
  });

  test('an exec right after the server dropped the connection still succeeds', async () => {
    const t = transport();
    const before = await whereServed(t);
    // No waiting: the exec races the drop, and either the pool noticed first or the channel
    // open fails on the dead connection and is retried once on a fresh one.
    sshd.dropConnectionOf(before.sshdPid);
    const after = await whereServed(t);
    expect(after.port).not.toBe(before.port);
    expect(t.stats().dials).toBe(2);
  });

  test('an exec on a connection that died before the pool noticed is retried on a fresh one', async () => {
    const t = transport();
    const before = await whereServed(t);
    const [client] = t.connectionsForTesting();
    // Destroying the socket is immediate, its 'close' event is not: the pool still lists
    // the connection when the next exec leases it, so this exercises the retry path.
    client.destroy();
    expect(t.stats().connections).toBe(1);
    const after = await whereServed(t);
    expect(after.port).not.toBe(before.port);
    expect(t.stats()).toMatchObject({ dials: 2, connections: 1 });
  });

  test('keepalive notices a connection whose server stopped answering', async () => {
    const t = transport({ keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    const before = await whereServed(t);
    // A stopped sshd still has its TCP acknowledged by the kernel: only SSH-level keepalives
    // can tell that nobody is answering.
    sshd.signalConnectionOf(before.sshdPid, 'SIGSTOP');
    try {
      await until('keepalive to declare the connection dead', () => t.stats().connections === 0, 5000);
    } finally {
      sshd.signalConnectionOf(before.sshdPid, 'SIGCONT');
    }
    const after = await whereServed(t);
    expect(after.port).not.toBe(before.port);
    expect(t.stats().dials).toBe(2);
  });

  test('20 concurrent execs (twice MaxSessions) all succeed within the caps', async () => {
    const t = transport();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, t.stats().connections + t.stats().dialing)), 5);
    const served = await Promise.all(Array.from({ length: 20 }, () => whereServed(t, 0.5)));
    clearInterval(sampler);
    const ports = new Set(served.map((s) => s.port));
    // 20 channels at 10 per connection need exactly two connections, and they were all
    // running at once (each sleeps 0.5 s), so sshd must have accepted 10 on each.
    expect(ports.size).toBe(2);
    expect(t.stats().dials).toBe(2);
    expect(peak).toBeLessThanOrEqual(4);
    expect(t.stats().activeChannels).toBe(0);
  });

  test('past the connection cap, execs queue instead of dialling more', async () => {
    const t = transport({ maxConnections: 2, maxChannelsPerConnection: 3 });
    let peakQueued = 0;
    const sampler = setInterval(() => (peakQueued = Math.max(peakQueued, t.stats().queued)), 5);
    const served = await Promise.all(Array.from({ length: 15 }, () => whereServed(t, 0.2)));
    clearInterval(sampler);
    expect(new Set(served.map((s) => s.port)).size).toBe(2);
    expect(t.stats().dials).toBe(2);
    expect(peakQueued).toBeGreaterThan(0);
  });

  test('closing sessions that hold every channel still kills them (the kill does not queue behind them)', async () => {
    const t = transport({ maxConnections: 1, maxChannelsPerConnection: 2 });
    const sessions = await Promise.all([t.exec({ cmd: ['sleep', '60'] }), t.exec({ cmd: ['sleep', '60'] })]);
    for (const s of sessions) s.stdout.resume();
    const started = Date.now();
    for (const s of sessions) s.close();
    expect(await Promise.all(sessions.map((s) => s.wait()))).toEqual([137, 137]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('idle connections are closed after the idle timeout, and the next exec dials again', async () => {
    const t = transport({ idleTimeoutMs: 300 });
    const first = await whereServed(t);
    expect(t.stats().connections).toBe(1);
    await until('the idle connection to close', () => t.stats().connections === 0, 5000);
    // sshd's session process for that connection is gone too.
    await until('sshd to end the connection', () => !processExists(first.sshdPid), 5000);
    await whereServed(t);
    expect(t.stats().dials).toBe(2);
  });

  test('close() ends every connection and later calls fail clearly', async () => {
    const t = transport();
    const served = await whereServed(t);
    await t.close();
    expect(t.stats().connections).toBe(0);
    await until('sshd to end the connection', () => !processExists(served.sshdPid), 5000);
    await expect(t.run({ cmd: ['true'] })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });
});

describe('SSH connection pool against a server with a lower MaxSessions', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startTestSshd({ maxSessions: 3 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  test('refused channels move to other connections instead of failing', async () => {
    // The pool believes 10 channels fit on a connection; sshd says 3. Refusals must mark the
    // connection full and spill over, not surface as errors.
    const t = new SshTransport({ ...sshd.clientOptions(), maxConnections: 3, maxChannelsPerConnection: 10 });
    try {
      const results = await Promise.all(Array.from({ length: 9 }, () => whereServed(t, 0.3)));
      expect(results).toHaveLength(9);
      expect(t.stats().dials).toBeLessThanOrEqual(3);
    } finally {
      await t.close();
    }
  });
});

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
