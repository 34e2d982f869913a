/**
 * Failure detection: when a node counts as offline, and what happens when it turns.
 *
 * A node is online while heartbeats arrive: it turns `offline` once none has come for the TTL
 * plus a grace (defaults 15 s + 5 s, three heartbeat intervals of 5 s plus one). The TTL must
 * be at least three heartbeat intervals: heartbeats travel over TCP, so a lost packet is
 * retransmitted (within about a second at the default minimum RTO) rather than lost, and
 * at 1% packet loss several retransmissions in a row are what it takes to miss a whole TTL.
 *
 * Fencing: while a node is offline its workspaces show `unknown`. They are never deleted and
 * never re-created elsewhere: the node may be cut off rather than dead, still running the
 * workspace and writing its home directory, and a second copy elsewhere would split a
 * developer's work in two (the failure stories of incus#1032 and nomad#5876). When the node
 * returns, its agent's report says what really exists and reconcile.ts brings the rows back.
 *
 * After a server restart no agent is connected yet; each node keeps the status recorded before
 * the restart until the TTL plus grace has passed since the server started, so a restart does
 * not flap every node offline and every workspace to `unknown`.
 */
import type { Logger } from 'pino';
import type { NodeStatus } from '../../api/index.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';

/** Liveness settings, in milliseconds. */
export interface LivenessTiming {
  heartbeatMs: number;
  ttlMs: number;
  graceMs: number;
}

/** Default TTL before a silent node is offline. */
export const DEFAULT_NODE_TTL_MS = 15_000;
/** Default grace on top of the TTL. */
export const DEFAULT_NODE_GRACE_MS = 5_000;

/** Why a TTL is unsafe for a heartbeat interval, or null when it is fine. */
export function ttlProblem(t: LivenessTiming): string | null {
  if (t.ttlMs < 3 * t.heartbeatMs)
    return `the node TTL (${t.ttlMs} ms) must be at least three heartbeat intervals (${3 * t.heartbeatMs} ms), or a little packet loss marks nodes offline`;
  if (t.graceMs < 0) return 'the node grace must not be negative';
  return null;
}

/** The facts the status of one node is decided from. */
export interface LivenessFacts {
  /** The status recorded last (by this process or the one before the restart). */
  recorded: NodeStatus;
  /** When this server process last heard from the node (hello or heartbeat); null when never. */
  lastHeardMs: number | null;
  nowMs: number;
  serverStartedMs: number;
}

/** The status a node has now: a pure function of the facts and the timing. */
export function nodeStatusAt(f: LivenessFacts, t: LivenessTiming): NodeStatus {
  const limit = t.ttlMs + t.graceMs;
  if (f.lastHeardMs !== null && f.nowMs - f.lastHeardMs < limit) return 'online';
  // Not heard from since this server started: keep what was recorded until the start grace ends.
  if (f.lastHeardMs === null && f.nowMs - f.serverStartedMs < limit) return f.recorded;
  return 'offline';
}

/** Workspace states that turn `unknown` while their node is offline (an operation in flight settles on its own). */
const FENCED = ['running', 'stopped'];

/** How often the in-memory copy of every node's recorded status is read again from the database. */
const RELOAD_RECORDED_MS = 60_000;

/**
 * Watches every node's status on a timer, and on each change records it, audits it and (when
 * the node went offline) marks its workspaces `unknown`.
 *
 * A check costs no query unless a status changes: the recorded status of every node is kept
 * in memory (only this class writes it), read again from the database when a node it does not
 * know is heard from (one that just joined), when a write finds the row changed or gone, and
 * once a minute. So `node ls`, which settles statuses first, stays cheap with many nodes.
 */
export class LivenessMonitor {
  private readonly startedMs: number;
  private readonly lastHeard = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private recorded: Map<string, { name: string; status: string }> | null = null;
  private loadedMs = 0;
  private readonly fencedListeners = new Set<(nodeId: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    readonly timing: LivenessTiming,
    private readonly now: () => number = Date.now,
  ) {
    this.startedMs = now();
  }

