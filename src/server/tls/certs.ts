/**
 * The server's own certificate authority and serving certificate, made with @peculiar/x509 on
 * Node's WebCrypto: ECDSA P-256 keys, SHA-256 signatures. The CA lives ten years and may sign
 * only end-entity certificates (path length 0); a serving certificate lives a year and names
 * the server's host names and addresses in its subject alternative names.
 */
import 'reflect-metadata';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { fingerprintFromSha256Hex } from '../../api/index.js';

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate and its private key, both PEM (the key as PKCS#8). */
export interface CertAndKey {
  cert: string;
  key: string;
}

function serial(): string {
  // 16 random bytes with the top bit clear, so the DER integer stays positive.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  return Buffer.from(b).toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

/** Makes a new self-signed CA. `label` goes into its common name so operators can tell servers apart. */
export async function createCa(label: string): Promise<CertAndKey> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=berth CA ${label.replace(/[,=+<>#;\\"]/g, '_')}, O=berth`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** Issues a serving certificate for `names` (host names and IP addresses), signed by the CA. */
export async function issueServerCert(ca: CertAndKey, names: readonly string[]): Promise<CertAndKey> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const caCert = new x509.X509Certificate(ca.cert);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${(names[0] ?? 'berth').replace(/[,=+<>#;\\"]/g, '_')}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    signingKey: await importSigningKey(ca.key),
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** The fingerprint of a PEM certificate: `sha256:` + hex of its DER. */
export function fingerprintOfPem(pem: string): string {
  return fingerprintFromSha256Hex(createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'));
}

/** The names a certificate covers, as `dns` and `ip` strings in one sorted list. */
export function certNames(pem: string): string[] {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return san
    .split(', ')
    .map((part) => /^(?:DNS|IP Address):(.+)$/.exec(part)?.[1])
    .filter((n): n is string => !!n)
    .map(canonicalName)
    .sort();
}

/** One spelling per name: lower case, IPv6 as Node prints it. */
export function canonicalName(name: string): string {
  if (isIP(name) === 6) return new URL(`http://[${name}]/`).hostname.slice(1, -1);
  return name.toLowerCase();
}
