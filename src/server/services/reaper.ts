/**
 * The server-side reaper. A node may hold a workspace berth's database does not know: a row
 * lost with a restored database, an object made outside berth with berth's labels, a create
 * cut off inside the agent (reported as an orphan: labelled, no handle). Only the server knows
 * whether a workspace of that id is merely mid-operation, so it decides:
 *
 * - a workspace with a row (any state, any node) or a running operation is never touched;
 * - a tombstoned one is left to tombstones.ts, which deletes it as its node connects;
 * - anything else is deleted on its node once the node has reported it, continuously, for the
 *   grace period (`berth server --reap-grace`, default 60 s), and the removal is logged and
 *   audited as `workspace.reap`. The grace covers a report built before a create recorded its
 *   row or after a delete dropped it: such an id is seen once, not for the whole grace.
 */
import type { Logger } from 'pino';
import { type OrphanReport, toApiError, type WorkspaceReport } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';

/** Default time an unknown workspace must keep being reported before it is removed. */
export const DEFAULT_REAP_GRACE_MS = 60_000;

/**
 * How long a node's report of only known workspaces is trusted without a query. A row of a
 * workspace its node still runs disappears only with a restored database (a restart, which
 * starts this cache empty) or a `--force` removal (which leaves a tombstone the node acts on),
 * so a minute is plenty; every 10 s cost 100 queries a second at 1,000 nodes, doubling the
 * server's heartbeat CPU.
 */
const KNOWN_RECHECK_MS = 60_000;

/** What the server knows about the ids one report names (see planReaps). */
export interface ReapFacts {
  /** Ids the node reported (its workspaces and its orphans). */
  reported: string[];
  /** Of those, ids the server knows: a row, a running operation, or a tombstone. */
  known: Set<string>;
  /** When each id was first seen unknown on this node, from the previous plan. */
  firstSeen: ReadonlyMap<string, number>;
  nowMs: number;
  graceMs: number;
}

/**
 * Which ids to reap now, and the first-seen times to keep. Pure: an id is reaped once it has
 * been reported and unknown for at least the grace; an id no longer reported, or known, is
 * forgotten (so it starts over if it is ever reported unknown again).
 */
export function planReaps(f: ReapFacts): { reap: string[]; firstSeen: Map<string, number> } {
  const firstSeen = new Map<string, number>();
  const reap: string[] = [];
  for (const id of new Set(f.reported)) {
    if (f.known.has(id)) continue;
    const since = f.firstSeen.get(id) ?? f.nowMs;
    if (f.nowMs - since >= f.graceMs) reap.push(id);
    else firstSeen.set(id, since);
  }
  return { reap, firstSeen };
}

/** Watches node reports and removes workspaces the server does not know, after the grace. */
export class Reaper {
  private readonly firstSeen = new Map<string, Map<string, number>>();
  /** Per node, the last reported id set that was all known, and when (see observe). */
  private readonly allKnown = new Map<string, { key: string; at: number }>();
  /** Reaps under way, by workspace id: a slow delete is not asked for twice. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly hub: Pick<AgentHub, 'request'>,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    readonly graceMs: number = DEFAULT_REAP_GRACE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows every report the hub stores (errors are logged, never thrown: the hub does not wait). */
  attach(hub: Pick<AgentHub, 'onReport'>): void {
    hub.onReport((nodeId, report) => void this.observe(nodeId, report).catch((err: unknown) => this.log.warn({ err }, 'the reaper could not check a report')));
  }

