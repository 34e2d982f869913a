/** The hub and the operations, instrumented: what they report lands in the server's metrics. */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, BerthError } from '../../api/index.js';
import { parsePromText, sampleValue } from '../../testing/prom-text.js';
import { AgentHub } from '../agents/hub.js';
import { Operations } from '../operations/operations.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { ServerMetrics } from './server-metrics.js';

/** Just enough of a ws socket for the hub: frames go in as agent messages. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  send(): void {}
  close(): void {
    this.readyState = 3;
    this.emit('close');
  }
  frame(f: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify(f)), false);
  }
}

const report = { agentVersion: 't', resources: { cpus: 1, memoryBytes: 1, memoryFreeBytes: 1, diskBytes: 1, diskFreeBytes: 1 }, providers: [], workspaces: [] };
const hello = { type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION, ...report };
const heartbeat = { type: 'heartbeat', ...report };

let dir: string;
let store: Store;
let ops: Operations;
let hub: AgentHub;
let metrics: ServerMetrics;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-instrumented-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await store.db
    .insertInto('nodes')
    .values({
      id: 'n1',
      name: 'n1',
      credential_hash: 'n1',
      created_at: new Date().toISOString(),
      last_seen_at: null,
      agent_version: null,
      resources_json: null,
      providers_json: '[]',
    })
    .execute();
  const log = pino({ level: 'silent' });
  ops = new Operations(store, log);
  hub = new AgentHub(store, ops, log, 1000);
  metrics = new ServerMetrics(store, { processMetrics: false });
  hub.instrument(metrics);
  ops.instrument(metrics);
  metrics.readLiveCounts({ agentConnections: () => hub.connectionCount, execSessions: () => hub.execSessionCount });
});

afterEach(async () => {
  hub.closeAll();
  await new Promise((r) => setTimeout(r, 20));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const scrape = async () => parsePromText(await metrics.registry.metrics());
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('instrumented hub and operations', () => {
  it('times every stored hello and heartbeat, counts sockets, and a second hello as a reconnect', async () => {
    const s1 = new FakeSocket();
    hub.attach(s1 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    s1.frame(heartbeat); // before hello: ignored, not timed
    s1.frame(hello);
    s1.frame(heartbeat);
    s1.frame(heartbeat);
    await settle();
    let s = await scrape();
    expect(sampleValue(s, 'berth_heartbeat_handling_seconds_count')).toBe(3);
    expect(sampleValue(s, 'berth_agent_connections')).toBe(1);
    expect(sampleValue(s, 'berth_agent_reconnects_total')).toBe(0);

    s1.close();
    const s2 = new FakeSocket();
    hub.attach(s2 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    s2.frame(hello);
    await settle();
    s = await scrape();
    expect(sampleValue(s, 'berth_agent_reconnects_total')).toBe(1);
    expect(sampleValue(s, 'berth_agent_connections')).toBe(1);
    expect(sampleValue(s, 'berth_heartbeat_handling_seconds_count')).toBe(4);
  });

  it('counts operations as they end, by kind and outcome', async () => {
    const ok = await ops.start({ kind: 'workspace.start', target: 'w', createdBy: 'u' }, async () => {});
    const bad = await ops.start({ kind: 'workspace.start', target: 'w', createdBy: 'u' }, async () => {
      throw new BerthError('NODE_OFFLINE', 'gone');
    });
    const cancelled = await ops.start(
      { kind: 'workspace.create', target: 'w', createdBy: 'u' },
      (op) => new Promise((_, reject) => op.signal.addEventListener('abort', () => reject(op.signal.reason))),
    );
    ops.cancel(cancelled.id, new BerthError('CANCELLED', 'stop'));
    for (const id of [ok.id, bad.id, cancelled.id]) await ops.finished(id);
    const s = await scrape();
    expect(sampleValue(s, 'berth_operations_total', { kind: 'workspace.start', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(s, 'berth_operations_total', { kind: 'workspace.start', outcome: 'failed' })).toBe(1);
    expect(sampleValue(s, 'berth_operations_total', { kind: 'workspace.create', outcome: 'cancelled' })).toBe(1);
    expect(sampleValue(s, 'berth_operation_duration_seconds_count', { kind: 'workspace.create', outcome: 'cancelled' })).toBe(1);
  });
});
