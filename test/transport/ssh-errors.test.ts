/** How the SSH transport fails: every failure is a BerthError with a code and a message that says what to check. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestSshd, type TestSshd } from '../../src/testing/sshd.js';
import { SshTransport, SshTransports } from '../../src/transport/ssh.js';

describe('SSH transport failures', () => {
  let sshd: TestSshd;
  let otherKey: Buffer;
  let keyDir: string;

  beforeAll(async () => {
    sshd = await startTestSshd();
    keyDir = mkdtempSync(join(tmpdir(), 'berth-otherkey-'));
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyDir, 'id')]);
    otherKey = readFileSync(join(keyDir, 'id'));
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('a key the server does not know is FAILED_PRECONDITION naming user@host', async () => {
    const t = new SshTransport({ ...sshd.clientOptions(), privateKey: otherKey });
    const err = await t.run({ cmd: ['true'] }).catch((e) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(err.message).toContain(`${sshd.username}@127.0.0.1:${sshd.port}`);
    expect(err.message).toContain('authorized_keys');
    expect(t.stats()).toMatchObject({ connections: 0, activeChannels: 0 });
    await t.close();
  });

  test('a host key other than the expected one is FAILED_PRECONDITION showing what was offered', async () => {
    const t = new SshTransport({ ...sshd.clientOptions(), hostFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    const err = await t.run({ cmd: ['true'] }).catch((e) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(err.message).toContain(sshd.hostFingerprint);
    await t.close();
  });

  test('a hostVerifier sees the OpenSSH fingerprint of the host key', async () => {
    const seen: string[] = [];
    const t = new SshTransport({
      ...sshd.clientOptions(),
      hostFingerprint: undefined,
      hostVerifier: (_key, fingerprint) => {
        seen.push(fingerprint);
        return true;
      },
    });
    expect((await t.run({ cmd: ['true'] })).code).toBe(0);
    expect(seen).toEqual([sshd.hostFingerprint]);
    await t.close();
  });

  test('no host key policy at all is refused up front', () => {
    expect(() => new SshTransport({ ...sshd.clientOptions(), hostFingerprint: undefined })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('an unreadable private key is INVALID_ARGUMENT', () => {
    expect(() => new SshTransport({ ...sshd.clientOptions(), privateKey: 'not a key' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'privateKey' }),
    );
  });

  test('a closed port is INTERNAL and says to check sshd', async () => {
    const port = await closedPort();
    const t = new SshTransport({ ...sshd.clientOptions(), port });
    const err = await t.run({ cmd: ['true'] }).catch((e) => e);
    expect(err).toMatchObject({ code: 'INTERNAL' });
    expect(err.message).toMatch(/refused the connection on port \d+/);
    await t.close();
  });

  describe('against a server that accepts TCP and never speaks', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });

    test('the connect timeout is TIMEOUT', async () => {
      const port = (silent.address() as { port: number }).port;
      const t = new SshTransport({ ...sshd.clientOptions(), port, connectTimeoutMs: 300 });
      const started = Date.now();
      const err = await t.run({ cmd: ['true'] }).catch((e) => e);
      expect(err).toMatchObject({ code: 'TIMEOUT' });
      expect(err.message).toContain('300 ms');
      expect(Date.now() - started).toBeLessThan(5000);
      await t.close();
    });
  });

  test('SshTransports hands out one transport (one pool) per user@host:port and key', async () => {
    const transports = new SshTransports();
    const a = transports.get(sshd.clientOptions());
    const b = transports.get(sshd.clientOptions());
    const c = transports.get({ ...sshd.clientOptions(), privateKey: otherKey });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(a.poolKey).toMatch(new RegExp(`^${sshd.username}@127\\.0\\.0\\.1:${sshd.port}#SHA256:`));
    await a.run({ cmd: ['true'] });
    await b.run({ cmd: ['true'] });
    expect(a.stats().dials).toBe(1);
    await transports.closeAll();
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}