  /** Takes one report of `nodeId`; resolves with the ids it removed (after their deletes ended). */
  async observe(nodeId: string, report: { workspaces: WorkspaceReport[]; orphans?: OrphanReport[] }): Promise<string[]> {
    const reported = [...report.workspaces.map((w) => w.workspaceId), ...(report.orphans ?? []).map((o) => o.workspaceId)];
    const previous = this.firstSeen.get(nodeId) ?? new Map<string, number>();
    if (reported.length === 0) {
      this.firstSeen.delete(nodeId);
      return [];
    }
    // The usual report names only workspaces berth knows, the same ones each time: one that
    // matches the last fully known set, checked moments ago, needs no query (heartbeats are
    // the server's hottest path). A row dropped meanwhile is seen at most KNOWN_RECHECK_MS later.
    const key = [...reported].sort().join(',');
    const last = this.allKnown.get(nodeId);
    if (last && last.key === key && this.now() - last.at < KNOWN_RECHECK_MS) {
      this.firstSeen.delete(nodeId);
      return [];
    }
    const known = await this.known(nodeId, reported);
    if (reported.every((id) => known.has(id))) this.allKnown.set(nodeId, { key, at: this.now() });
    else this.allKnown.delete(nodeId);
    const plan = planReaps({ reported, known, firstSeen: previous, nowMs: this.now(), graceMs: this.graceMs });
    const orphanIds = new Set((report.orphans ?? []).map((o) => o.workspaceId));
    const reaped: string[] = [];
    for (const id of plan.reap) {
      if (this.inFlight.has(id)) {
        plan.firstSeen.set(id, previous.get(id) ?? this.now());
        continue;
      }
      this.inFlight.add(id);
      try {
        if (await this.reap(nodeId, id, orphanIds.has(id))) reaped.push(id);
        // A failed delete starts the grace over rather than being retried on every heartbeat.
        else plan.firstSeen.set(id, this.now());
      } finally {
        this.inFlight.delete(id);
      }
    }
    this.firstSeen.set(nodeId, plan.firstSeen);
    return reaped;
  }

  /** Of `ids`, those with a row, a running operation, or a tombstone on this node. */
  private async known(nodeId: string, ids: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      for (const r of await this.store.db.selectFrom('workspaces').select('id').where('id', 'in', chunk).execute()) known.add(r.id);
    }
    const unknown = ids.filter((id) => !known.has(id));
    for (let i = 0; i < unknown.length; i += 500) {
      const chunk = unknown.slice(i, i + 500);
      const ops = await this.store.db
        .selectFrom('operations')
        .select('workspace_id')
        .where('workspace_id', 'in', chunk)
        .where('status', '=', 'running')
        .execute();
      for (const r of ops) if (r.workspace_id) known.add(r.workspace_id);
      const tombs = await this.store.db
        .selectFrom('workspace_tombstones')
        .select('workspace_id')
        .where('node_id', '=', nodeId)
        .where('workspace_id', 'in', chunk)
        .execute();
      for (const r of tombs) known.add(r.workspace_id);
    }
    return known;
  }

  /** Deletes one unknown workspace on its node; true when the node confirmed. */
  private async reap(nodeId: string, workspaceId: string, orphan: boolean): Promise<boolean> {
    const node = await this.store.db.selectFrom('nodes').select('name').where('id', '=', nodeId).executeTakeFirst();
    const nodeName = node?.name ?? nodeId;
    const what = orphan ? 'labelled by berth but held by no agent handle' : 'run by its agent';
    const detail = `on node ${nodeName}: ${what}, with no workspace row or operation in berth for ${Math.round(this.graceMs / 1000)} s`;
    try {
      await this.hub.request(nodeId, 'workspace.delete', { opId: `reap-${workspaceId}`, workspaceId }, 5 * 60_000);
      this.log.warn({ node: nodeName, workspace: workspaceId, orphan }, 'removed a workspace berth does not know');
      await this.audit.record({
        actorId: null,
        actorName: 'berth',
        action: 'workspace.reap',
        target: `workspace/${workspaceId}`,
        outcome: 'ok',
        detail: `removed ${detail}`,
      });
      return true;
    } catch (err) {
      const e = toApiError(err);
      this.log.warn({ node: nodeName, workspace: workspaceId, err: e }, 'could not remove a workspace berth does not know');
      await this.audit
        .record({
          actorId: null,
          actorName: 'berth',
          action: 'workspace.reap',
          target: `workspace/${workspaceId}`,
          outcome: 'error',
          detail: `${e.code}: ${e.message} (${detail}); retried after the grace`,
        })
        .catch(() => {});
      return false;
    }
  }
}
