import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestSshd, type TestSshd } from '../../src/testing/sshd.js';
import { SshTransport } from '../../src/transport/ssh.js';
import { transportConformance } from './conformance.js';

describe('SshTransport against a real sshd', () => {
  let sshd: TestSshd;
  let transport: SshTransport;

  beforeAll(async () => {
    sshd = await startTestSshd();
    transport = new SshTransport(sshd.clientOptions());
  });
  afterAll(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  transportConformance(
    () => transport,
    () => sshd.scratch,
  );

  test('connectTcp opens a connection from the host, both ways, with half-close', async () => {
    // An echo server that answers only once its client has finished sending.
    const server = createServer((sock) => {
      const got: Buffer[] = [];
      sock.on('data', (d: Buffer) => got.push(d));
      sock.on('end', () => sock.end(Buffer.concat(got).reverse()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const conn = await transport.connectTcp('127.0.0.1', port);
      const payload = randomBytes(200_000);
      const back: Buffer[] = [];
      conn.on('data', (d: Buffer) => back.push(d));
      const ended = new Promise<void>((r) => conn.on('end', r));
      conn.end(payload);
      await ended;
      expect(Buffer.concat(back).equals(Buffer.from(payload).reverse())).toBe(true);
    } finally {
      server.close();
    }
  });

  test('connectTcp to a port nobody listens on is FAILED_PRECONDITION, and the pool stays usable', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(transport.connectTcp('127.0.0.1', port)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining(`Nothing listens on 127.0.0.1:${port}`),
    });
    expect((await transport.run({ cmd: ['true'] })).code).toBe(0);
  });

  test('describes itself as ssh user@host:port', () => {
    expect(transport.description).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}`);
  });

  test('a tty reports its size and follows resize', async () => {
    const s = await transport.exec({ cmd: ['sh', '-c', 'stty size; read line; stty size'], tty: true, cols: 100, rows: 30 });
    let seen = '';
    s.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 10_000;
      while (!seen.includes(text)) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(text)} in ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor('30 100');
    await s.resize(120, 40);
    s.stdin.write('go\n');
    await waitFor('40 120');
    expect(await s.wait()).toBe(0);
    // Through a tty, stderr is merged into stdout and the separate stream stays empty.
  });

  test('a tty sets TERM, and sshd ignores env requests so env still arrives', async () => {
    const r = await transport.run({ cmd: ['sh', '-c', 'printf "%s %s" "$TERM" "$BERTH_Y"'], tty: true, env: { BERTH_Y: 'yes' } });
    expect(r.stdout).toBe('xterm-256color yes');
  });

  test('without a tty, the command has no terminal', async () => {
    const r = await transport.run({ cmd: ['sh', '-c', 'test -t 0 && echo tty || echo notty'] });
    expect(r.stdout).toBe('notty\n');
  });

  test('a missing cwd fails the command, not the transport', async () => {
    const r = await transport.run({ cmd: ['true'], cwd: '/berth/no/such/dir' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/berth\/no\/such\/dir/);
  });
});
