/**
 * Listening ports of one workspace: its /proc/net tables, grouped by port and protocol, with
 * the owning process where it can be found. Finding owners means walking /proc's fd links,
 * which costs far more than reading four small tables, so it is done only for sockets not
 * seen before (owners are remembered by socket inode).
 */
import type { ListeningPort } from '../../api/index.js';
import type { Transport } from '../../transport/index.js';
import { type ProcNetTables, parseProcNet } from './proc-net.js';

/** A socket's owner: its pid and process group inside the workspace, and its name. */
export type Owner = { pid: number; name: string; group?: number };

/** Where a workspace's tables and socket owners come from (the node's /proc, or the guest's). */
export interface PortSource {
  tables(): Promise<ProcNetTables>;
  /** The owners of these socket inodes, as far as they can be found. */
  owners(inodes: number[]): Promise<Map<number, Owner>>;
}

/** Keeps one workspace's owner cache between scans. */
export class PortScanner {
  private owners = new Map<number, Owner | null>();

  /** The workspace's listening ports, sorted by protocol then port. */
  async scan(source: PortSource): Promise<ListeningPort[]> {
    const tables = await source.tables();
    const sockets = (Object.keys(tables) as Array<keyof ProcNetTables>).flatMap((t) => parseProcNet(tables[t], t));
    const unknown = [...new Set(sockets.map((s) => s.inode))].filter((i) => !this.owners.has(i));
    if (unknown.length > 0) {
      const found = await source.owners(unknown).catch(() => new Map<number, Owner>());
      for (const inode of unknown) this.owners.set(inode, found.get(inode) ?? null);
    }
    // Forget sockets that are gone, so the cache does not grow with every port ever opened.
    const live = new Set(sockets.map((s) => s.inode));
    for (const inode of this.owners.keys()) if (!live.has(inode)) this.owners.delete(inode);

    const byPort = new Map<string, ListeningPort>();
    for (const s of sockets) {
      const key = `${s.protocol}/${s.port}`;
      const entry = byPort.get(key) ?? { port: s.port, protocol: s.protocol, addresses: [], process: null };
      if (!entry.addresses.includes(s.address) && entry.addresses.length < 16) entry.addresses.push(s.address);
      entry.process ??= this.owners.get(s.inode) ?? null;
      byPort.set(key, entry);
    }
    return [...byPort.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
  }
}

/**
 * A shell script that prints, for every process in the network namespace of process $1 (or
 * of the shell itself when $1 is `self`), `PID socket:[INODE]` for each socket it holds, and
 * then `PID comm NAME`. It runs where /proc is the workspace's (the node for containers, the
 * guest for VMs) with GNU find, so a whole walk is two processes, not one per file descriptor.
 */
export const OWNERS_SCRIPT = [
  'ns=$(readlink "/proc/$1/ns/net") || exit 0',
  // The namespace's name has brackets, which -lname would read as a pattern: compare in awk.
  'pids=$(find /proc/[0-9]*/ns/net -maxdepth 0 -printf "%l %p\\n" 2>/dev/null | awk -v ns="$ns" \'$1 == ns { split($2, a, "/"); print a[3] }\')',
  '[ -n "$pids" ] || exit 0',
  // The last NSpid field is the pid inside the innermost pid namespace: the workspace's own
  // pids for a container read from the node's /proc (what its supervisor reports), the same
  // pid in a guest. The process group (the 3rd field after the comm's closing parenthesis) is
  // a host pid here too, so it goes through the same translation. Only shell builtins run per
  // process but the one find: in a VM without KVM every fork costs tens of milliseconds.
  'nspid() { n=; while read -r k v; do if [ "$k" = NSpid: ]; then for x in $v; do n=$x; done; break; fi; done 2>/dev/null < "/proc/$1/status"; }',
  'for p in $pids; do find "/proc/$p/fd" -maxdepth 1 -lname "socket:*" -printf "$p %l\\n" 2>/dev/null;',
  '  c=; read -r c 2>/dev/null < "/proc/$p/comm"; printf "%s comm %s\\n" "$p" "$c";',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${s##*\) } and ${3:-0} are the shell's, not a template's
  '  s=; read -r s 2>/dev/null < "/proc/$p/stat"; s=${s##*\\) }; set -- $s; g=${3:-0};',
  '  nspid "$p"; a=$n; nspid "$g"; printf "%s ids %s %s\\n" "$p" "$a" "$n"; done',
].join('\n');

/** Reads OWNERS_SCRIPT's output for the inodes asked about. */
export function parseOwners(text: string, inodes: number[]): Map<number, Owner> {
  const wanted = new Set(inodes);
  const names = new Map<number, string>();
  const ids = new Map<number, { pid: number; group?: number }>();
  const holders = new Map<number, number>();
  for (const line of text.split('\n')) {
    const comm = /^(\d+) comm (.*)$/.exec(line);
    if (comm) {
      names.set(Number(comm[1]), comm[2].slice(0, 64));
      continue;
    }
    const id = /^(\d+) ids (\d+) ?(\d*)$/.exec(line);
    if (id) {
      const group = Number(id[3]);
      ids.set(Number(id[1]), { pid: Number(id[2]) || Number(id[1]), ...(group > 0 ? { group } : {}) });
      continue;
    }
    const sock = /^(\d+) socket:\[(\d+)\]$/.exec(line);
    // The lowest PID holding a socket is its owner: a server's parent, not the workers that inherited it.
    if (sock && wanted.has(Number(sock[2])) && !(holders.get(Number(sock[2]))! < Number(sock[1]))) holders.set(Number(sock[2]), Number(sock[1]));
  }
  const out = new Map<number, Owner>();
  for (const [inode, pid] of holders) out.set(inode, { ...(ids.get(pid) ?? { pid }), name: names.get(pid) ?? '?' });
  return out;
}

/** A script printing the four tables under $1 (`/proc/PID/net` or `/proc/net`), each after a `## NAME` line. */
export const TABLES_SCRIPT = 'for t in tcp tcp6 udp udp6; do echo "## $t"; cat "$1/$t" 2>/dev/null; done';

/** Splits TABLES_SCRIPT's output into the four tables. */
export function parseTables(text: string): ProcNetTables {
  const out: ProcNetTables = { tcp: '', tcp6: '', udp: '', udp6: '' };
  for (const part of text.split(/^## /m).slice(1)) {
    const nl = part.indexOf('\n');
    const name = part.slice(0, nl).trim() as keyof ProcNetTables;
    if (name in out) out[name] = part.slice(nl + 1);
  }
  return out;
}

/** The ports of a container whose init is host process `pid`: tables read from the node's /proc, owners found there. */
export function hostPortSource(host: Transport, pid: number): PortSource {
  return {
    tables: async () => {
      const read = (t: string) =>
        host.readFile(`/proc/${pid}/net/${t}`).then(
          (b) => b.toString('utf8'),
          () => '',
        );
      const [tcp, tcp6, udp, udp6] = await Promise.all(['tcp', 'tcp6', 'udp', 'udp6'].map(read));
      return { tcp, tcp6, udp, udp6 };
    },
    owners: async (inodes) => parseOwners((await host.run({ cmd: ['sh', '-c', OWNERS_SCRIPT, 'sh', String(pid)], timeoutMs: 10_000 })).stdout, inodes),
  };
}

/** The ports of a virtual machine, read inside the guest through its transport. */
export function guestPortSource(guest: Transport): PortSource {
  return {
    tables: async () => parseTables((await guest.run({ cmd: ['sh', '-c', TABLES_SCRIPT, 'sh', '/proc/net'], timeoutMs: 10_000 })).stdout),
    owners: async (inodes) => parseOwners((await guest.run({ cmd: ['sh', '-c', OWNERS_SCRIPT, 'sh', 'self'], timeoutMs: 10_000 })).stdout, inodes),
  };
}
