import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { AuditLog } from '../audit/audit.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { workspaceRow } from '../store/seed.test-support.js';
import { planReaps, Reaper } from './reaper.js';

describe('planReaps', () => {
  it('reaps an id only once it has been reported unknown for the whole grace, and forgets what is known or no longer reported', () => {
    const id = fc.constantFrom<string>('a', 'b', 'c', 'd', 'e');
    fc.assert(
      fc.property(
        fc.array(id),
        fc.array(id),
        fc.dictionary(id, fc.integer({ min: 0, max: 1000 })),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 500 }),
        (reported, knownIds, seen, nowMs, graceMs) => {
          const known = new Set(knownIds);
          const firstSeen = new Map(Object.entries(seen).filter(([, t]) => t <= nowMs));
          const plan = planReaps({ reported, known, firstSeen, nowMs, graceMs });
          for (const r of plan.reap) {
            // Never something known, never something not reported now, never before the grace.
            expect(known.has(r)).toBe(false);
            expect(reported).toContain(r);
            expect(nowMs - (firstSeen.get(r) ?? nowMs)).toBeGreaterThanOrEqual(graceMs);
          }
          for (const [k, t] of plan.firstSeen) {
            expect(known.has(k) || !reported.includes(k) || plan.reap.includes(k)).toBe(false);
            expect(t).toBe(firstSeen.get(k) ?? nowMs);
          }
          // Every unknown reported id is either reaped now or waiting.
          for (const r of reported) if (!known.has(r)) expect(plan.reap.includes(r) !== plan.firstSeen.has(r)).toBe(true);
          expect(new Set(plan.reap).size).toBe(plan.reap.length);
        },
      ),
    );
  });
});

let dir: string;
let store: Store;
let audit: AuditLog;
let clock: number;
let asked: Array<[string, unknown]>;
let failNext: boolean;
let reaper: Reaper;
const GRACE = 60_000;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-reaper-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  audit = new AuditLog(store, pino({ level: 'silent' }));
  const now = new Date().toISOString();
  await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: now }).execute();
  await store.db
    .insertInto('nodes')
    .values({
      id: 'n1',
      name: 'one',
      credential_hash: 'x',
      created_at: now,
      last_seen_at: null,
      agent_version: null,
      resources_json: null,
      providers_json: '[]',
    })
    .execute();
  const ws = (id: string, status: string) => workspaceRow(id, id, 'u', now, { status });
  await store.db
    .insertInto('workspaces')
    .values([ws('running', 'running'), ws('creating', 'creating'), ws('deleting', 'deleting'), ws('unknown', 'unknown')])
    .execute();
  // A create whose row is not there (yet): its running operation protects it.
  await store.db
    .insertInto('operations')
    .values({
      id: 'op1',
      kind: 'workspace.create',
      target: 'workspace/x',
      workspace_id: 'op-only',
      status: 'running',
      stage: 'queued',
      progress: null,
      error_json: null,
      created_by: 'u',
      created_at: now,
      finished_at: null,
    })
    .execute();
  await store.db.insertInto('workspace_tombstones').values({ workspace_id: 'tombstoned', node_id: 'n1', name: 'gone', removed_at: now }).execute();
  clock = 1_000_000;
  asked = [];
  failNext = false;
  const hub = {
    request: async (_node: string, method: string, params: unknown) => {
      asked.push([method, params]);
      if (failNext) {
        failNext = false;
        throw new BerthError('NODE_OFFLINE', 'The node went away.');
      }
      return {};
    },
  };
  reaper = new Reaper(store, hub as never, audit, pino({ level: 'silent' }), GRACE, () => clock);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const report = (workspaces: string[], orphans: string[] = []) => ({
  workspaces: workspaces.map((workspaceId) => ({ workspaceId, status: 'running' as const })),
  orphans: orphans.map((workspaceId) => ({ workspaceId, kind: 'docker' as const })),
});
const reaps = () => store.db.selectFrom('audit_log').selectAll().where('action', '=', 'workspace.reap').execute();

