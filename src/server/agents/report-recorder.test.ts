import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin } from 'kysely';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/open.js';
import { NODE_ROW_WRITE_EVERY_MS, RECONCILE_EVERY_MS, ReportRecorder } from './report-recorder.js';

const log = pino({ level: 'silent' });
const resources = { cpus: 4, memoryBytes: 8e9, memoryFreeBytes: 4e9, diskBytes: 1e11, diskFreeBytes: 5e10 };
const providers = [{ kind: 'docker' as const, usable: true, details: {} }];
const full = (type: 'hello' | 'heartbeat', workspaces: Array<{ workspaceId: string; status: 'running' | 'stopped' }>) => ({
  type,
  agentVersion: '1.0',
  resources,
  providers,
  workspaces,
});
const GRACE = 10_000;

let dir: string;
let store: Store;
let counted: Store;
let queries: string[];
let clock: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-recorder-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  // The real database, with every statement the recorder runs noted (select/update).
  queries = [];
  const counter: KyselyPlugin = {
    transformQuery: (args) => {
      queries.push(args.node.kind);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  counted = { db: store.db.withPlugin(counter), close: () => store.close() };
  clock = Date.parse('2026-01-01T00:00:00Z');
  const old = new Date(clock - 3_600_000).toISOString();
  await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: old }).execute();
  await store.db
    .insertInto('nodes')
    .values({ id: 'n', name: 'n', credential_hash: 'x', created_at: old, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
    .execute();
  const ws = (id: string, status: string) => ({
    id,
    name: id,
    owner_id: 'u',
    node_id: 'n',
    provider: 'docker' as const,
    image: 'i',
    status,
    cpus: null,
    memory_bytes: null,
    error_json: null,
    created_at: old,
    updated_at: old,
  });
  await store.db
    .insertInto('workspaces')
    .values([ws('a', 'running'), ws('b', 'stopped')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const status = async (id: string) => (await store.db.selectFrom('workspaces').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
const setRow = (id: string, status: string, at = clock - 3_600_000) =>
  store.db
    .updateTable('workspaces')
    .set({ status, updated_at: new Date(at).toISOString() })
    .where('id', '=', id)
    .execute();
const agreeing = [
  { workspaceId: 'a', status: 'running' as const },
  { workspaceId: 'b', status: 'stopped' as const },
];

describe('ReportRecorder', () => {
  it('writes and reconciles on a hello, then an unchanged heartbeat costs no query at all', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    expect(queries).toEqual(['UpdateQueryNode', 'SelectQueryNode']);
    const row = await store.db.selectFrom('nodes').selectAll().where('id', '=', 'n').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ agent_version: '1.0', last_seen_at: new Date(clock).toISOString() });
    queries = [];
    for (let i = 0; i < 10; i++) {
      clock += 5_000;
      await r.record('n', { type: 'heartbeat' }, log, GRACE);
    }
    expect(queries).toEqual([]);
  });

  it('writes a change of free memory only with the periodic write, but a change of the totals at once', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    queries = [];
    clock += 5_000;
    await r.record('n', { type: 'heartbeat', resources: { ...resources, memoryFreeBytes: 1 } }, log, GRACE);
    expect(queries).toEqual([]);
    clock += NODE_ROW_WRITE_EVERY_MS;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(queries).toContain('UpdateQueryNode');
    const row = await store.db.selectFrom('nodes').select(['resources_json', 'last_seen_at']).where('id', '=', 'n').executeTakeFirstOrThrow();
    expect(JSON.parse(row.resources_json!).memoryFreeBytes).toBe(1);
    expect(row.last_seen_at).toBe(new Date(clock).toISOString());
    queries = [];
    clock += 5_000;
    await r.record('n', { type: 'heartbeat', resources: { ...resources, cpus: 8 } }, log, GRACE);
    expect(queries).toEqual(['UpdateQueryNode']);
  });

  it('reconciles when the workspaces part changed, and then not again while the report repeats', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    clock += 5_000;
    await r.record('n', { type: 'heartbeat', workspaces: [{ workspaceId: 'a', status: 'stopped' }, agreeing[1]!] }, log, GRACE);
    expect(await status('a')).toBe('stopped');
    queries = [];
    clock += 5_000;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(queries).toEqual([]);
  });

  it('a row fenced unknown is reconciled by the next report even when that report is unchanged', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    // Liveness fenced the node's workspaces (its heartbeats were late), then told the hub.
    clock += 21_000;
    await setRow('a', 'unknown', clock - GRACE - 1);
    await setRow('b', 'unknown', clock - GRACE - 1);
    r.markStale('n');
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect([await status('a'), await status('b')]).toEqual(['running', 'stopped']);
  });

  it('a row set by an operation moments ago is left through the grace, and reconciled by a later unchanged report', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    // An operation on the node failed and set the row failed, though the node still runs it.
    r.markStale('n');
    await setRow('a', 'failed', clock);
    clock += 5_000;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(await status('a')).toBe('failed'); // within the grace: the report may be older than the row
    clock += 6_000;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(await status('a')).toBe('running');
    // Agreed again: the next unchanged report (once the stale mark ran out) costs nothing.
    clock += 20_000;
    queries = [];
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(queries).toEqual([]);
  });

  it('a hello always reconciles at once, whatever the connection before reported', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    await setRow('a', 'unknown');
    await r.record('n', full('hello', agreeing), log, 0);
    expect(await status('a')).toBe('running');
  });

  it('reconciles an unchanged report at least every RECONCILE_EVERY_MS, for rows changed by anything that marks nothing', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    await setRow('b', 'unknown');
    clock += 5_000;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(await status('b')).toBe('unknown');
    clock += RECONCILE_EVERY_MS;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect(await status('b')).toBe('stopped');
  });

  it('after forget, a heartbeat that carries no workspaces reconciles nothing rather than failing every row', async () => {
    const r = new ReportRecorder(counted, 20_000, () => clock);
    await r.record('n', full('hello', agreeing), log, 0);
    r.forget('n');
    clock += RECONCILE_EVERY_MS * 2;
    await r.record('n', { type: 'heartbeat' }, log, GRACE);
    expect([await status('a'), await status('b')]).toEqual(['running', 'stopped']);
  });
});
