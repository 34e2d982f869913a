import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProcNet } from './proc-net.js';
import { PortScanner, type PortSource, parseOwners, parseTables } from './scanner.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 666 1 0000000000000000 100 0 0 10 0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 0
  101: 0100007F:0035 0101A8C0:0035 01 00000000:00000000 00:00000000 00000000     0        0 888 2 0000000000000000 0
`;

describe('/proc/net tables', () => {
  it('reads listening TCP sockets (IPv4, IPv6, v4-mapped) and unconnected UDP ones, skipping the rest', () => {
    expect(parseProcNet(TCP, 'tcp')).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 8080, inode: 111 },
      { protocol: 'tcp', address: '0.0.0.0', port: 22, inode: 222 },
    ]);
    expect(parseProcNet(TCP6, 'tcp6')).toEqual([
      { protocol: 'tcp', address: '::1', port: 3000, inode: 444 },
      { protocol: 'tcp', address: '::', port: 22, inode: 555 },
      { protocol: 'tcp', address: '127.0.0.1', port: 8081, inode: 666 },
    ]);
    expect(parseProcNet(UDP, 'udp')).toEqual([{ protocol: 'udp', address: '0.0.0.0', port: 5353, inode: 777 }]);
  });

  it('never throws on any text, and only answers valid ports', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), fc.constantFrom('tcp', 'tcp6', 'udp', 'udp6' as const), (text, table) => {
        for (const s of parseProcNet(text, table)) expect(s.port >= 1 && s.port <= 65535).toBe(true);
      }),
    );
  });

  it('splits the tables script output', () => {
    expect(parseTables(`## tcp\n${TCP}## tcp6\n${TCP6}## udp\n${UDP}## udp6\n`)).toEqual({ tcp: TCP, tcp6: TCP6, udp: UDP, udp6: '' });
  });
});

describe('socket owners', () => {
  it('takes the lowest PID holding a socket, with its command name', () => {
    const out = '12 socket:[111]\n12 comm httpd\n40 socket:[111]\n40 comm httpd-worker\n41 socket:[999]\n41 comm other\n';
    expect(parseOwners(out, [111, 222])).toEqual(new Map([[111, { pid: 12, name: 'httpd' }]]));
  });

  it("gives the pid and process group as the workspace's pid namespace sees them", () => {
    // Host pid 8060 is pid 9 in the container, in the group led by its pid 8 (a service's child).
    const out = '8060 socket:[111]\n8060 comm sleep\n8060 ids 9 8\n8003 comm docker-init\n8003 ids 1 1\n2 comm kthreadd\n2 ids 2 \n';
    expect(parseOwners(out, [111])).toEqual(new Map([[111, { pid: 9, group: 8, name: 'sleep' }]]));
    expect(parseOwners('2 socket:[5]\n2 comm k\n2 ids 2 \n', [5])).toEqual(new Map([[5, { pid: 2, name: 'k' }]]));
  });
});

describe('PortScanner', () => {
  it('groups by port and protocol, and looks owners up only for sockets it has not seen', async () => {
    const asked: number[][] = [];
    const source: PortSource = {
      tables: async () => ({ tcp: TCP, tcp6: TCP6, udp: UDP, udp6: '' }),
      owners: async (inodes) => {
        asked.push(inodes);
        return new Map([[222, { pid: 1, name: 'sshd' }]]);
      },
    };
    const scanner = new PortScanner();
    const first = await scanner.scan(source);
    expect(first.find((p) => p.port === 22)).toEqual({ port: 22, protocol: 'tcp', addresses: ['0.0.0.0', '::'], process: { pid: 1, name: 'sshd' } });
    expect(first.map((p) => `${p.protocol}/${p.port}`)).toEqual(['tcp/22', 'tcp/3000', 'tcp/8080', 'tcp/8081', 'udp/5353']);
    await scanner.scan(source);
    expect(asked).toHaveLength(1);
  });
});