describe('Reaper', () => {
  it('removes a workspace the server does not know after the grace, audited; never one with a row, a running operation or a tombstone', async () => {
    const everything = report(['running', 'creating', 'deleting', 'unknown', 'op-only', 'tombstoned', 'stray'], ['orphan', 'creating']);
    expect(await reaper.observe('n1', everything)).toEqual([]);
    clock += GRACE - 1;
    expect(await reaper.observe('n1', everything)).toEqual([]);
    expect(asked).toEqual([]);
    clock += 1;
    expect((await reaper.observe('n1', everything)).sort()).toEqual(['orphan', 'stray']);
    expect(asked).toEqual([
      ['workspace.delete', { opId: 'reap-stray', workspaceId: 'stray' }],
      ['workspace.delete', { opId: 'reap-orphan', workspaceId: 'orphan' }],
    ]);
    const entries = await reaps();
    expect(entries.map((e) => [e.target, e.outcome, e.actor_name])).toEqual([
      ['workspace/stray', 'ok', 'berth'],
      ['workspace/orphan', 'ok', 'berth'],
    ]);
    expect(entries[0]!.detail).toMatch(/node one: run by its agent, with no workspace row or operation in berth for 60 s/);
    expect(entries[1]!.detail).toMatch(/labelled by berth but held by no agent handle/);
    // The mid-operation ones stay untouched however long they are reported.
    clock += 10 * GRACE;
    asked = [];
    expect(await reaper.observe('n1', report(['running', 'creating', 'deleting', 'unknown', 'op-only', 'tombstoned']))).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('starts over for an id that was not reported in between (a report that raced a create or a delete)', async () => {
    await reaper.observe('n1', report(['stray']));
    clock += GRACE / 2;
    await reaper.observe('n1', report([]));
    clock += GRACE / 2;
    expect(await reaper.observe('n1', report(['stray']))).toEqual([]);
    clock += GRACE - 1;
    expect(await reaper.observe('n1', report(['stray']))).toEqual([]);
    clock += 1;
    expect(await reaper.observe('n1', report(['stray']))).toEqual(['stray']);
  });

  it('keeps first-seen times per node', async () => {
    await reaper.observe('n1', report(['stray']));
    clock += GRACE;
    expect(await reaper.observe('n2', report(['stray']))).toEqual([]);
    expect(await reaper.observe('n1', report(['stray']))).toEqual(['stray']);
  });

  it('audits a delete the node fails and tries again only after another grace', async () => {
    await reaper.observe('n1', report(['stray']));
    clock += GRACE;
    failNext = true;
    expect(await reaper.observe('n1', report(['stray']))).toEqual([]);
    expect((await reaps()).map((e) => e.outcome)).toEqual(['error']);
    expect((await reaps())[0]!.detail).toMatch(/^NODE_OFFLINE: The node went away\. .*retried after the grace$/);
    clock += 1000;
    expect(await reaper.observe('n1', report(['stray']))).toEqual([]);
    expect(asked).toHaveLength(1);
    clock += GRACE;
    expect(await reaper.observe('n1', report(['stray']))).toEqual(['stray']);
    expect(asked).toHaveLength(2);
  });
});

describe('Reaper on the heartbeat path', () => {
  it('does not query again for a report of the same known workspaces within a minute, and sees a row dropped meanwhile after that', async () => {
    let queries = 0;
    const db = new Proxy(store.db, {
      get: (t, p) => {
        if (p === 'selectFrom') queries++;
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const counting = { ...store, db } as Store;
    const r = new Reaper(counting, { request: async () => ({}) } as never, audit, pino({ level: 'silent' }), 1000, () => clock);
    await r.observe('n1', report(['running']));
    const after = queries;
    expect(after).toBeGreaterThan(0);
    clock += 30_000;
    await r.observe('n1', report(['running']));
    expect(queries).toBe(after);
    // The row goes behind the node's back: once the cache is stale the id counts as unknown.
    await store.db.deleteFrom('workspaces').where('id', '=', 'running').execute();
    clock += 30_000;
    expect(await r.observe('n1', report(['running']))).toEqual([]);
    expect(queries).toBeGreaterThan(after);
    clock += 1_000;
    expect(await r.observe('n1', report(['running']))).toEqual(['running']);
  });
});
