import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ListeningPort } from '../../api/index.js';
import type { PortSource } from '../../providers/ports/scanner.js';
import type { Provider, WorkspaceHandle } from '../../providers/provider.js';
import { type PortTarget, PortWatcher } from './port-watch.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listening = (port: number) =>
  `   0: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${1000 + port} 1\n`;

/** A provider whose one workspace listens on whatever `ports` holds. */
function target(id: string, ports: number[], running = () => true): PortTarget {
  const source: PortSource = {
    tables: async () => ({ tcp: TCP_HEADER + ports.map(listening).join(''), tcp6: '', udp: '', udp6: '' }),
    owners: async () => new Map(),
  };
  const provider = {
    kind: 'docker',
    portSource: async () => {
      if (!running()) throw Object.assign(new Error('not running'), { code: 'FAILED_PRECONDITION' });
      return source;
    },
  } as unknown as Provider;
  return { workspaceId: id, provider, handle: { workspaceId: id } as WorkspaceHandle };
}

describe('PortWatcher', () => {
  it('sends a list only when it changed, everything again after resendAll, and says when a workspace is gone', async () => {
    const sent: Array<{ workspaceId: string; ports: ListeningPort[]; gone?: boolean }> = [];
    const ports = [8080];
    let targets = [target('w1', ports)];
    const watcher = new PortWatcher(() => targets, ((_name: string, payload: never) => sent.push(payload)) as never, pino({ level: 'silent' }));
    await watcher.scan();
    await watcher.scan();
    expect(sent.map((s) => [s.workspaceId, s.ports.map((p) => p.port)])).toEqual([['w1', [8080]]]);
    ports.push(3000);
    await watcher.scan();
    expect(sent.at(-1)!.ports.map((p) => p.port)).toEqual([3000, 8080]);
    watcher.resendAll();
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toHaveLength(3);
    targets = [];
    await watcher.scan();
    expect(sent.at(-1)).toEqual({ workspaceId: 'w1', ports: [], gone: true });
  });

  it('reports a workspace that is not running as listening on nothing', async () => {
    const sent: Array<{ ports: ListeningPort[] }> = [];
    let up = true;
    const watcher = new PortWatcher(() => [target('w1', [22], () => up)], ((_n: string, p: never) => sent.push(p)) as never, pino({ level: 'silent' }));
    await watcher.scan();
    up = false;
    await watcher.scan();
    expect(sent.map((s) => s.ports.length)).toEqual([1, 0]);
  });
});
