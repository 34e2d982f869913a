/**
 * Stores agent reports cheaply. With ten thousand nodes heartbeating every 5 s the server gets
 * 2,000 reports a second, nearly all repeating the last one, so a report costs a write or a
 * query only when it can change something:
 *
 * - The node row (agent version, providers, resources, last_seen_at) is written on a hello,
 *   when the agent version, the providers or the resource totals (cpus, memory, disk) change,
 *   and otherwise at most once every NODE_ROW_WRITE_EVERY_MS (60 s), carrying the latest free
 *   memory and disk and last_seen_at. Liveness is in memory (liveness.ts); the API shows an
 *   online node's last_seen_at from there, so it is never 60 s stale.
 * - The node's workspaces are reconciled (reconcile.ts: one indexed query, writes only where
 *   a row differs) on a hello, whenever the workspaces part of the report changed, while the
 *   last reconcile left rows for later (changed within the grace, or raced), while the node is
 *   marked stale (markStale: an operation on the node ran, or liveness fenced its workspaces
 *   `unknown`), and in any case every RECONCILE_EVERY_MS (60 s), which catches a row changed
 *   by anything that does not mark the node.
 */
import type { Logger } from 'pino';
import type { NodeResources, WorkspaceReport } from '../../api/index.js';
import type { Store } from '../store/open.js';
import { KeptResources } from './kept-resources.js';
import { reconcileReports } from './reconcile.js';
import type { ReportDelta } from './report-gate.js';

/** The longest a node row goes unwritten while its agent reports (free memory/disk and last_seen_at). */
export const NODE_ROW_WRITE_EVERY_MS = 60_000;
/** The longest a connected node's workspaces go without a reconcile. */
export const RECONCILE_EVERY_MS = 60_000;

/** What one connection's reports have told so far, and what of it is stored. */
interface NodeReportState {
  agentVersion: string;
  resources: KeptResources | null;
  providersJson: string;
  /** Null until a report of this connection carried them (never guessed: an empty list would fail every row). */
  workspaces: WorkspaceReport[] | null;
  /** The resource totals last written, as text; free figures alone do not force a write. */
  totalsWritten: string | null;
  /** Something not yet written that must be (a failed write sets it too). */
  rowDirty: boolean;
  rowWrittenMs: number;
  /** The last reconcile left nothing for later. */
  converged: boolean;
  reconciledMs: number;
}

const totalsOf = (r: NodeResources | null) => (r ? `${r.cpus}/${r.memoryBytes}/${r.diskBytes}` : null);

/** Applies reports to the node and workspace rows, skipping what cannot change anything. */
export class ReportRecorder {
  private readonly states = new Map<string, NodeReportState>();
  /** Nodes whose reports reconcile whatever they say, until the time noted. */
  private readonly staleUntil = new Map<string, number>();

  constructor(
    private readonly store: Store,
    /** How long a marked node stays stale: long enough to outlast the reconcile grace of rows its operation changed. */
    private readonly staleForMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The node's workspace rows may differ from its last report: reconcile its next reports whatever they say. */
  markStale(nodeId: string): void {
    this.staleUntil.set(nodeId, this.now() + this.staleForMs);
  }

  /** Forgets a connection's state (its socket closed); the next hello starts afresh. */
  forget(nodeId: string): void {
    this.states.delete(nodeId);
  }

  /** Stores one report; `graceMs` protects rows changed since the report may have been built (reconcile.ts). */
  async record(nodeId: string, d: ReportDelta, log: Logger, graceMs: number): Promise<void> {
    const now = this.now();
    const hello = d.type === 'hello';
    let st = this.states.get(nodeId);
    if (hello || !st) {
      st = {
        agentVersion: '',
        resources: null,
        providersJson: '[]',
        workspaces: null,
        totalsWritten: null,
        rowDirty: true,
        rowWrittenMs: 0,
        converged: false,
        reconciledMs: 0,
      };
      this.states.set(nodeId, st);
    }
    if (d.agentVersion !== undefined && d.agentVersion !== st.agentVersion) {
      st.agentVersion = d.agentVersion;
      st.rowDirty = true;
    }
    if (d.providers !== undefined) {
      st.providersJson = JSON.stringify(d.providers);
      st.rowDirty = true;
    }
    if (d.resources !== undefined) {
      // Kept in place: a new object kept per heartbeat would reach V8's old generation (report-gate.ts).
      (st.resources ??= new KeptResources()).set(d.resources);
      if (totalsOf(d.resources) !== st.totalsWritten) st.rowDirty = true;
    }
    if (d.workspaces !== undefined) {
      st.workspaces = d.workspaces;
      st.converged = false;
    }

    // A state made by a heartbeat (no hello seen, e.g. after forget) knows only the parts that changed: write nothing it would guess.
    if ((st.rowDirty || now - st.rowWrittenMs >= NODE_ROW_WRITE_EVERY_MS) && st.resources !== null && st.agentVersion !== '') {
      st.rowDirty = true; // until the write succeeds
      await this.store.db
        .updateTable('nodes')
        .set({
          last_seen_at: new Date(now).toISOString(),
          agent_version: st.agentVersion,
          resources_json: st.resources ? JSON.stringify(st.resources) : null,
          providers_json: st.providersJson,
        })
        .where('id', '=', nodeId)
        .execute();
      st.rowDirty = false;
      st.rowWrittenMs = now;
      st.totalsWritten = totalsOf(st.resources);
    }

    const stale = (this.staleUntil.get(nodeId) ?? 0) > now;
    if (!stale) this.staleUntil.delete(nodeId);
    if (st.workspaces !== null && (!st.converged || stale || now - st.reconciledMs >= RECONCILE_EVERY_MS)) {
      st.converged = false; // until a reconcile finishes with nothing left for later
      st.converged = await reconcileReports(this.store, nodeId, st.workspaces, log, graceMs, now);
      st.reconciledMs = now;
    }
  }
}
