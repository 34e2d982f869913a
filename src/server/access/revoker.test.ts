import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { type LiveKind, LiveSessions } from './live-sessions.js';
import { Revoker } from './revoker.js';
import { writeSharingPolicy } from './settings.js';

let dir: string;
let store: Store;
let live: LiveSessions;
let revoker: Revoker;
const at = new Date().toISOString();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-revoker-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  live = new LiveSessions();
  revoker = new Revoker(store, live, new AuditLog(store, log), log, 100);
  await store.db
    .insertInto('users')
    .values(['alice', 'bob'].map((id) => ({ id, name: id, role: 'member' as const, email: null, created_at: at })))
    .execute();
  await store.db
    .insertInto('nodes')
    .values({ id: 'n1', name: 'n1', credential_hash: 'x', created_at: at, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
    .execute();
  await store.db
    .insertInto('workspaces')
    .values({
      id: 'w1',
      name: 'api',
      owner_id: 'alice',
      node_id: 'n1',
      provider: 'docker',
      image: 'base',
      status: 'running',
      cpus: null,
      memory_bytes: null,
      error_json: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
});

afterEach(async () => {
  revoker.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function session(userId: string, kind: LiveKind = 'ssh') {
  const ended: string[] = [];
  const unregister = live.add({ workspaceId: 'w1', workspaceName: 'api', userId, userName: userId, kind, close: (m) => ended.push(m) });
  return { ended, unregister };
}
const share = (expiresAt: string | null) =>
  store.db
    .insertInto('workspace_shares')
    .values({ id: 's1', workspace_id: 'w1', user_id: 'bob', team_id: null, role: 'use', expires_at: expiresAt, created_by: 'alice', created_at: at })
    .execute();
const revocations = () => store.db.selectFrom('audit_log').selectAll().where('action', '=', 'workspace.access.revoked').execute();

describe('Revoker', () => {
  it('ends only the sessions the rules no longer allow, saying why, and audits each', async () => {
    await share(null);
    const bob = session('bob');
    const bobFwd = session('bob', 'port-forward');
    const alice = session('alice');
    expect(await revoker.recheck()).toBe(0);
    await store.db.deleteFrom('workspace_shares').execute();
    expect(await revoker.recheck()).toBe(2);
    expect(bob.ended).toEqual([expect.stringMatching(/^Your access to workspace api was revoked \(the workspace is not yours.*\); session closed\.$/)]);
    expect(bobFwd.ended).toHaveLength(1);
    expect(alice.ended).toEqual([]);
    expect(live.size).toBe(1);
    const rows = await revocations();
    expect(rows.map((r) => [r.actor_name, r.detail?.split(':')[0]])).toEqual([
      ['bob', 'ssh session ended'],
      ['bob', 'port-forward session ended'],
    ]);
  });

  it('ends a session whose share expires, on its own sweep, within a few sweeps', async () => {
    await share(new Date(Date.now() + 300).toISOString());
    const bob = session('bob');
    revoker.start();
    const t0 = Date.now();
    while (bob.ended.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(bob.ended).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('ends the sessions of a removed user, and of shares once sharing is turned off', async () => {
    await share(null);
    const bob = session('bob');
    await writeSharingPolicy(store, 'admins');
    expect(await revoker.recheck()).toBe(0);
    await writeSharingPolicy(store, 'off');
    expect(await revoker.recheck()).toBe(1);
    expect(bob.ended[0]).toMatch(/revoked/);
    const alice = session('alice');
    await store.db.updateTable('workspaces').set({ owner_id: 'bob' }).execute();
    await store.db.deleteFrom('users').where('id', '=', 'alice').execute();
    expect(await revoker.recheck()).toBe(1);
    expect(alice.ended[0]).toMatch(/the user no longer exists/);
    const rows = await revocations();
    expect(rows.at(-1)).toMatchObject({ actor_id: null, actor_name: 'alice' });
  });

  it('leaves a session that unregistered alone', async () => {
    const bob = session('bob');
    bob.unregister();
    expect(await revoker.recheck()).toBe(0);
    expect(bob.ended).toEqual([]);
  });
});

describe('Revoker.recheck during a sweep', () => {
  it('runs one more sweep after the one under way, so a change made meanwhile is seen', async () => {
    await share(null);
    const bob = session('bob');
    const first = revoker.recheck();
    await store.db.deleteFrom('workspace_shares').execute();
    const second = revoker.recheck();
    const third = revoker.recheck();
    // A second sweep is queued behind the first (whichever of them saw the delete ends bob), and
    // callers asking meanwhile share it.
    expect(second).not.toBe(first);
    expect(third).toBe(second);
    expect((await first) + (await second)).toBe(1);
    expect(bob.ended).toHaveLength(1);
    expect(await revoker.recheck()).toBe(0);
  });
});
