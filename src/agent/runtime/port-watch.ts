/**
 * Ports, always on: every interval the agent reads each workspace's listening sockets (from
 * its own network's /proc tables, so nothing runs inside the workspace) and pushes the list to
 * the server when it changed — whether or not anyone is connected to the workspace. After each
 * (re)connection every workspace's list is sent again, so the server never keeps a stale one.
 */
import type { Logger } from 'pino';
import type { ListeningPort } from '../../api/index.js';
import { PortScanner } from '../../providers/ports/scanner.js';
import type { Provider, WorkspaceHandle } from '../../providers/provider.js';
import type { Emit } from './link.js';

/** How often ports are read: well inside the 2 s in which a new port must show. */
export const PORT_POLL_MS = 1000;

/** A workspace the watcher may read. */
export interface PortTarget {
  workspaceId: string;
  provider: Provider;
  handle: WorkspaceHandle;
}

/** Polls ports and pushes changes. */
export class PortWatcher {
  private readonly last = new Map<string, string>();
  private readonly scanners = new Map<string, PortScanner>();
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;

  constructor(
    private readonly targets: () => PortTarget[],
    private readonly emit: Emit,
    private readonly log: Logger,
    private readonly everyMs = PORT_POLL_MS,
  ) {}

  /** Starts polling. */
  start(): void {
    this.timer ??= setInterval(() => void this.scan(), this.everyMs);
    this.timer.unref();
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Forgets what was sent, so the next scan sends every workspace's list (after a reconnect). */
  resendAll(): void {
    this.last.clear();
    void this.scan();
  }

  /** Reads every workspace once and sends what changed. One scan at a time: a slow one is not stacked. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const targets = this.targets();
      const seen = new Set<string>();
      await Promise.all(
        targets.map(async (t) => {
          seen.add(t.workspaceId);
          const ports = await this.read(t);
          const key = JSON.stringify(ports);
          if (this.last.get(t.workspaceId) === key) return;
          this.last.set(t.workspaceId, key);
          this.emit('ports.changed', { workspaceId: t.workspaceId, ports });
        }),
      );
      for (const id of [...this.last.keys()]) {
        if (seen.has(id)) continue;
        this.last.delete(id);
        this.scanners.delete(id);
        this.emit('ports.changed', { workspaceId: id, ports: [], gone: true });
      }
    } finally {
      this.scanning = false;
    }
  }

  /** A workspace that is not running (or cannot be read) has no ports. */
  private async read(t: PortTarget): Promise<ListeningPort[]> {
    if (!t.provider.portSource) return [];
    let scanner = this.scanners.get(t.workspaceId);
    if (!scanner) this.scanners.set(t.workspaceId, (scanner = new PortScanner()));
    try {
      return (await scanner.scan(await t.provider.portSource(t.handle))).slice(0, 1024);
    } catch (err) {
      if ((err as { code?: string }).code !== 'FAILED_PRECONDITION') this.log.debug({ err, workspace: t.workspaceId }, 'could not read ports');
      return [];
    }
  }
}
