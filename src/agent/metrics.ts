/**
 * An agent's Prometheus metrics, served by `berth agent --metrics-listen`. One instance owns
 * one registry. Workspace counts come from the last report the agent sent (counted at scrape
 * time, not per heartbeat); requests from the server are timed by method and outcome.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type AgentMethod, agentMethods, builtinProviderKindSchema, toApiError, type WorkspaceReport, workspaceStatusSchema } from '../api/index.js';

/** Request durations: an inspect takes milliseconds, an image build minutes. */
export const AGENT_REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

const PROVIDERS = new Set<string>(builtinProviderKindSchema.options);
const STATUSES = new Set<string>(workspaceStatusSchema.options);

/** What the agent's metrics read at scrape time. */
export interface AgentLiveState {
  /** The provider of a tracked workspace. */
  providerOf(workspaceId: string): string | undefined;
  execSessions(): number;
  connected(): boolean;
}

/** The agent's registry and every metric in it. */
export class AgentMetrics {
  /** The registry `--metrics-listen` serves. */
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'outcome'>;
  private readonly requestDuration: Histogram<'method' | 'outcome'>;
  private readonly reconnects: Counter;
  private welcomes = 0;
  private lastWorkspaces: readonly WorkspaceReport[] = [];

  constructor(live: AgentLiveState, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: 'berth_agent_workspaces',
      help: "Workspaces in this agent's last report, by provider and status (every pair reported, 0 when none).",
      labelNames: ['provider', 'status'],
      registers,
      collect() {
        this.reset();
        for (const p of PROVIDERS) for (const s of STATUSES) this.set({ provider: p, status: s }, 0);
        for (const w of self.lastWorkspaces) {
          const provider = live.providerOf(w.workspaceId);
          if (provider && PROVIDERS.has(provider) && STATUSES.has(w.status)) this.inc({ provider, status: w.status });
        }
      },
    });
    new Gauge({
      name: 'berth_agent_exec_sessions_open',
      help: 'Open exec sessions on this node.',
      registers,
      collect() {
        this.set(live.execSessions());
      },
    });
    new Gauge({
      name: 'berth_agent_connected',
      help: '1 while the agent holds a welcomed connection to the server, else 0.',
      registers,
      collect() {
        this.set(live.connected() ? 1 : 0);
      },
    });
    this.reconnects = new Counter({ name: 'berth_agent_reconnects_total', help: 'Welcomes from the server after the first one in this process.', registers });
    this.requests = new Counter({
      name: 'berth_agent_requests_total',
      help: 'Requests the server sent this agent, by method and outcome.',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'berth_agent_request_duration_seconds',
      help: 'How long this agent took to answer the server, by method and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: AGENT_REQUEST_BUCKETS,
      registers,
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'berth_agent_' });
  }

  /** The report just sent (its workspaces are counted at the next scrape). */
  reported(report: { workspaces: readonly WorkspaceReport[] }): void {
    this.lastWorkspaces = report.workspaces;
  }

  /** The server welcomed a connection. */
  welcomed(): void {
    if (this.welcomes++ > 0) this.reconnects.inc();
  }

  /** Wraps a request handler so each request is counted and timed. */
  timeRequests<P>(handler: (method: AgentMethod, params: P) => Promise<unknown>): (method: AgentMethod, params: P) => Promise<unknown> {
    return async (method, params) => {
      const started = performance.now();
      // The peer only hands on methods of the protocol; anything else would still get a fixed label.
      const m = Object.hasOwn(agentMethods, method) ? method : 'other';
      let outcome: 'succeeded' | 'failed' | 'cancelled' = 'succeeded';
      try {
        return await handler(method, params);
      } catch (err) {
        outcome = toApiError(err).code === 'CANCELLED' ? 'cancelled' : 'failed';
        throw err;
      } finally {
        const labels = { method: m, outcome };
        this.requests.inc(labels);
        this.requestDuration.observe(labels, (performance.now() - started) / 1000);
      }
    };
  }
}
