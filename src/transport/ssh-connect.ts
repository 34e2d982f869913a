/**
 * Opening one authenticated SSH connection with ssh2: host key verification, key
 * authentication, keepalive, and turning every way a dial can fail into a BerthError whose
 * message says what to check.
 */
import { createHash } from 'node:crypto';
import ssh2, { type Client } from 'ssh2';
import { BerthError } from '../api/errors.js';

// ssh2 is CommonJS and Node only detects some of its named exports; `utils` is not among them.
const { Client: SshClient, utils: sshUtils } = ssh2;

/** Decides whether a host key is the one expected; gets the raw key and its OpenSSH SHA256 fingerprint. */
export type HostVerifier = (key: Buffer, fingerprint: string) => boolean;

/** Everything needed to dial one host. */
export interface SshConnectOptions {
  host: string;
  port: number;
  username: string;
  /** A private key in OpenSSH or PEM format. */
  privateKey: Buffer | string;
  passphrase?: string;
  /** Custom host key check; takes precedence over hostFingerprint. */
  hostVerifier?: HostVerifier;
  /** The expected host key fingerprint as `ssh-keygen -lf` prints it: "SHA256:base64...". */
  hostFingerprint?: string;
  /** Accept any host key. Only for tests against a throwaway sshd: it allows a man in the middle. */
  insecureAcceptAnyHostKey?: boolean;
  /** Time allowed for TCP connect, handshake and authentication together. */
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Unanswered keepalives before the connection is declared dead. */
  keepaliveCountMax: number;
}

/** The OpenSSH-style fingerprint of a public key blob: "SHA256:" + unpadded base64 of its SHA-256. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The fingerprint of a private key's public half; INVALID_ARGUMENT when the key cannot be parsed. */
export function privateKeyFingerprint(privateKey: Buffer | string, passphrase?: string): string {
  const parsed = sshUtils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `The SSH private key could not be read (${key instanceof Error ? key.message : 'no key found'}); give an OpenSSH or PEM private key, and its passphrase if it has one.`,
      { field: 'privateKey' },
    );
  }
  return sshFingerprint(key.getPublicSSH());
}

/** "user@host:port", as messages name an SSH destination. */
export function sshDestination(o: Pick<SshConnectOptions, 'username' | 'host' | 'port'>): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return `${o.username}@${host}:${o.port}`;
}

/** Refuses options that would connect without any host key check. */
export function checkHostKeyPolicy(o: Pick<SshConnectOptions, 'hostVerifier' | 'hostFingerprint' | 'insecureAcceptAnyHostKey'>): void {
  if (!o.hostVerifier && !o.hostFingerprint && !o.insecureAcceptAnyHostKey) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      'Say how to verify the SSH host key: give hostFingerprint (from `ssh-keygen -lf` on the host key) or a hostVerifier.',
      { field: 'hostFingerprint' },
    );
  }
}

/**
 * Dials and authenticates one connection. `closed` is called once when the connection ends
 * after being ready, whoever ended it; errors before ready reject instead.
 */
export function dialSsh(o: SshConnectOptions, closed: () => void): Promise<Client> {
  const destination = sshDestination(o);
  const client = new SshClient();
  let rejectedFingerprint: string | undefined;
  const verify = (key: Buffer): boolean => {
    const fingerprint = sshFingerprint(key);
    const ok = o.hostVerifier ? o.hostVerifier(key, fingerprint) : o.insecureAcceptAnyHostKey || fingerprint === o.hostFingerprint;
    if (!ok) rejectedFingerprint = fingerprint;
    return ok;
  };

  return new Promise<Client>((resolve, reject) => {
    let ready = false;
    client.on('ready', () => {
      ready = true;
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      // After ready, errors are followed by 'close', which is how the pool learns of them.
      // Before ready, the half-open socket is not wanted by anyone: destroy it.
      if (!ready) {
        reject(dialError(err, destination, o, rejectedFingerprint));
        client.destroy();
      }
    });
    client.on('close', () => {
      if (ready) closed();
      else reject(dialError(new Error('connection closed during the handshake'), destination, o, rejectedFingerprint));
    });
    client.connect({
      host: o.host,
      port: o.port,
      username: o.username,
      privateKey: o.privateKey,
      passphrase: o.passphrase,
      hostVerifier: verify,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveIntervalMs,
      keepaliveCountMax: o.keepaliveCountMax,
    });
    // ssh2 writes a packet's length, body and MAC as separate small writes; with Nagle's
    // algorithm on, the tail waits for the peer's delayed ACK (~40 ms) on every request.
    client.setNoDelay(true);
  });
}

/** Maps a failed dial to a code and a message that says what to check. */
function dialError(
  err: Error & { level?: string; code?: string },
  destination: string,
  o: Pick<SshConnectOptions, 'connectTimeoutMs' | 'host' | 'port' | 'username'>,
  rejectedFingerprint: string | undefined,
): BerthError {
  const cause = { cause: err, detail: err.message };
  if (rejectedFingerprint !== undefined) {
    return new BerthError(
      'FAILED_PRECONDITION',
      `The host key of ${destination} (${rejectedFingerprint}) is not the expected one; if the host was reinstalled, update the expected fingerprint, otherwise do not connect: someone may be in between.`,
      cause,
    );
  }
  if (err.level === 'client-authentication') {
    return new BerthError(
      'FAILED_PRECONDITION',
      `SSH refused the key for ${destination}; check that its public key is in ~${o.username}/.ssh/authorized_keys on ${o.host} and that sshd allows ${o.username} to log in with a key.`,
      cause,
    );
  }
  if (err.level === 'client-timeout') {
    return new BerthError(
      'TIMEOUT',
      `No SSH session with ${destination} within ${o.connectTimeoutMs} ms; check that the host is up, that port ${o.port} reaches sshd, and that no firewall drops the traffic.`,
      cause,
    );
  }
  if (err.code === 'ECONNREFUSED') {
    return new BerthError('INTERNAL', `${o.host} refused the connection on port ${o.port}; check that sshd runs there and listens on that port.`, cause);
  }
  if (err.level === 'client-dns') {
    return new BerthError('INTERNAL', `The host name ${o.host} could not be resolved; check the spelling or use an IP address.`, cause);
  }
  return new BerthError('INTERNAL', `Could not open an SSH session with ${destination}: ${err.message}. Check the host and its sshd log.`, cause);
}
