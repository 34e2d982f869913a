/**
 * Long mutations as operations: the caller gets an Operation at once; the work runs in the
 * background; progress and log lines are kept in memory for replay and streamed to watchers;
 * the final state lands in the database. Operations still `running` when a server starts
 * were interrupted by a crash and are marked failed, so nobody waits on them forever.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BerthError, type OpContext, type Operation, type OperationEvent, type OperationKind, toApiError } from '../../api/index.js';
import { operationToApi } from '../convert/to-api.js';
import type { OperationMetrics } from '../metrics/server-metrics.js';
import type { Store } from '../store/open.js';
import type { OperationsTable } from '../store/schema.js';

/** How an operation's body reports: an OpContext that also knows its operation's id. */
export interface OpReporter extends OpContext {
  readonly id: string;
}

type Listener = (e: OperationEvent) => void;

interface Live {
  events: OperationEvent[];
  listeners: Set<Listener>;
  abort: AbortController;
  /** The row as last written, so finishing needs no read. */
  row: OperationsTable;
  /** A progress write waiting for its turn, if any. */
  pendingProgress?: { stage: string; progress: number | null };
  progressTimer?: NodeJS.Timeout;
}

/** Replayed events per operation are capped so a chatty build cannot eat the server's memory. */
const MAX_EVENTS = 5000;
/**
 * Progress reaches watchers at once, but the database row follows at most this often: a
 * create reports a dozen stages within a few hundred milliseconds, and only the latest matters
 * to someone who reads the row.
 */
const PROGRESS_WRITE_INTERVAL_MS = 500;
/** Finished operations stay replayable this long, for watchers that arrive late. */
const KEEP_FINISHED_MS = 10 * 60_000;

