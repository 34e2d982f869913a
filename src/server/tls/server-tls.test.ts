/** The server's own CA and serving certificate: made once, reused, re-issued when names change; and real TLS handshakes against them. */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeFingerprint } from '../../api/index.js';
import { certNames, createCa, fingerprintOfPem, issueServerCert } from './certs.js';
import { isLoopbackHost, serverNames } from './names.js';
import { ensureOwnTls, loadOperatorTls } from './server-tls.js';

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-tls-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Completes one TLS handshake to a server with `served`, trusting only `ca`; resolves with the error code or 'ok'. */
async function handshake(served: { cert: string; key: string }, ca: string, servername: string): Promise<string> {
  const server = createTlsServer({ cert: served.cert, key: served.key }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: true }, () => {
        s.end();
        resolve('ok');
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

describe('server TLS material', () => {
  it('makes a P-256 CA and a serving cert with the names, keys 0600, and a working chain', async () => {
    const dir = await dataDir();
    const tls = await ensureOwnTls(dir, ['localhost', '127.0.0.1', 'berth.test'], 'test');
    expect(tls.issued).toBe(true);
    const ca = new X509Certificate(tls.caPem);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(certNames(tls.cert)).toEqual(['127.0.0.1', 'berth.test', 'localhost']);
    for (const f of ['ca-key.pem', 'server-key.pem']) expect((await stat(join(dir, 'tls', f))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'tls'))).mode & 0o777).toBe(0o700);
    expect(normalizeFingerprint(tls.fingerprint)).toBe(tls.fingerprint);
    expect(await handshake(tls, tls.caPem, 'berth.test')).toBe('ok');
    expect(await handshake(tls, tls.caPem, 'other.test')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('reuses CA and serving cert on restart, and re-issues only the serving cert when names change', async () => {
    const dir = await dataDir();
    const first = await ensureOwnTls(dir, ['localhost'], 'test');
    const again = await ensureOwnTls(dir, ['localhost'], 'test');
    expect(again.issued).toBe(false);
    expect(again.cert).toBe(first.cert);
    const renamed = await ensureOwnTls(dir, ['localhost', '10.1.2.3'], 'test');
    expect(renamed.issued).toBe(true);
    expect(renamed.fingerprint).toBe(first.fingerprint);
    expect(certNames(renamed.cert)).toEqual(['10.1.2.3', 'localhost']);
  });

  it('re-issues a serving cert that another CA signed, and refuses half a CA', async () => {
    const dir = await dataDir();
    const mine = await ensureOwnTls(dir, ['localhost'], 'test');
    const other = await createCa('other');
    const foreign = await issueServerCert(other, ['localhost']);
    await writeFile(join(dir, 'tls', 'server.pem'), foreign.cert);
    await writeFile(join(dir, 'tls', 'server-key.pem'), foreign.key);
    const fixed = await ensureOwnTls(dir, ['localhost'], 'test');
    expect(fixed.issued).toBe(true);
    expect(await handshake(fixed, mine.caPem, 'localhost')).toBe('ok');
    await rm(join(dir, 'tls', 'ca-key.pem'));
    await expect(ensureOwnTls(dir, ['localhost'], 'test')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', field: 'data-dir' });
  });

  it('a client pinning one CA refuses a server of another', async () => {
    const a = await ensureOwnTls(await dataDir(), ['localhost'], 'a');
    const b = await ensureOwnTls(await dataDir(), ['localhost'], 'b');
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(await handshake(b, a.caPem, 'localhost')).not.toBe('ok');
  });

  it('operator certs: pins the given CA, else the leaf; refuses a key of another cert', async () => {
    const dir = await dataDir();
    const ca = await createCa('op');
    const leaf = await issueServerCert(ca, ['localhost']);
    const files = { cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), ca: join(dir, 'ca.pem'), otherKey: join(dir, 'o.pem') };
    await writeFile(files.cert, leaf.cert);
    await writeFile(files.key, leaf.key);
    await writeFile(files.ca, ca.cert);
    await writeFile(files.otherKey, (await issueServerCert(ca, ['x'])).key);
    expect((await loadOperatorTls(files.cert, files.key, files.ca)).fingerprint).toBe(fingerprintOfPem(ca.cert));
    expect((await loadOperatorTls(files.cert, files.key)).fingerprint).toBe(fingerprintOfPem(leaf.cert));
    await expect(loadOperatorTls(files.cert, files.otherKey)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'tls-key' });
    await expect(loadOperatorTls(join(dir, 'missing.pem'), files.key)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', field: 'tls-cert' });
    expect(await readFile(files.cert, 'utf8')).toBe(leaf.cert);
  });
});

describe('server names', () => {
  it('a specific listen host, the machine name and loopback; advertised names added', () => {
    expect(serverNames('10.0.0.5', 'Box', ['berth.example.com'], {})).toEqual(['10.0.0.5', '127.0.0.1', '::1', 'berth.example.com', 'box', 'localhost']);
  });

  it('a wildcard listen adds non-loopback, non-link-local interface addresses', () => {
    const ifs = {
      eth0: [
        { address: '192.168.1.9', family: 'IPv4', internal: false },
        { address: 'fe80::1', family: 'IPv6', internal: false },
      ],
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    } as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
    expect(serverNames('0.0.0.0', 'box', [], ifs)).toEqual(['127.0.0.1', '192.168.1.9', '::1', 'box', 'localhost']);
  });

  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });
});
