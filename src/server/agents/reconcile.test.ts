import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/open.js';
import { reconcileReports } from './reconcile.js';

let dir: string;
let store: Store;
const log = pino({ level: 'silent' });
const old = new Date(Date.now() - 60_000).toISOString();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-rec-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await store.db.insertInto('users').values({ id: 'u', name: 'u', role: 'admin', email: null, created_at: old }).execute();
  await store.db
    .insertInto('nodes')
    .values({ id: 'n', name: 'n', credential_hash: 'x', created_at: old, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
    .execute();
  const ws = (id: string, status: string, updated = old) => ({
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
    updated_at: updated,
  });
  await store.db
    .insertInto('workspaces')
    .values([ws('run', 'running'), ws('gone', 'running'), ws('fresh', 'running', new Date().toISOString()), ws('busy', 'stopping'), ws('unk', 'unknown')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function statuses() {
  return Object.fromEntries((await store.db.selectFrom('workspaces').select(['id', 'status']).execute()).map((r) => [r.id, r.status]));
}

describe('reconcileReports', () => {
  it('follows the node for settled rows, marks vanished ones failed, and leaves busy or fresh rows alone', async () => {
    await reconcileReports(
      store,
      'n',
      [
        { workspaceId: 'run', status: 'stopped' },
        { workspaceId: 'busy', status: 'running' },
        { workspaceId: 'unk', status: 'running' },
      ],
      log,
      10_000,
    );
    expect(await statuses()).toEqual({ run: 'stopped', gone: 'failed', fresh: 'running', busy: 'stopping', unk: 'running' });
    const gone = await store.db.selectFrom('workspaces').select('error_json').where('id', '=', 'gone').executeTakeFirstOrThrow();
    expect(JSON.parse(gone.error_json!).message).toMatch(/vanished/);
  });
});
