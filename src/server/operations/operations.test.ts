import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, type OperationEvent } from '../../api/index.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { interruptedMessage, Operations } from './operations.js';

let dir: string;
let store: Store;
let ops: Operations;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-ops-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  ops = new Operations(store, pino({ level: 'silent' }));
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function collect(id: string): Promise<OperationEvent[]> {
  return new Promise((resolve) => {
    const seen: OperationEvent[] = [];
    void ops.watch(id, (e) => {
      seen.push(e);
      if (e.type === 'done') resolve(seen);
    });
  });
}

describe('Operations', () => {
  it('streams every progress event but writes the row at most every 500 ms, and the last stage of a failure', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const op = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'u' }, async (r) => {
      for (let i = 1; i <= 10; i++) r.progress(`stage ${i}`, i / 10);
      await gate;
      throw new BerthError('INTERNAL', 'went wrong');
    });
    const events = collect(op.id);
    // Ten stages in a burst: none written yet, then the latest one after the interval.
    expect(await ops.get(op.id)).toMatchObject({ stage: 'queued', progress: null });
    await new Promise((r) => setTimeout(r, 700));
    expect(await ops.get(op.id)).toMatchObject({ stage: 'stage 10', progress: 1, status: 'running' });
    release();
    const seen = await events;
    expect(seen.filter((e) => e.type === 'progress')).toHaveLength(10);
    expect(await ops.get(op.id)).toMatchObject({ status: 'failed', stage: 'stage 10' });
  });

  it('a progress not yet written lands with the finish, in the same write', async () => {
    const op = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'u' }, async (r) => {
      r.progress('almost', 0.9);
      throw new BerthError('INTERNAL', 'went wrong');
    });
    const seen = await collect(op.id);
    const done = seen.at(-1) as Extract<OperationEvent, { type: 'done' }>;
    expect(done.operation).toMatchObject({ status: 'failed', stage: 'almost', progress: 0.9 });
    expect(await ops.get(op.id)).toMatchObject({ status: 'failed', stage: 'almost', progress: 0.9 });
  });

  it('still ends with done when its outcome cannot be recorded, and nothing escapes to the process', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const op = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'u' }, () => gate);
    const events = collect(op.id);
    // The store refuses the final write (as a full disk or a broken database would).
    await sql`ALTER TABLE operations RENAME TO operations_elsewhere`.execute(store.db);
    release();
    const done = (await events).at(-1);
    expect(done).toMatchObject({ type: 'done', operation: { id: op.id, status: 'failed', error: { code: 'INTERNAL' } } });
    await sql`ALTER TABLE operations_elsewhere RENAME TO operations`.execute(store.db);
  });

  it('returns at once, then streams progress, logs and the outcome', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const op = await ops.start({ kind: 'workspace.create', target: 'workspace/x', createdBy: 'u' }, async (r) => {
      r.progress('pulling', 0.5);
      r.log('line one');
      await gate;
    });
    expect(op.status).toBe('running');
    const events = collect(op.id);
    release();
    const seen = await events;
    expect(seen.map((e) => e.type)).toEqual(['progress', 'log', 'done']);
    const done = seen.at(-1) as Extract<OperationEvent, { type: 'done' }>;
    expect(done.operation.status).toBe('succeeded');
    expect((await ops.get(op.id)).finishedAt).not.toBeNull();
  });

  it('replays everything to a late watcher and records a failure with its code', async () => {
    const op = await ops.start({ kind: 'workspace.start', target: 'workspace/y', createdBy: 'u' }, async (r) => {
      r.log('about to fail');
      throw new BerthError('NODE_OFFLINE', 'Node gone.');
    });
    await new Promise((r) => setTimeout(r, 50));
    const seen = await collect(op.id);
    expect(seen[0]).toEqual({ type: 'log', line: 'about to fail' });
    const final = await ops.get(op.id);
    expect(final.status).toBe('failed');
    expect(final.error).toMatchObject({ code: 'NODE_OFFLINE', message: 'Node gone.' });
  });

  it('marks operations interrupted by a crash as failed', async () => {
    await ops.start({ kind: 'workspace.stop', target: 'workspace/z', createdBy: 'u' }, () => new Promise(() => {}));
    const restarted = new Operations(store, pino({ level: 'silent' }));
    expect(await restarted.failInterrupted()).toBe(1);
    const [row] = await store.db.selectFrom('operations').selectAll().execute();
    expect(row.status).toBe('failed');
    expect(JSON.parse(row.error_json!)).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^The server restarted while this stop ran \(interrupted\); workspace z shows what its node reports/),
    });
    expect(restarted.interruptedOps()).toEqual([{ id: row.id, kind: 'workspace.stop', workspaceId: null }]);
    // Once the outcome is known the message says it, once; other operations are not touched.
    await restarted.amendInterrupted(row.id, 'interrupted; the workspace is now stopped');
    expect((await restarted.get(row.id)).error).toEqual({ code: 'UNAVAILABLE', message: 'interrupted; the workspace is now stopped' });
    expect(restarted.interruptedOps()).toEqual([]);
    await restarted.amendInterrupted(row.id, 'again');
    expect((await restarted.get(row.id)).error?.message).toBe('interrupted; the workspace is now stopped');
  });

  it('says for each kind what a restart made of its cut-off work', () => {
    expect(interruptedMessage('workspace.create', 'workspace/w')).toMatch(/rolled back: workspace w is removed/);
    expect(interruptedMessage('workspace.delete', 'workspace/w')).toMatch(/delete is finished once the node of workspace w is connected/);
    expect(interruptedMessage('image.build', 'image/base')).toMatch(/keeps nothing half-built/);
    expect(interruptedMessage('node.drain', 'node/n1')).toMatch(/node n1 stays cordoned.*berth node drain n1/);
    expect(interruptedMessage('node.add', 'node/x')).toMatch(/^The server restarted while this add ran \(interrupted\); check node\/x and retry\.$/);
  });

  it('answers NOT_FOUND for an unknown id', async () => {
    await expect(ops.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
