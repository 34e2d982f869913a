import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { workspaceRow } from '../store/seed.test-support.js';
import { LivenessMonitor, nodeStatusAt, ttlProblem } from './liveness.js';
import { reconcileReports } from './reconcile.js';

const T = { heartbeatMs: 1000, ttlMs: 3000, graceMs: 1000 };

describe('nodeStatusAt', () => {
  it('is online while heartbeats come within TTL + grace, then offline', () => {
    const base = { recorded: 'offline' as const, serverStartedMs: 0 };
    expect(nodeStatusAt({ ...base, lastHeardMs: 10_000, nowMs: 13_999 }, T)).toBe('online');
    expect(nodeStatusAt({ ...base, lastHeardMs: 10_000, nowMs: 14_000 }, T)).toBe('offline');
  });

  it('keeps the recorded status during the grace after a server start, then decides by heartbeats', () => {
    expect(nodeStatusAt({ recorded: 'online', lastHeardMs: null, nowMs: 3_999, serverStartedMs: 0 }, T)).toBe('online');
    expect(nodeStatusAt({ recorded: 'online', lastHeardMs: null, nowMs: 4_000, serverStartedMs: 0 }, T)).toBe('offline');
    expect(nodeStatusAt({ recorded: 'offline', lastHeardMs: null, nowMs: 1_000, serverStartedMs: 0 }, T)).toBe('offline');
  });

  it('never calls a node offline while heartbeats arrive at most every interval, however they jitter within it', () => {
    // Heartbeats delayed by retransmits (up to one extra interval each) still keep the node online.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 * T.heartbeatMs }), { minLength: 1, maxLength: 200 }), (gaps) => {
        let heard = 0;
        for (const gap of gaps) {
          const now = heard + gap;
          if (nodeStatusAt({ recorded: 'online', lastHeardMs: heard, nowMs: now, serverStartedMs: 0 }, T) !== 'online') return false;
          heard = now;
        }
        return true;
      }),
    );
  });

  it('refuses a TTL shorter than three heartbeat intervals', () => {
    expect(ttlProblem({ heartbeatMs: 5000, ttlMs: 15_000, graceMs: 5000 })).toBeNull();
    expect(ttlProblem({ heartbeatMs: 5000, ttlMs: 10_000, graceMs: 5000 })).toMatch(/three heartbeat intervals/);
  });
});

describe('LivenessMonitor (fake clock)', () => {
  let dir: string;
  let store: Store;
  let clock = 0;
  const log = pino({ level: 'silent' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-live-'));
    store = await openSqliteStore(join(dir, 'berth.db'));
    clock = 1_000_000;
    const now = new Date(clock).toISOString();
    await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: now }).execute();
    await store.db
      .insertInto('nodes')
      .values({
        id: 'n1',
        name: 'n1',
        credential_hash: 'x',
        created_at: now,
        last_seen_at: null,
        agent_version: null,
        resources_json: null,
        providers_json: '[]',
        status: 'online',
      })
      .execute();
    const ws = (name: string, status: string) => workspaceRow(name, name, 'u', now, { status });
    await store.db
      .insertInto('workspaces')
      .values([ws('run', 'running'), ws('stop', 'stopped'), ws('busy', 'stopping'), ws('bad', 'failed')])
      .execute();
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const statuses = async () =>
    Object.fromEntries((await store.db.selectFrom('workspaces').select(['name', 'status']).execute()).map((r) => [r.name, r.status]));

  it('holds a node online through the start grace, fences its workspaces when it stays silent, and reconciles them when it returns', async () => {
    const m = new LivenessMonitor(store, new AuditLog(store, log), log, T, () => clock);
    // A server restart: nothing connected yet, the node keeps its recorded status.
    clock += 3_000;
    expect(await m.check()).toEqual([]);
    expect(m.statusOf('n1', 'online')).toBe('online');
    // Past TTL + grace since the start, still silent: offline, and running/stopped become unknown.
    clock += 1_000;
    expect(await m.check()).toEqual([{ name: 'n1', from: 'online', to: 'offline' }]);
    expect(await statuses()).toEqual({ run: 'unknown', stop: 'unknown', busy: 'stopping', bad: 'failed' });
    const audit = await store.db.selectFrom('audit_log').selectAll().execute();
    expect(audit).toMatchObject([
      { action: 'node.offline', target: 'node/n1', actor_name: 'berth', detail: expect.stringContaining('2 workspace(s) now unknown') },
    ]);
    // Nothing was deleted.
    expect(Object.keys(await statuses())).toHaveLength(4);

    // It comes back: online again, and its report brings the rows back to what exists.
    m.heard('n1');
    expect(await m.check()).toEqual([{ name: 'n1', from: 'offline', to: 'online' }]);
    clock += 10_000;
    m.heard('n1');
    await reconcileReports(
      store,
      'n1',
      [
        { workspaceId: 'run', status: 'running' },
        { workspaceId: 'stop', status: 'stopped' },
        { workspaceId: 'bad', status: 'failed' },
      ],
      log,
      0,
    );
    expect(await statuses()).toMatchObject({ run: 'running', stop: 'stopped' });
    expect((await store.db.selectFrom('audit_log').select('action').execute()).map((r) => r.action)).toEqual(['node.offline', 'node.online']);
  });

  it('turns a node offline TTL + grace after its last heartbeat, not before', async () => {
    const m = new LivenessMonitor(store, new AuditLog(store, log), log, T, () => clock);
    m.heard('n1');
    clock += 3_999;
    expect(await m.check()).toEqual([]);
    clock += 1;
    expect((await m.check()).map((c) => c.to)).toEqual(['offline']);
  });
});
