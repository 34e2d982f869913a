/**
 * The gateway's host key: ed25519, generated once with node:crypto and kept in the data dir
 * (mode 0600) so clients that pinned it keep trusting the server across restarts.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { BerthError } from '../../api/index.js';
import { fingerprintOf } from '../auth/ssh-keys.js';

/** A loaded host key: the private key ssh2 serves with, and its public half as clients see it. */
export interface HostKey {
  /** OpenSSH-format private key, as ssh2's `hostKeys` takes it. */
  privateKey: Buffer;
  /** `ssh-ed25519 AAAA...`, the form known_hosts files hold. */
  publicKey: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** The file name of the host key inside the data dir. */
export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/**
 * Loads the host key from `file`, generating and saving it (0600) the first time. A key that
 * cannot be read, written or parsed is FAILED_PRECONDITION: the server must not quietly make
 * a new key, since every client that pinned the old one would then refuse it.
 */
export async function loadOrCreateHostKey(file: string): Promise<HostKey> {
  let pem: Buffer;
  try {
    pem = await readOrCreate(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Cannot read or create the SSH host key ${file} (${code}); check that this user may read and write the data dir.`,
      {
        field: 'dataDir',
        cause: err,
      },
    );
  }
  try {
    return describeHostKey(pem);
  } catch (err) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The SSH host key ${file} is not a usable OpenSSH private key (${(err as Error).message}); restore it from a backup, or remove it to make a new one (clients that pinned the old key will then refuse the gateway until their known_hosts is updated).`,
      { field: 'dataDir', cause: err },
    );
  }
}

/** The key file's bytes, written first (never overwriting) when there is none. */
async function readOrCreate(file: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    pem = Buffer.from(generateEd25519OpenSsh('berth-gateway'));
    // `wx` never overwrites: a second server racing on the same data dir keeps the first key.
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      pem = await readFile(file);
    });
  }
  return pem;
}

/** Parses an OpenSSH private key and derives its public line and fingerprint. */
export function describeHostKey(privateKey: Buffer): HostKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new BerthError('INVALID_ARGUMENT', `Not an OpenSSH private key: ${key instanceof Error ? key.message : 'no key found'}.`, { field: 'hostKey' });
  }
  const blob = key.getPublicSSH();
  return { privateKey, publicKey: `${key.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) };
}

/**
 * A new ed25519 key in OpenSSH's unencrypted `openssh-key-v1` format. node:crypto makes the
 * key; the encoding is done here because neither node nor ssh2 writes this format, and ssh2
 * does not read PKCS#8 ed25519 keys.
 */
export function generateEd25519OpenSsh(comment: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const str = (b: Buffer | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const publicBlob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  const check = randomBytes(4).readUInt32BE();
  let secret = Buffer.concat([u32(check), u32(check), str('ssh-ed25519'), str(pub), str(Buffer.concat([seed, pub])), str(comment)]);
  // Pad to the cipher block size (8 for "none") with 1, 2, 3, ... as OpenSSH does.
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), str('none'), str('none'), str(''), u32(1), str(publicBlob), str(secret)]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
