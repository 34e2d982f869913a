/**
 * The server's Prometheus metrics. One instance owns one registry (never prom-client's global
 * default), so several servers in one process (tests) each count their own. Counts that a
 * query can answer (nodes, workspaces) or that live in memory anyway (agent sockets, exec and
 * gateway sessions) are read at scrape time, not kept in sync by hand; the hot paths (a
 * heartbeat, a request) do one histogram observation each.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { builtinProviderKindSchema, nodeStatusSchema, operationKindSchema, workspaceStatusSchema } from '../../api/index.js';
import type { Store } from '../store/open.js';

/** prom-client's process metrics whose collection costs one step per open handle (see the constructor). */
export const PER_HANDLE_PROCESS_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'process_open_fds',
];

/** How an operation ended, as the `outcome` label says it. */
export type OperationOutcome = 'succeeded' | 'failed' | 'cancelled';

/** What the agent hub reports to the metrics (see AgentHub.instrument). */
export interface HubMetrics {
  /** A hello arrived from a node (counts a reconnect when the node connected before in this process). */
  agentHello(nodeId: string): void;
  /** A hello's or heartbeat's report was stored, `startedMs` (performance.now()) after the frame arrived. */
  reportStored(startedMs: number): void;
}

/** What the operations report to the metrics (see Operations.instrument). */
export interface OperationMetrics {
  /** An operation of `kind` (an OperationKind; anything else counts as `other`) ended after `seconds`. */
  operationEnded(kind: string, outcome: OperationOutcome, seconds: number): void;
}

/** Live counts read at scrape time from the parts that hold them. */
export interface LiveCounts {
  agentConnections(): number;
  execSessions(): number;
  gatewaySessions(): number;
}

/**
 * Heartbeat handling: a report is one UPDATE plus the reconcile, normally a millisecond or
 * two; fine steps from 0.5 ms to 250 ms so a p99 anywhere in 1–100 ms reads clearly.
 */
export const HEARTBEAT_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];
/** API requests: a few milliseconds for a read, seconds for a streamed create. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Operations: a start takes a second, an image build minutes. */
export const OPERATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

const NODE_STATUSES = new Set<string>(nodeStatusSchema.options);
const WORKSPACE_STATUSES = new Set<string>(workspaceStatusSchema.options);
const PROVIDERS = new Set<string>(builtinProviderKindSchema.options);
const OPERATION_KINDS = new Set<string>(operationKindSchema.options);

/**
 * The scrape-time counts. Each runs once per scrape over the whole table, so each must be
 * answered from an index alone: on SQLite the query blocks the event loop, and at 50,000
 * workspaces a table scan took ~37 ms against ~3 ms over the (status, provider) index
 * (migration 0015). The test checks the query plans.
 */
export function nodeCountsQuery(store: Store) {
  return store.db
    .selectFrom('nodes')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status');
}

/** Workspaces counted by status and provider (see nodeCountsQuery). */
export function workspaceCountsQuery(store: Store) {
  return store.db
    .selectFrom('workspaces')
    .select(['status', 'provider', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['status', 'provider']);
}

/** The server's registry and every metric in it. */
export class ServerMetrics implements HubMetrics, OperationMetrics {
  /** The registry `GET /api/v1/metrics` and `--metrics-listen` serve. */
  readonly registry = new Registry();
  /** berth_http_request_duration_seconds{method,route,status_code}; observed by http.ts. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly heartbeat: Histogram;
  private readonly opsTotal: Counter<'kind' | 'outcome'>;
  private readonly opDuration: Histogram<'kind' | 'outcome'>;
  private readonly reconnects: Counter;
  /** Nodes that said hello to this server process, so a second hello counts as a reconnect. */
  private readonly helloSeen = new Set<string>();
  private live: LiveCounts = { agentConnections: () => 0, execSessions: () => 0, gatewaySessions: () => 0 };

  constructor(store: Store, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.heartbeat = new Histogram({
      name: 'berth_heartbeat_handling_seconds',
      help: "Time from a hello or heartbeat frame's arrival to its report being stored.",
      buckets: HEARTBEAT_BUCKETS,
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'API request durations by method, route pattern (unmatched for unknown paths) and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.opsTotal = new Counter({
      name: 'berth_operations_total',
      help: 'Operations that ended, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.opDuration = new Histogram({
      name: 'berth_operation_duration_seconds',
      help: 'How long operations ran, from start to end, by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      buckets: OPERATION_BUCKETS,
      registers,
    });
    this.reconnects = new Counter({
      name: 'berth_agent_reconnects_total',
      help: 'Hellos from nodes that had already connected to this server process.',
      registers,
    });
    const live = () => this.live;
    new Gauge({
      name: 'berth_agent_connections',
      help: 'Open agent sockets.',
      registers,
      collect() {
        this.set(live().agentConnections());
      },
    });
    new Gauge({
      name: 'berth_exec_sessions_open',
      help: 'Open exec sessions (CLI ws exec and the SSH gateway), all nodes.',
      registers,
      collect() {
        this.set(live().execSessions());
      },
    });
    new Gauge({
      name: 'berth_gateway_sessions_open',
      help: 'Open SSH gateway session channels (shell, exec, sftp).',
      registers,
      collect() {
        this.set(live().gatewaySessions());
      },
    });
    new Gauge({
      name: 'berth_nodes',
      help: 'Nodes by recorded status.',
      labelNames: ['status'],
      registers,
      // One grouped COUNT per scrape; every known status is reported, 0 when none.
      async collect() {
        const rows = await nodeCountsQuery(store).execute();
        this.reset();
        for (const s of NODE_STATUSES) this.set({ status: s }, 0);
        for (const r of rows) if (NODE_STATUSES.has(r.status)) this.set({ status: r.status }, Number(r.n));
      },
    });
    new Gauge({
      name: 'berth_workspaces',
      help: 'Workspaces by status and provider (every pair reported, 0 when none).',
      labelNames: ['status', 'provider'],
      registers,
      async collect() {
        const rows = await workspaceCountsQuery(store).execute();
        this.reset();
        for (const s of WORKSPACE_STATUSES) for (const p of PROVIDERS) this.set({ status: s, provider: p }, 0);
        for (const r of rows)
          if (WORKSPACE_STATUSES.has(r.status) && PROVIDERS.has(r.provider)) this.set({ status: r.status, provider: r.provider }, Number(r.n));
      },
    });
    if (opts.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'berth_server_' });
      // Scale: these walk every open handle, resource or descriptor at each scrape, and the
      // server holds one socket per node: at 10,000 agents a scrape stalled the event loop for
      // ~70 ms (a CPU profile of bench/fleet-scale.mjs). Connected agents and open sessions
      // are counted above, for nothing.
      for (const name of PER_HANDLE_PROCESS_METRICS) this.registry.removeSingleMetric(`berth_server_${name}`);
    }
  }

  /** Where the scrape-time gauges read their counts (set once the hub and the SSH gateway exist). */
  readLiveCounts(counts: Partial<LiveCounts>): void {
    this.live = { ...this.live, ...counts };
  }

  agentHello(nodeId: string): void {
    if (this.helloSeen.has(nodeId)) this.reconnects.inc();
    else this.helloSeen.add(nodeId);
  }

  reportStored(startedMs: number): void {
    this.heartbeat.observe((performance.now() - startedMs) / 1000);
  }

  operationEnded(kind: string, outcome: OperationOutcome, seconds: number): void {
    const labels = { kind: OPERATION_KINDS.has(kind) ? kind : 'other', outcome };
    this.opsTotal.inc(labels);
    this.opDuration.observe(labels, seconds);
  }
}
