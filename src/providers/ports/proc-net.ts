/**
 * Reading /proc/net/{tcp,tcp6,udp,udp6}: the kernel's own list of sockets in one network
 * namespace. A TCP socket listens in state 0A (LISTEN); a UDP socket "listens" when it is
 * unconnected (state 07, no remote address). Addresses are hex in host byte order (x86 and
 * arm64 are little-endian: 0100007F is 127.0.0.1), ports hex in network order.
 */

/** One listening socket as a table row gives it. */
export interface ProcNetSocket {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  inode: number;
}

/** The four tables, as text (empty when a table is missing, e.g. IPv6 disabled). */
export type ProcNetTables = Record<'tcp' | 'tcp6' | 'udp' | 'udp6', string>;

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** The listening sockets in one table. Malformed rows are skipped. */
export function parseProcNet(text: string, table: keyof ProcNetTables): ProcNetSocket[] {
  const protocol = table.startsWith('tcp') ? 'tcp' : 'udp';
  const out: ProcNetSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, remote, state, inodeText] = [f[1], f[2], f[3], f[9]];
    if (protocol === 'tcp' ? state !== TCP_LISTEN : state !== UDP_UNCONNECTED || !/^0+:0000$/.test(remote)) continue;
    const [hexAddr, hexPort] = local.split(':');
    const port = parseInt(hexPort ?? '', 16);
    const address = hexAddr?.length === 8 ? ipv4(hexAddr) : hexAddr?.length === 32 ? ipv6(hexAddr) : null;
    const inode = Number(inodeText);
    if (!address || !(port >= 1 && port <= 65535) || !Number.isSafeInteger(inode)) continue;
    out.push({ protocol, address, port, inode });
  }
  return out;
}

function ipv4(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return null;
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

function ipv6(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(hex)) return null;
  // Four 32-bit words, each in host (little-endian) order.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  // An IPv4-mapped address (::ffff:a.b.c.d) reads better as the IPv4 one.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] << 8) | bytes[i * 2 + 1]).toString(16));
  return compress(groups);
}

/** RFC 5952 form: the longest run of zero groups (two or more) becomes `::`. */
function compress(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