  /** Notes that a node was heard from (its hello or a heartbeat). */
  heard(nodeId: string): void {
    this.lastHeard.set(nodeId, this.now());
    if (this.recorded && !this.recorded.has(nodeId)) this.recorded = null;
  }

  /** When this server process last heard from the node (ISO time), or null when never. */
  lastHeardAt(nodeId: string): string | null {
    const ms = this.lastHeard.get(nodeId);
    return ms === undefined ? null : new Date(ms).toISOString();
  }

  /** Calls `listener` with a node's id each time its workspaces were fenced `unknown`; returns a function that stops it. */
  onFenced(listener: (nodeId: string) => void): () => void {
    this.fencedListeners.add(listener);
    return () => this.fencedListeners.delete(listener);
  }

  /** The node's status now, given the status recorded for it. */
  statusOf(nodeId: string, recorded: string): NodeStatus {
    return nodeStatusAt(
      {
        recorded: recorded === 'online' ? 'online' : 'offline',
        lastHeardMs: this.lastHeard.get(nodeId) ?? null,
        nowMs: this.now(),
        serverStartedMs: this.startedMs,
      },
      this.timing,
    );
  }

  /** How much longer the grace after this server's start lasts (0 once it is over). */
  startGraceLeftMs(): number {
    return Math.max(0, this.startedMs + this.timing.ttlMs + this.timing.graceMs - this.now());
  }

  /** Starts checking every `everyMs` (default: a heartbeat interval, at most 1 s). */
  start(everyMs = Math.min(1000, this.timing.heartbeatMs)): void {
    this.timer ??= setInterval(() => void this.check().catch((err: unknown) => this.log.warn({ err }, 'node liveness check failed')), everyMs);
    this.timer.unref();
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Applies every status change since the last check; returns the nodes that changed. */
  async check(): Promise<Array<{ name: string; from: string; to: NodeStatus }>> {
    const recorded = await this.recordedStatuses();
    const changed: Array<{ name: string; from: string; to: NodeStatus }> = [];
    for (const [id, row] of recorded) {
      const from = row.status;
      const to = this.statusOf(id, from);
      if (to === from) continue;
      const moved = await this.store.db.updateTable('nodes').set({ status: to }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        // Removed, or moved by a concurrent check: read every status again next time.
        if (this.recorded === recorded) this.recorded = null;
        continue;
      }
      row.status = to;
      changed.push({ name: row.name, from, to });
      let fenced = 0;
      if (to === 'offline') {
        // Fencing: shown as unknown, never deleted or re-created elsewhere (see the file comment).
        const res = await this.store.db
          .updateTable('workspaces')
          .set({ status: 'unknown', updated_at: new Date(this.now()).toISOString() })
          .where('node_id', '=', id)
          .where('status', 'in', FENCED)
          .executeTakeFirst();
        fenced = Number(res.numUpdatedRows);
        if (fenced > 0) for (const listener of this.fencedListeners) listener(id);
      }
      const detail =
        to === 'offline'
          ? `no heartbeat for ${this.timing.ttlMs + this.timing.graceMs} ms; ${fenced} workspace(s) now unknown`
          : 'heartbeats arrive again; its report reconciles its workspaces';
      this.log.warn({ node: row.name, from, to, fenced }, 'node status changed');
      await this.audit.record({ actorId: null, actorName: 'berth', action: `node.${to}`, target: `node/${row.name}`, outcome: 'ok', detail });
    }
    return changed;
  }

  /** The recorded status of every node, from memory (see the class comment). */
  private async recordedStatuses(): Promise<Map<string, { name: string; status: string }>> {
    if (this.recorded && this.now() - this.loadedMs < RELOAD_RECORDED_MS) return this.recorded;
    const rows = await this.store.db.selectFrom('nodes').select(['id', 'name', 'status']).execute();
    this.recorded = new Map(rows.map((r) => [r.id, { name: r.name, status: r.status }]));
    this.loadedMs = this.now();
    return this.recorded;
  }
}