/** What an operation of `kind` cut off by a server restart becomes, in words for its error. */
export function interruptedMessage(kind: string, target: string): string {
  const what = target.replace(/^[a-z]+\//, '');
  const head = `The server restarted while this ${kind.replace(/^[a-z]+\./, '')} ran (interrupted);`;
  switch (kind) {
    case 'workspace.create':
      return `${head} it is rolled back: workspace ${what} is removed from its node and from berth once that node is connected. Create it again.`;
    case 'workspace.delete':
      return `${head} the delete is finished once the node of workspace ${what} is connected; nothing is left to do.`;
    case 'workspace.start':
    case 'workspace.stop':
    case 'workspace.restart':
      return `${head} workspace ${what} shows what its node reports once that node is connected; see \`berth ws show ${what}\` and retry if needed.`;
    case 'image.build':
      return `${head} the node may still finish building image ${what} (see \`berth image ls\`), and keeps nothing half-built; build it again if it is missing.`;
    case 'node.drain':
      return `${head} node ${what} stays cordoned and its workspaces show what it reports; run \`berth node drain ${what}\` again to finish.`;
    default:
      return `${head} check ${target} and retry.`;
  }
}

/** Starts, tracks and streams operations. */
export class Operations {
  private readonly live = new Map<string, Live>();
  /** Operations this process found cut off by the previous one's end (see failInterrupted). */
  private readonly interrupted: Array<{ id: string; kind: OperationKind; workspaceId: string | null }> = [];
  /** Told of every operation's end (berth_operations_total, berth_operation_duration_seconds). */
  private metrics: OperationMetrics | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Reports each operation's end to `metrics` from now on. */
  instrument(metrics: OperationMetrics): void {
    this.metrics = metrics;
  }

  /**
   * Marks operations left running by a previous server process as failed, each with what
   * happens to its work now (see docs/crash-safety.md), and remembers them so the workspace
   * service can say how each ended up once the node has reported (amendInterrupted).
   */
  async failInterrupted(): Promise<number> {
    const rows = await this.store.db.selectFrom('operations').select(['id', 'kind', 'target', 'workspace_id']).where('status', '=', 'running').execute();
    const finishedAt = new Date().toISOString();
    for (const row of rows) {
      const error = { code: 'UNAVAILABLE' as const, message: interruptedMessage(row.kind, row.target) };
      const res = await this.store.db
        .updateTable('operations')
        .set({ status: 'failed', error_json: JSON.stringify(error), finished_at: finishedAt })
        .where('id', '=', row.id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) this.interrupted.push({ id: row.id, kind: row.kind as OperationKind, workspaceId: row.workspace_id });
    }
    return this.interrupted.length;
  }

  /** The operations failInterrupted found cut off when this process started. */
  interruptedOps(): ReadonlyArray<{ id: string; kind: OperationKind; workspaceId: string | null }> {
    return this.interrupted;
  }

  /**
   * Rewrites the error of an operation cut off by a restart once its outcome is known ("...;
   * the workspace is now running"), and forgets it. Only operations failInterrupted marked.
   */
  async amendInterrupted(id: string, message: string): Promise<void> {
    const i = this.interrupted.findIndex((o) => o.id === id);
    if (i < 0) return;
    this.interrupted.splice(i, 1);
    await this.store.db
      .updateTable('operations')
      .set({ error_json: JSON.stringify({ code: 'UNAVAILABLE', message }) })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .execute();
  }

  /** Records a new operation and runs `body` in the background. Returns once the row exists. */
  async start(
    meta: { kind: OperationKind; target: string; workspaceId?: string | null; createdBy: string },
    body: (op: OpReporter) => Promise<void>,
  ): Promise<Operation> {
    const id = randomUUID();
    const row: OperationsTable = {
      id,
      kind: meta.kind,
      target: meta.target,
      workspace_id: meta.workspaceId ?? null,
      status: 'running' as const,
      stage: 'queued',
      progress: null,
      error_json: null,
      created_by: meta.createdBy,
      created_at: new Date().toISOString(),
      finished_at: null,
    };
    await this.store.db.insertInto('operations').values(row).execute();
    const live: Live = { events: [], listeners: new Set(), abort: new AbortController(), row };
    this.live.set(id, live);
    void this.run(id, live, body);
    return operationToApi(row);
  }

  /**
   * Asks a running operation to stop: its signal fires with a CANCELLED error, and the
   * operation ends failed with that error once its body has undone what it made. False when
   * the operation is not running in this process.
   */
  cancel(id: string, reason: BerthError): boolean {
    const live = this.live.get(id);
    if (!live || live.events.at(-1)?.type === 'done') return false;
    if (!live.abort.signal.aborted) live.abort.abort(reason);
    return true;
  }

  /** Resolves with the operation once it has ended (at once when it already has). */
  async finished(id: string): Promise<Operation> {
    return new Promise<Operation>((resolve, reject) => {
      this.watch(id, (e) => {
        if (e.type === 'done') resolve(e.operation);
      }).catch(reject);
    });
  }

  /** The reporter for an operation that is running (used to route agent progress events). */
  reporter(id: string): OpReporter | null {
    const live = this.live.get(id);
    return live ? this.makeReporter(id, live) : null;
  }

  /**
   * Names what a running operation acts on once the operation itself has found out (`node add`
   * learns the node's name from the host); the final operation carries it.
   */
  async retarget(id: string, target: string): Promise<void> {
    const live = this.live.get(id);
    if (live) live.row = { ...live.row, target };
    await this.store.db.updateTable('operations').set({ target }).where('id', '=', id).execute();
  }

  /** The operation as stored. */
  async get(id: string): Promise<Operation> {
    const row = await this.store.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new BerthError('NOT_FOUND', `No operation ${id}; list recent work with \`berth ws ls\`.`, { field: 'id' });
    return operationToApi(row);
  }

  /**
   * Streams an operation's events: first what already happened, then live ones, ending with
   * `done`. Returns a function that stops listening.
   */
  async watch(id: string, listener: Listener): Promise<() => void> {
    const op = await this.get(id);
    const live = this.live.get(id);
    if (!live) {
      // Long finished and evicted (or from a previous server): only the outcome remains.
      listener({ type: 'done', operation: op });
      return () => {};
    }
    for (const e of live.events) listener(e);
    if (live.events.at(-1)?.type === 'done') return () => {};
    live.listeners.add(listener);
    return () => live.listeners.delete(listener);
  }

  private makeReporter(id: string, live: Live): OpReporter {
    return {
      id,
      signal: live.abort.signal,
      log: (line) => this.publish(live, { type: 'log', line }),
      progress: (stage, fraction = null) => {
        this.publish(live, { type: 'progress', stage, fraction });
        live.pendingProgress = { stage, progress: fraction };
        live.progressTimer ??= setTimeout(() => this.writeProgress(id, live), PROGRESS_WRITE_INTERVAL_MS);
      },
    };
  }

  private async run(id: string, live: Live, body: (op: OpReporter) => Promise<void>): Promise<void> {
    let error: ReturnType<typeof toApiError> | null = null;
    try {
      await body(this.makeReporter(id, live));
    } catch (err) {
      // A cancelled operation ends with the cancellation, whatever its body threw on the way out.
      error = toApiError(live.abort.signal.aborted ? live.abort.signal.reason : err);
      if (error.code === 'INTERNAL') this.log.error({ err, op: id }, 'operation failed unexpectedly');
    }
    // One write for the end, carrying the last progress that had not been written yet.
    clearTimeout(live.progressTimer);
    const finished = {
      ...(live.pendingProgress ?? {}),
      status: error ? ('failed' as const) : ('succeeded' as const),
      error_json: error ? JSON.stringify(error) : null,
      finished_at: new Date().toISOString(),
      ...(error ? {} : { stage: 'done', progress: 1 }),
    };
    live.pendingProgress = undefined;
    // Nobody awaits run(): a failure to record the outcome is logged here, and watchers still
    // get their `done`, rather than the rejection escaping to the process.
    let op: Operation;
    try {
      await this.store.db.updateTable('operations').set(finished).where('id', '=', id).execute();
      live.row = { ...live.row, ...finished };
      op = operationToApi(live.row);
    } catch (err) {
      this.log.error({ err, op: id }, 'could not record the outcome of an operation');
      const recordError = { code: 'INTERNAL' as const, message: 'berth could not record how this operation ended; the server log has the details.' };
      op = { ...operationToApi(live.row), status: 'failed', error: error ?? recordError, finishedAt: finished.finished_at };
    }
    const outcome = !error ? 'succeeded' : error.code === 'CANCELLED' ? 'cancelled' : 'failed';
    this.metrics?.operationEnded(live.row.kind, outcome, Math.max(0, Date.now() - Date.parse(live.row.created_at)) / 1000);
    this.publish(live, { type: 'done', operation: op });
    live.listeners.clear();
    setTimeout(() => this.live.delete(id), KEEP_FINISHED_MS).unref();
  }

  /** Writes the latest progress of a running operation (at most every PROGRESS_WRITE_INTERVAL_MS). */
  private writeProgress(id: string, live: Live): void {
    live.progressTimer = undefined;
    const pending = live.pendingProgress;
    if (!pending || live.row.status !== 'running') return;
    live.pendingProgress = undefined;
    live.row = { ...live.row, ...pending };
    void this.store.db
      .updateTable('operations')
      .set(pending)
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute()
      .catch((err) => this.log.warn({ err, op: id }, 'could not record operation progress'));
  }

  private publish(live: Live, e: OperationEvent): void {
    if (live.events.length < MAX_EVENTS || e.type === 'done') live.events.push(e);
    for (const l of live.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'operation watcher threw');
      }
    }
  }
}
