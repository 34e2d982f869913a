/**
 * Which names the serving certificate covers. By default: the listen address when it is not a
 * wildcard, this machine's host name, localhost, 127.0.0.1 and ::1, and for a wildcard listen
 * every non-loopback interface address (clients on other machines dial one of those).
 * `--advertise` adds names; nothing is ever dropped for it.
 */
import { networkInterfaces } from 'node:os';
import { canonicalName } from './certs.js';

/** True for addresses that listen on every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

// Loopback hosts are the contract's (agents' metrics listeners need the same test).
export { isLoopbackHost } from '../../api/index.js';

/** The names for a server listening on `listenHost`, plus the advertised ones; sorted and unique. */
export function serverNames(listenHost: string, machineName: string, advertise: readonly string[], interfaces = networkInterfaces()): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  if (machineName) names.add(machineName);
  if (isWildcardHost(listenHost)) {
    for (const list of Object.values(interfaces)) {
      for (const i of list ?? []) {
        // Link-local IPv6 addresses need a zone to be dialled and cannot appear in a certificate.
        if (!i.internal && !(i.family === 'IPv6' && i.address.toLowerCase().startsWith('fe80:'))) names.add(i.address);
      }
    }
  } else {
    names.add(listenHost.replace(/^\[|\]$/g, ''));
  }
  for (const a of advertise) names.add(a);
  return [...new Set([...names].map(canonicalName))].sort();
}
