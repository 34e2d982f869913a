import { afterEach, describe, expect, test, vi } from 'vitest';
import { ConnectionPool, type ConnectionPoolOptions, type Lease } from './ssh-pool.js';

/** An in-memory connection: the pool's rules do not depend on what a connection is. */
interface FakeConn {
  id: number;
  ended: boolean;
  /** Simulates the far end dropping the connection. */
  drop(): void;
}

function fakePool(overrides: Partial<ConnectionPoolOptions<FakeConn>> = {}) {
  const conns: FakeConn[] = [];
  let failNextDial: Error | undefined;
  const pool = new ConnectionPool<FakeConn>({
    async dial(closed) {
      if (failNextDial) {
        const err = failNextDial;
        failNextDial = undefined;
        throw err;
      }
      const conn: FakeConn = {
        id: conns.length + 1,
        ended: false,
        drop: () => closed(),
      };
      conns.push(conn);
      return conn;
    },
    end(conn) {
      conn.ended = true;
      // A real connection reports its close a moment after being ended.
      setTimeout(() => conn.drop(), 0);
    },
    maxConnections: 2,
    maxChannelsPerConnection: 3,
    idleTimeoutMs: 1000,
    ...overrides,
  });
  return { pool, conns, failDial: (e: Error) => (failNextDial = e) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ConnectionPool', () => {
  test('sequential leases reuse one connection', async () => {
    const { pool } = fakePool();
    for (let i = 0; i < 5; i++) (await pool.acquire()).release();
    expect(pool.stats()).toMatchObject({ connections: 1, dials: 1, activeChannels: 0 });
  });

  test('concurrent leases share a dial, fill connections to the channel cap, then queue', async () => {
    const { pool } = fakePool();
    const leases = await Promise.all(Array.from({ length: 6 }, () => pool.acquire()));
    expect(pool.stats()).toMatchObject({ connections: 2, dials: 2, activeChannels: 6, queued: 0 });
    expect(leases.filter((l) => l.connectionId === 1)).toHaveLength(3);

    const seventh = pool.acquire();
    await Promise.resolve();
    expect(pool.stats().queued).toBe(1);
    leases[4].release();
    const lease = await seventh;
    expect(lease.connectionId).toBe(leases[4].connectionId);
    expect(pool.stats()).toMatchObject({ dials: 2, activeChannels: 6, queued: 0 });
  });

  test('a dropped connection is forgotten and the next lease dials afresh', async () => {
    const { pool, conns } = fakePool();
    (await pool.acquire()).release();
    conns[0].drop();
    expect(pool.stats().connections).toBe(0);
    const lease = await pool.acquire();
    expect(lease.conn.id).toBe(2);
    expect(pool.stats().dials).toBe(2);
  });

  test('a drop frees capacity for waiters and late releases do not corrupt counts', async () => {
    const { pool, conns } = fakePool({ maxConnections: 1, maxChannelsPerConnection: 1 });
    const first = await pool.acquire();
    const waiting = pool.acquire();
    conns[0].drop();
    const second = await waiting;
    expect(second.conn.id).toBe(2);
    expect(first.dead).toBe(true);
    first.release();
    first.release();
    expect(pool.stats()).toMatchObject({ activeChannels: 1, connections: 1 });
  });

  test('discard ends the connection and the next lease dials', async () => {
    const { pool, conns } = fakePool();
    const lease = await pool.acquire();
    lease.discard();
    expect(conns[0].ended).toBe(true);
    expect((await pool.acquire()).conn.id).toBe(2);
  });

  test('refused marks a connection full until one of its channels ends', async () => {
    const { pool } = fakePool({ maxConnections: 2, maxChannelsPerConnection: 10 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    b.refused();
    const c = await pool.acquire();
    expect(c.connectionId).toBe(2);
    a.release();
    const d = await pool.acquire();
    expect(d.connectionId).toBe(1);
  });

  test('a failed dial rejects every lease waiting on it and leaves no slot behind', async () => {
    const { pool, failDial } = fakePool();
    failDial(new Error('refused'));
    const results = await Promise.allSettled([pool.acquire(), pool.acquire()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(pool.stats()).toMatchObject({ connections: 0, dialing: 0, activeChannels: 0 });
    expect((await pool.acquire()).conn.id).toBe(1);
  });

  test('idle connections close after the idle timeout, busy ones do not', async () => {
    vi.useFakeTimers();
    const { pool, conns } = fakePool({ idleTimeoutMs: 1000 });
    const busy = await pool.acquire();
    const leases: Lease<FakeConn>[] = [busy, await pool.acquire(), await pool.acquire(), await pool.acquire()];
    expect(pool.stats().connections).toBe(2);
    for (const l of leases.slice(1)) l.release();
    await vi.advanceTimersByTimeAsync(999);
    expect(pool.stats().connections).toBe(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(pool.stats().connections).toBe(1);
    expect(conns[1].ended).toBe(true);
    expect(conns[0].ended).toBe(false);
    busy.release();
    await vi.advanceTimersByTimeAsync(1001);
    expect(pool.stats().connections).toBe(0);
  });

  test('beyondCap dials past the connection cap instead of queueing', async () => {
    const { pool } = fakePool({ maxConnections: 1, maxChannelsPerConnection: 1 });
    await pool.acquire();
    const urgent = await pool.acquire(undefined, { beyondCap: true });
    expect(urgent.connectionId).toBe(2);
    expect(pool.stats()).toMatchObject({ connections: 2, queued: 0 });
  });

  test('an aborted wait leaves the queue', async () => {
    const { pool } = fakePool({ maxConnections: 1, maxChannelsPerConnection: 1 });
    await pool.acquire();
    const ac = new AbortController();
    const waiting = pool.acquire(ac.signal);
    ac.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(pool.stats().queued).toBe(0);
  });

  test('close ends connections, fails waiters and refuses new leases', async () => {
    const { pool, conns } = fakePool({ maxConnections: 1, maxChannelsPerConnection: 1 });
    await pool.acquire();
    const waiting = expect(pool.acquire()).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await pool.close();
    await waiting;
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(conns[0].ended).toBe(true);
    expect(pool.stats().connections).toBe(0);
  });
});
