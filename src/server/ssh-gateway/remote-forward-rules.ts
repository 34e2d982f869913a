/**
 * Pure rules for `tcpip-forward` / `cancel-tcpip-forward` (`ssh -R`): which requests are
 * taken, and where in the workspace the listener binds. Kept apart from the plumbing so that
 * hostile requests can be fuzzed without a connection.
 *
 * Bind addresses, as sshd with `GatewayPorts no` for the ones it maps, and as
 * `GatewayPorts clientspecified` for explicit addresses (a workspace is private to its owner,
 * and any service there may listen on every interface anyway):
 * - empty (what `ssh -R PORT:…` and `-R '*:PORT:…'` send), `localhost`, `127.0.0.1` → loopback;
 * - `::1`, `ip6-localhost` → IPv6 loopback;
 * - any other IP address (`0.0.0.0`, `::`, an interface's address) → bound as given;
 * - host names → refused (the listener is inside the workspace; its DNS is not the client's).
 * Ports below 1024 are not refused here: the bind happens inside the workspace as its user,
 * so the workspace decides, as the kernel would for sshd's own user.
 */
import { isIP } from 'node:net';

/** At most this many remote forwards per SSH connection: each is a process in the workspace. */
export const MAX_REMOTE_FORWARDS = 32;
/** Longest bind address accepted (a host name's limit). */
const MAX_BIND_ADDR = 255;

/** A forward the client asked for. */
export interface ForwardSpec {
  /** The address as the client sent it: forwarded-tcpip channels must carry it back unchanged. */
  bindAddr: string;
  /** The address the listener binds inside the workspace. */
  listenAddr: string;
  /** The port asked for; 0 means "any free port" (the bound one goes back in the reply). */
  port: number;
}

/** A request that is refused, and why (logged by the server; ssh only says "failed"). */
export interface Refusal {
  refused: string;
}

/** The listen address for a requested bind address, or null when it is refused. */
export function listenAddressFor(bindAddr: string): string | null {
  const a = bindAddr.toLowerCase();
  if (a === '' || a === '*' || a === 'localhost' || a === '127.0.0.1') return '127.0.0.1';
  if (a === '::1' || a === 'ip6-localhost') return '::1';
  // Scoped IPv6 addresses (fe80::1%eth0) name the workspace's interfaces; not offered.
  return isIP(a) !== 0 && !a.includes('%') ? a : null;
}

/** Checks one tcpip-forward or cancel-tcpip-forward payload as ssh2 parsed it. */
export function parseForwardRequest(info: unknown): ForwardSpec | Refusal {
  if (typeof info !== 'object' || info === null) return { refused: 'malformed request' };
  const { bindAddr, bindPort } = info as { bindAddr?: unknown; bindPort?: unknown };
  if (typeof bindAddr !== 'string' || bindAddr.length > MAX_BIND_ADDR) return { refused: 'malformed bind address' };
  if (typeof bindPort !== 'number' || !Number.isInteger(bindPort) || bindPort < 0 || bindPort > 65535)
    return { refused: `port ${String(bindPort)} is not from 0 to 65535` };
  const listenAddr = listenAddressFor(bindAddr);
  if (listenAddr === null) return { refused: `bind address "${bindAddr}" is not localhost or an IP address` };
  return { bindAddr, listenAddr, port: bindPort };
}

/** The key a forward is known by on its connection: the address as sent and a port. */
export function forwardKey(bindAddr: string, port: number): string {
  return `${bindAddr.toLowerCase()}\n${port}`;
}

/** One forward a connection holds: the port asked for and the port bound (equal unless 0 was asked). */
export interface HeldForward {
  bindAddr: string;
  requestedPort: number;
  boundPort: number;
}

/**
 * Which held forward a cancel names: OpenSSH cancels a port-0 forward by the port it was
 * given, other clients by the port they asked for, so either matches.
 */
export function findForCancel<T extends HeldForward>(held: Iterable<T>, bindAddr: string, port: number): T | null {
  const addr = bindAddr.toLowerCase();
  for (const f of held) if (f.bindAddr.toLowerCase() === addr && (f.boundPort === port || (f.requestedPort === port && port !== 0))) return f;
  return null;
}

/** Why a new forward cannot be added to those held, or null when it can. */
export function admitForward(held: readonly HeldForward[], spec: ForwardSpec, pending = 0): string | null {
  if (held.length + pending >= MAX_REMOTE_FORWARDS) return `this connection already has ${MAX_REMOTE_FORWARDS} remote forwards`;
  if (spec.port !== 0 && held.some((f) => forwardKey(f.bindAddr, f.boundPort) === forwardKey(spec.bindAddr, spec.port)))
    return `${spec.bindAddr || 'localhost'}:${spec.port} is already forwarded on this connection`;
  return null;
}
