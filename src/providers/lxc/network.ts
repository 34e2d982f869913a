/**
 * Addresses for workspaces on the node's bridge. LXC sets a static address in the container's
 * network namespace before init runs, so no DHCP client is needed inside (busybox images have
 * none running) and no dnsmasq is needed on the node. Pure functions only.
 */

/** The bridge's own IPv4 address and prefix length, e.g. 10.0.3.1/24. */
export interface BridgeAddress {
  address: string;
  prefix: number;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** The first IPv4 address in `ip -4 -o addr show dev BRIDGE` output, or null when it has none. */
export function parseBridgeAddress(ipOutput: string): BridgeAddress | null {
  const m = /\binet (\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})\b/.exec(ipOutput);
  if (!m) return null;
  return { address: m[1], prefix: Number(m[2]) };
}

/** Every address in `lxc.net.N.ipv4.address = A/P` lines of the given config text. */
export function addressesInConfigs(configText: string): string[] {
  const out: string[] = [];
  for (const m of configText.matchAll(/^\s*lxc\.net\.\d+\.ipv4\.address\s*=\s*(\d{1,3}(?:\.\d{1,3}){3})/gm)) out.push(m[1]);
  return out;
}

/**
 * The lowest free host address on the bridge's subnet, skipping the network and broadcast
 * addresses, the bridge itself and everything in `used`; null when the subnet is full.
 * Addresses below .10 are left for the operator (gateways, DNS) as lxc-net's own range does.
 */
export function allocateAddress(bridge: BridgeAddress, used: Iterable<string>): string | null {
  if (bridge.prefix < 8 || bridge.prefix > 30) return null;
  const size = 2 ** (32 - bridge.prefix);
  const network = toInt(bridge.address) - (toInt(bridge.address) % size);
  const taken = new Set([...used, bridge.address]);
  const first = size > 32 ? 10 : 1;
  // Larger subnets are searched only up to 65k hosts: more workspaces than that on one node is not a real case.
  for (let i = first; i < Math.min(size - 1, 65_536); i++) {
    const ip = toIp(network + i);
    if (!taken.has(ip)) return `${ip}/${bridge.prefix}`;
  }
  return null;
}
