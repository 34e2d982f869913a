import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePromText, sampleValue } from '../../testing/prom-text.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { nodeCountsQuery, PER_HANDLE_PROCESS_METRICS, ServerMetrics, workspaceCountsQuery } from './server-metrics.js';

const old = new Date(Date.now() - 60_000).toISOString();
let dirs: string[] = [];
let stores: Store[] = [];

/** A real SQLite store with `nodes` (id → status) and docker/lxc workspaces (status, provider). */
async function storeWith(nodes: Record<string, string>, workspaces: Array<[string, 'docker' | 'lxc' | 'qemu']> = []): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-metrics-'));
  dirs.push(dir);
  const store = await openSqliteStore(join(dir, 'berth.db'));
  stores.push(store);
  await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: old }).execute();
  for (const [id, status] of Object.entries(nodes)) {
    await store.db
      .insertInto('nodes')
      .values({
        id,
        name: id,
        credential_hash: id,
        created_at: old,
        last_seen_at: null,
        agent_version: null,
        resources_json: null,
        providers_json: '[]',
        status,
      })
      .execute();
  }
  let i = 0;
  for (const [status, provider] of workspaces) {
    const id = `w${i++}`;
    await store.db
      .insertInto('workspaces')
      .values({
        id,
        name: id,
        owner_id: 'u',
        node_id: Object.keys(nodes)[0],
        provider,
        image: 'i',
        status,
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: old,
        updated_at: old,
      })
      .execute();
  }
  return store;
}

async function scrape(m: ServerMetrics) {
  return parsePromText(await m.registry.metrics());
}

beforeEach(() => {
  dirs = [];
  stores = [];
});

afterEach(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('ServerMetrics', () => {
  it('keeps one registry per instance: two servers in one process count apart', async () => {
    const a = new ServerMetrics(
      await storeWith({ n1: 'online', n2: 'online', n3: 'offline' }, [
        ['running', 'docker'],
        ['running', 'docker'],
        ['stopped', 'lxc'],
      ]),
    );
    const b = new ServerMetrics(await storeWith({ m1: 'offline' }), { processMetrics: false });
    a.operationEnded('workspace.create', 'succeeded', 2);
    a.agentHello('n1');
    a.agentHello('n1');
    a.reportStored(performance.now() - 3);

    const sa = await scrape(a);
    const sb = await scrape(b);
    expect(sampleValue(sa, 'berth_nodes', { status: 'online' })).toBe(2);
    expect(sampleValue(sa, 'berth_nodes', { status: 'offline' })).toBe(1);
    expect(sampleValue(sb, 'berth_nodes', { status: 'online' })).toBe(0);
    expect(sampleValue(sb, 'berth_nodes', { status: 'offline' })).toBe(1);
    expect(sampleValue(sa, 'berth_workspaces', { status: 'running', provider: 'docker' })).toBe(2);
    expect(sampleValue(sa, 'berth_workspaces', { status: 'stopped', provider: 'lxc' })).toBe(1);
    expect(sampleValue(sa, 'berth_workspaces', { status: 'running', provider: 'qemu' })).toBe(0);
    expect(sampleValue(sb, 'berth_workspaces', { status: 'running', provider: 'docker' })).toBe(0);
    expect(sampleValue(sa, 'berth_operations_total', { kind: 'workspace.create', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(sb, 'berth_operations_total', { kind: 'workspace.create', outcome: 'succeeded' })).toBeUndefined();
    expect(sampleValue(sa, 'berth_agent_reconnects_total')).toBe(1);
    expect(sampleValue(sb, 'berth_agent_reconnects_total')).toBe(0);
    expect(sampleValue(sa, 'berth_heartbeat_handling_seconds_count')).toBe(1);
    expect(sampleValue(sa, 'berth_heartbeat_handling_seconds_bucket', { le: '0.002' })).toBe(0);
    expect(sampleValue(sa, 'berth_heartbeat_handling_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(sampleValue(sb, 'berth_heartbeat_handling_seconds_count')).toBe(0);
    // Process metrics carry the server's prefix, and only where they were asked for.
    expect(sa.some((s) => s.name === 'berth_server_process_cpu_user_seconds_total')).toBe(true);
    expect(sa.some((s) => s.name === 'berth_server_nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(sb.some((s) => s.name.startsWith('berth_server_'))).toBe(false);
    // But none that walks every open socket at each scrape (one per node).
    for (const name of PER_HANDLE_PROCESS_METRICS)
      expect(
        sa.some((s) => s.name.startsWith(`berth_server_${name}`)),
        name,
      ).toBe(false);
  });

  it('answers the scrape-time counts from an index alone, never a table scan (SQLite)', async () => {
    const store = await storeWith({ n1: 'online' }, [['running', 'docker']]);
    for (const query of [nodeCountsQuery(store), workspaceCountsQuery(store)]) {
      const compiled = query.compile();
      const plan = await sql
        .raw<{ detail: string }>(`EXPLAIN QUERY PLAN ${compiled.sql}`)
        .execute(store.db)
        .then((r) => r.rows.map((row) => row.detail).join(' | '));
      // A covering index is read in (status[, provider]) order: no row is read, no sort is made.
      expect(plan, compiled.sql).toMatch(/^SCAN \w+ USING COVERING INDEX \w+$/);
    }
  });

  it('reads live counts at scrape time and files an unknown operation kind under other', async () => {
    const m = new ServerMetrics(await storeWith({}), { processMetrics: false });
    let sessions = 3;
    m.readLiveCounts({ agentConnections: () => 7, execSessions: () => sessions, gatewaySessions: () => 2 });
    m.operationEnded('no.such.kind', 'cancelled', 0.5);
    let s = await scrape(m);
    expect(sampleValue(s, 'berth_agent_connections')).toBe(7);
    expect(sampleValue(s, 'berth_exec_sessions_open')).toBe(3);
    expect(sampleValue(s, 'berth_gateway_sessions_open')).toBe(2);
    expect(sampleValue(s, 'berth_operations_total', { kind: 'other', outcome: 'cancelled' })).toBe(1);
    expect(sampleValue(s, 'berth_operation_duration_seconds_sum', { kind: 'other', outcome: 'cancelled' })).toBe(0.5);
    sessions = 0;
    s = await scrape(m);
    expect(sampleValue(s, 'berth_exec_sessions_open')).toBe(0);
  });
});
