/**
 * What the SSH commands (`berth ssh`, `config-ssh`, `open`) share: asking the server where its
 * gateway is, pinning its host key in a berth-managed known_hosts file, finding the key to log
 * in with, and the command line that runs this berth again (for ProxyCommand).
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError, type SshGateway } from '../api/index.js';
import type { BerthClient } from '../client/index.js';
import type { CliIO } from './context.js';
import { shellWord } from './ssh-config.js';
import { berthKeyPath } from './ssh-key-file.js';

/** The gateway's address and host key; FAILED_PRECONDITION when the server runs without one. */
export async function fetchGateway(client: BerthClient): Promise<SshGateway> {
  const { ssh } = await client.call('gatewayGet');
  if (!ssh) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      'This server runs without its SSH gateway (--ssh-listen off); ask its admin to start it with --ssh-listen HOST:PORT.',
      { field: 'sshGateway' },
    );
  }
  return ssh;
}

/** berth's own known_hosts file: $XDG_CONFIG_HOME/berth/known_hosts, else ~/.config/berth/known_hosts. */
export function knownHostsPath(io: Pick<CliIO, 'env' | 'home'>): string {
  return join(io.env.XDG_CONFIG_HOME || join(io.home, '.config'), 'berth', 'known_hosts');
}

/** How known_hosts names a host: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Replaces (or adds) the gateway's line in a known_hosts text, keeping the other lines. */
export function upsertKnownHost(existing: string, gw: Pick<SshGateway, 'host' | 'port' | 'hostKey'>): string {
  const name = knownHostsName(gw.host, gw.port);
  const kept = existing.split('\n').filter((l) => l.trim() !== '' && l.split(/\s+/)[0] !== name);
  return [...kept, `${name} ${gw.hostKey}`].join('\n') + '\n';
}

/** Pins the gateway's host key in berth's known_hosts (0600 in a 0700 directory); returns the file. */
export async function pinHostKey(io: Pick<CliIO, 'env' | 'home'>, gw: SshGateway): Promise<string> {
  const file = knownHostsPath(io);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch(() => '');
  const next = upsertKnownHost(existing, gw);
  if (next !== existing) await writeFile(file, next, { mode: 0o600 });
  return file;
}

/** The private key to log in with: `given`, else ~/.ssh/berth_ed25519; FAILED_PRECONDITION when it is missing. */
export async function identityFile(io: Pick<CliIO, 'home'>, given?: string): Promise<string> {
  const file = given ?? berthKeyPath(io.home);
  try {
    await access(file);
  } catch {
    throw new BerthError(
      'FAILED_PRECONDITION',
      given
        ? `No SSH key at ${file}; give the private key file with --identity.`
        : `No SSH key at ${file}; create and register one with \`berth ssh-key generate\`, or name yours with --identity.`,
      { field: 'identity' },
    );
  }
  return file;
}

/** A shell command line that runs this berth: node and the script, as the current process was started. */
export function berthCommandLine(): string {
  const script = process.argv[1];
  return script ? `${shellWord(process.execPath)} ${shellWord(script)}` : 'berth';
}
