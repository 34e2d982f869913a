import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, type User } from '../../api/index.js';
import { AuditLog } from '../audit/audit.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers } from '../store/seed.test-support.js';
import { OperationAccess } from './access.js';
import { Operations } from './operations.js';

let dir: string;
let store: Store;
let ops: Operations;
let access: OperationAccess;

const user = (id: string, role: 'admin' | 'member' = 'member'): User => ({ id, name: id, email: null, role, createdAt: '' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-opaccess-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const log = pino({ level: 'silent' });
  ops = new Operations(store, log);
  access = new OperationAccess(store, ops, new AuditLog(store, log));
  const now = new Date().toISOString();
  await seedUsers(
    store,
    [
      { id: 'admin', name: 'admin', role: 'admin' },
      { id: 'mia', name: 'mia', role: 'member' },
      { id: 'max', name: 'max', role: 'member' },
    ],
    now,
  );
  await seedNode(store, 'n1', now);
  await store.db
    .insertInto('workspaces')
    .values({
      id: 'w1',
      name: 'mias',
      owner_id: 'mia',
      node_id: 'n1',
      provider: 'docker',
      image: 'base',
      status: 'running',
      cpus: null,
      memory_bytes: null,
      error_json: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('OperationAccess', () => {
  it('shows a member the operations they started and those on their workspaces, and hides the rest as NOT_FOUND, audited', async () => {
    const own = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'mia' }, async () => {});
    const onHers = await ops.start({ kind: 'workspace.restart', target: 'workspace/mias', workspaceId: 'w1', createdBy: 'admin' }, async () => {});
    const admins = await ops.start({ kind: 'image.build', target: 'image/base', createdBy: 'admin' }, async () => {});
    expect((await access.get(user('mia'), own.id)).id).toBe(own.id);
    expect((await access.get(user('mia'), onHers.id)).id).toBe(onHers.id);
    await expect(access.get(user('mia'), admins.id)).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    for (const id of [own.id, onHers.id, admins.id]) await expect(access.get(user('max'), id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(access.watch(user('max'), own.id, () => {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await access.get(user('admin', 'admin'), own.id)).id).toBe(own.id);
    const denials = await store.db.selectFrom('audit_log').selectAll().where('outcome', '=', 'denied').execute();
    expect(denials.map((d) => [d.actor_name, d.action])).toEqual([
      ['mia', 'operation.access'],
      ['max', 'operation.access'],
      ['max', 'operation.access'],
      ['max', 'operation.access'],
      ['max', 'operation.access'],
    ]);
  });

  it('cancels a running create: its signal fires and it ends failed with CANCELLED, whatever its body threw', async () => {
    let seen: unknown;
    const op = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'mia' }, async (r) => {
      await new Promise<void>((resolve) => r.signal.addEventListener('abort', () => resolve(), { once: true }));
      seen = r.signal.reason;
      throw new Error('the provider saw an AbortError');
    });
    await expect(access.cancel(user('max'), op.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await access.cancel(user('mia'), op.id)).status).toBe('running');
    const done = await ops.finished(op.id);
    expect(seen).toBeInstanceOf(BerthError);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'CANCELLED' } });
    expect(done.error?.message).toContain('cancelled by mia');
    await expect(access.cancel(user('mia'), op.id)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
  });

  it('refuses to cancel kinds that cannot undo themselves', async () => {
    let release!: () => void;
    const op = await ops.start(
      { kind: 'workspace.stop', target: 'workspace/mias', workspaceId: 'w1', createdBy: 'mia' },
      () => new Promise<void>((r) => (release = r)),
    );
    await expect(access.cancel(user('mia'), op.id)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('cannot be cancelled'),
    });
    release();
    expect((await ops.finished(op.id)).status).toBe('succeeded');
  });
});
