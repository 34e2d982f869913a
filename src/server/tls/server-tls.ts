/**
 * The server's TLS material in the data dir, under tls/: ca.pem, ca-key.pem, server.pem and
 * server-key.pem (keys 0600, the folder 0700). Made on first start, reused afterwards; the
 * serving certificate is issued again when the names it must cover change, when it was not
 * signed by the CA on disk, or when it expires within 30 days. An operator's own certificate
 * (`--tls-cert/--tls-key`, optionally `--tls-ca`) is used as given and nothing is written.
 */

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../api/index.js';
import { type CertAndKey, certNames, createCa, fingerprintOfPem, issueServerCert } from './certs.js';

/** What the HTTPS listener and the CA route need. */
export interface ServerTls {
  /** Serving certificate (chain) and key, PEM. */
  cert: string;
  key: string;
  /** The certificate clients pin: the CA's (or the operator's --tls-ca, or their leaf). */
  caPem: string;
  /** Its fingerprint, `sha256:` + hex. */
  fingerprint: string;
  /** True when the server made the CA itself. */
  ownCa: boolean;
  /** True when the serving certificate was (re)issued on this start. */
  issued: boolean;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeSecretAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

function damaged(file: string, err: unknown): BerthError {
  return new BerthError(
    'FAILED_PRECONDITION',
    `The TLS file ${file} cannot be used (${(err as Error).message}); restore it from a backup, or move the tls/ folder away to make a new CA (every node and user must then pin the new fingerprint).`,
    {
      field: 'data-dir',
      cause: err,
    },
  );
}

/** Loads the server's own CA and serving certificate, making or re-issuing what is missing or stale. */
export async function ensureOwnTls(dataDir: string, names: readonly string[], label: string): Promise<ServerTls> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };

  let ca: CertAndKey;
  const [caCert, caKey] = [await readIfExists(files.ca), await readIfExists(files.caKey)];
  if (caCert && caKey) {
    ca = { cert: caCert, key: caKey };
    try {
      new X509Certificate(caCert);
      createPrivateKey(caKey);
    } catch (err) {
      throw damaged(caCert ? files.caKey : files.ca, err);
    }
  } else if (caCert || caKey) {
    // Half a CA is never completed with a new half: that would silently change the fingerprint.
    throw damaged(caCert ? files.caKey : files.ca, new Error('its partner file is missing'));
  } else {
    ca = await createCa(label);
    // The key first: a crash between the two writes leaves a key without a certificate, which
    // the check above reports rather than pairing a certificate with a different key.
    await writeSecretAtomic(files.caKey, ca.key, 0o600);
    await writeSecretAtomic(files.ca, ca.cert, 0o644);
  }

  const wanted = [...names].sort();
  const current = await readIfExists(files.cert);
  const currentKey = await readIfExists(files.key);
  let issued = false;
  let serving: CertAndKey | null = current && currentKey ? { cert: current, key: currentKey } : null;
  if (!serving || !stillGood(serving, ca.cert, wanted)) {
    serving = await issueServerCert(ca, wanted);
    await writeSecretAtomic(files.key, serving.key, 0o600);
    await writeSecretAtomic(files.cert, serving.cert, 0o644);
    issued = true;
  }
  // The chain ends with the CA, so a client that pins it can also read it off the handshake.
  return { cert: serving.cert + ca.cert, key: serving.key, caPem: ca.cert, fingerprint: fingerprintOfPem(ca.cert), ownCa: true, issued };
}

function stillGood(serving: CertAndKey, caPem: string, wanted: string[]): boolean {
  try {
    const cert = new X509Certificate(serving.cert);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(serving.key))) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    const have = certNames(serving.cert);
    return have.length === wanted.length && have.every((n, i) => n === wanted[i]);
  } catch {
    return false;
  }
}

/** Loads an operator's certificate, key and (optional) CA; the pinned certificate is the CA, else the leaf. */
export async function loadOperatorTls(certFile: string, keyFile: string, caFile?: string): Promise<ServerTls> {
  const read = async (file: string, field: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new BerthError('FAILED_PRECONDITION', `Cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check --${field}.`, {
        field,
        cause: err,
      });
    }
  };
  const cert = await read(certFile, 'tls-cert');
  const key = await read(keyFile, 'tls-key');
  const caPem = caFile ? await read(caFile, 'tls-ca') : null;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new BerthError('INVALID_ARGUMENT', `${certFile} is not a PEM certificate (${(err as Error).message}).`, { field: 'tls-cert', cause: err });
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new BerthError('INVALID_ARGUMENT', `${keyFile} cannot serve ${certFile}: ${(err as Error).message}.`, { field: 'tls-key', cause: err });
  }
  let pinned = cert.slice(0, cert.indexOf('-----END CERTIFICATE-----') + 25) + '\n';
  if (caPem) {
    try {
      new X509Certificate(caPem);
    } catch (err) {
      throw new BerthError('INVALID_ARGUMENT', `${caFile} is not a PEM certificate (${(err as Error).message}).`, { field: 'tls-ca', cause: err });
    }
    pinned = caPem;
  }
  return { cert, key, caPem: pinned, fingerprint: fingerprintOfPem(pinned), ownCa: false, issued: false };
}
