/**
 * The server's SQLite file under the two ways a machine loses writes: the server killed with
 * SIGKILL in the middle of many writes, and the disk filling up. Either way the database stays
 * intact (`PRAGMA integrity_check`), the server starts again and serves, and a full disk is a
 * clear, coded error that changes nothing.
 */

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { TestServer, waitFor } from './harness.js';

/** What `PRAGMA integrity_check` says of the server's database (with the server stopped). */
function integrity(dataDir: string): string {
  const db = new Database(join(dataDir, 'berth.db'), { fileMustExist: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  } finally {
    db.close();
  }
}

/** Creates an API token over plain HTTP; resolves with the status, never throws on a refusal. */
async function createToken(server: TestServer, name: string): Promise<number> {
  const res = await fetch(`${server.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  await res.arrayBuffer();
  return res.status;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe('the server database', () => {
  it('survives SIGKILL in the middle of writes: intact, and the server starts and serves again', async () => {
    const server = await TestServer.start();
    cleanups.push(
      () => rm(server.dataDir, { recursive: true, force: true }),
      () => server.proc!.stop(),
    );
    // Writes in flight from several clients at once, and the server killed while they run.
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      let n = 0;
      while (!stop) await createToken(server, `kill-${w}-${n++}`).catch(() => (stop = true));
      return n;
    });
    await new Promise((r) => setTimeout(r, 1500));
    await server.proc!.stop('SIGKILL');
    stop = true;
    const attempted = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
    expect(attempted, 'the writers got going before the kill').toBeGreaterThan(8);
    expect(integrity(server.dataDir)).toBe('ok');

    await server.launch();
    const list = await server.json<{ tokens: Array<{ name: string }> }>(['token', 'ls']);
    expect(list.tokens.filter((t) => t.name.startsWith('kill-')).length).toBeGreaterThan(0);
    expect(await createToken(server, 'after-restart')).toBe(201);
    await server.proc!.stop();
    expect(integrity(server.dataDir)).toBe('ok');
  });

  it('answers a full disk with UNAVAILABLE that changes nothing, and carries on once there is room', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-full-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { encoding: 'utf8' });
    expect(mounted.status, `a small tmpfs for the data dir is needed (mount: ${mounted.stderr})`).toBe(0);
    cleanups.push(async () => spawnSync('umount', ['-l', dir]));
    const server = await TestServer.start({ dataDir: join(dir, 'data') });
    cleanups.push(() => server.proc!.stop());

    // Fill every byte that is left.
    spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'fill')}`, 'bs=64k'], { encoding: 'utf8' });
    const refused = await server.cli(['token', 'create', 'on-a-full-disk', '--json']);
    expect(refused.code, refused.stderr).toBe(6);
    const error = JSON.parse(refused.stderr).error;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('disk holding its data dir is full');
    // The server is still up and answers reads.
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);

    await rm(join(dir, 'fill'));
    await waitFor('a write to succeed with room again', async () => (await server.cli(['token', 'create', 'with-room'])).code === 0, 10_000, 250);
    const names = (await server.json<{ tokens: Array<{ name: string }> }>(['token', 'ls'])).tokens.map((t) => t.name);
    expect(names).toContain('with-room');
    expect(names).not.toContain('on-a-full-disk');
    await server.proc!.stop();
    expect(integrity(server.dataDir)).toBe('ok');
  });
});
