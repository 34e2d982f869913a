import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, type OperationEvent } from '../../api/index.js';
import { Operations } from '../operations/operations.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { AgentHub } from './hub.js';

/** Just enough of a ws socket for the hub: frames go in as agent messages, frames out are kept. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Array<{ type: string; id?: string; method?: string; params?: unknown }> = [];
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
    this.emit('close');
  }
  /** Delivers a frame from the agent. */
  frame(f: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify(f)), false);
  }
}

const hello = {
  type: 'hello',
  protocolVersion: AGENT_PROTOCOL_VERSION,
  agentVersion: 't',
  resources: { cpus: 1, memoryBytes: 1, memoryFreeBytes: 1, diskBytes: 1, diskFreeBytes: 1 },
  providers: [],
  workspaces: [],
};

let dir: string;
let store: Store;
let ops: Operations;
let hub: AgentHub;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-hub-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const now = new Date().toISOString();
  for (const id of ['n1', 'n2']) {
    await store.db
      .insertInto('nodes')
      .values({ id, name: id, credential_hash: id, created_at: now, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
      .execute();
  }
  const log = pino({ level: 'silent' });
  ops = new Operations(store, log);
  hub = new AgentHub(store, ops, log, 1000);
});

afterEach(async () => {
  hub.closeAll();
  await new Promise((r) => setTimeout(r, 20));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('AgentHub', () => {
  it('takes operation progress only from the node running the operation', async () => {
    const s1 = new FakeSocket();
    const s2 = new FakeSocket();
    hub.attach(s1 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    hub.attach(s2 as unknown as WebSocket, { id: 'n2', name: 'n2' });
    s1.frame(hello);
    s2.frame(hello);
    const op = await ops.start({ kind: 'image.build', target: 'image/x', createdBy: 'u' }, async (r) => {
      await hub.request('n1', 'image.build', { opId: r.id, name: 'x', from: 'busybox', packages: [] });
    });
    const seen: OperationEvent[] = [];
    await ops.watch(op.id, (e) => seen.push(e));
    const request = s1.sent.find((f) => f.type === 'request')!;
    s2.frame({ type: 'event', name: 'op.log', payload: { opId: op.id, line: 'spoofed by n2' } });
    s1.frame({ type: 'event', name: 'op.log', payload: { opId: op.id, line: 'from n1' } });
    s1.frame({
      type: 'response',
      id: request.id,
      result: { name: 'x', ref: 'berth/x:latest', from: 'busybox', packages: [], sizeBytes: 1, createdAt: 'now', nodeName: 'n1' },
    });
    await new Promise((r) => setTimeout(r, 50));
    const lines = seen.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line);
    expect(lines).toEqual(['from n1']);
    // Once the request is answered, the node has nothing more to say about the operation.
    s1.frame({ type: 'event', name: 'op.log', payload: { opId: op.id, line: 'late' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.filter((e) => e.type === 'log')).toHaveLength(1);
  });

  it('keeps taking progress from the node after it answered a cancel, while the cancelled work undoes itself', async () => {
    const s1 = new FakeSocket();
    hub.attach(s1 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    s1.frame(hello);
    const op = await ops.start({ kind: 'image.build', target: 'image/x', createdBy: 'u' }, async (r) => {
      await hub.request('n1', 'image.build', { opId: r.id, name: 'x', from: 'busybox', packages: [] });
    });
    const seen: OperationEvent[] = [];
    await ops.watch(op.id, (e) => seen.push(e));
    const cancelled = hub.request('n1', 'op.cancel', { opId: op.id, message: 'cancelled' });
    const cancel = s1.sent.find((f) => f.type === 'request' && f.method === 'op.cancel')!;
    s1.frame({ type: 'response', id: cancel.id, result: { cancelled: true } });
    await cancelled.catch(() => {});
    s1.frame({ type: 'event', name: 'op.log', payload: { opId: op.id, line: 'removing what was made' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line)).toEqual(['removing what was made']);
  });

  it('ignores events and exec data before hello, and keeps the connection', async () => {
    const s1 = new FakeSocket();
    hub.attach(s1 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    s1.frame({ type: 'event', name: 'exec.exit', payload: { sessionId: 'x', exitCode: 0 } });
    s1.frame({ type: 'event', name: 'op.log', payload: { opId: 'x', line: 'early' } });
    s1.emit('message', Buffer.alloc(40, 1), true);
    s1.frame(hello);
    expect(s1.sent.map((f) => f.type)).toEqual(['welcome']);
    expect(hub.isOnline('n1')).toBe(true);
  });

  it('applies a hello report to just-fenced workspaces at once, and counts the node as heard only after it', async () => {
    const heardAt: string[] = [];
    const liveHub = new AgentHub(store, ops, pino({ level: 'silent' }), 1000, {
      heard: () =>
        void store.db
          .selectFrom('workspaces')
          .select('status')
          .where('id', '=', 'w1')
          .executeTakeFirstOrThrow()
          .then((r) => heardAt.push(r.status)),
      timing: { ttlMs: 3000, graceMs: 1000 },
    });
    const now = new Date().toISOString();
    await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: now }).execute();
    // Fenced this very moment, as liveness does when the node goes offline.
    await store.db
      .insertInto('workspaces')
      .values({
        id: 'w1',
        name: 'w1',
        owner_id: 'u',
        node_id: 'n1',
        provider: 'docker',
        image: 'i',
        status: 'unknown',
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const s1 = new FakeSocket();
    liveHub.attach(s1 as unknown as WebSocket, { id: 'n1', name: 'n1' });
    s1.frame({ ...hello, workspaces: [{ workspaceId: 'w1', status: 'running' }] });
    await new Promise((r) => setTimeout(r, 50));
    expect(heardAt).toEqual(['running']);
    // A heartbeat keeps the grace window: a row changed a moment ago waits for the next report.
    await store.db.updateTable('workspaces').set({ status: 'stopped', updated_at: new Date().toISOString() }).where('id', '=', 'w1').execute();
    s1.frame({ ...hello, type: 'heartbeat', workspaces: [{ workspaceId: 'w1', status: 'running' }] });
    await new Promise((r) => setTimeout(r, 50));
    expect((await store.db.selectFrom('workspaces').select('status').where('id', '=', 'w1').executeTakeFirstOrThrow()).status).toBe('stopped');
    liveHub.closeAll();
  });
});
