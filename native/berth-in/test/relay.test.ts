/**
 * `berth-in relay` on this host: real listeners, real sockets, frames through the TS codec.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_FRAME, RELAY_INITIAL_WINDOW, encodeRelayData, encodeRelayWindow, relayWindowBytes } from '../../../src/api/relay-protocol.js';
import { RelayProc, requireBinary, until } from './harness.js';

const relays: RelayProc[] = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

beforeAll(() => requireBinary());
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const r of relays.splice(0)) r.kill();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function relay(args: string[]): RelayProc {
  const r = new RelayProc(args);
  relays.push(r);
  return r;
}

/** A client socket that collects what it reads and notes its end. */
function client(target: { port: number } | { path: string }): Promise<Socket & { got: () => Buffer; ended: () => boolean }> {
  return new Promise((resolve, reject) => {
    const s = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    sockets.push(s);
    const chunks: Buffer[] = [];
    let ended = false;
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => (ended = true));
    s.once('error', reject);
    s.once('connect', () => resolve(Object.assign(s, { got: () => Buffer.concat(chunks), ended: () => ended })));
  });
}

async function readyPort(r: RelayProc): Promise<number> {
  const ready = await r.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
  expect(ready.id).toBe(0);
  return JSON.parse(ready.payload.toString()).port as number;
}

describe('berth-in relay tcp', () => {
  it('listens on a free port for --port 0 and carries several connections both ways, with half close', async () => {
    const r = relay(['tcp', '--port', '0']);
    const port = await readyPort(r);
    expect(port).toBeGreaterThan(0);
    const clients = [await client({ port }), await client({ port }), await client({ port })];
    const opens = await until('three OPEN frames', () => {
      const o = r.frames.filter((f) => f.type === RELAY_FRAME.OPEN);
      return o.length === 3 ? o : null;
    });
    expect(new Set(opens.map((o) => o.id)).size).toBe(3);
    for (const o of opens) expect(JSON.parse(o.payload.toString()).peer).toMatch(/^127\.0\.0\.1:\d+$/);
    // Which id is which client: each says its index.
    clients.forEach((c, i) => c.write(`hello from ${i}`));
    const idOf = new Map<number, number>();
    for (const o of opens) {
      await until(`data on ${o.id}`, () => r.dataFor(o.id).length > 0);
      idOf.set(Number(r.dataFor(o.id).toString().slice(-1)), o.id);
    }
    clients.forEach((_, i) => r.send(RELAY_FRAME.DATA, idOf.get(i)!, Buffer.from(`reply to ${i}`)));
    for (const [i, c] of clients.entries()) await until(`reply to ${i}`, () => c.got().toString() === `reply to ${i}`);

    // Half close from the client: the relay sends EOF, and bytes still flow the other way.
    const c0 = clients[0];
    const id0 = idOf.get(0)!;
    c0.end();
    await r.waitFrame((f) => f.type === RELAY_FRAME.EOF && f.id === id0, 'EOF from the client');
    r.send(RELAY_FRAME.DATA, id0, Buffer.from(' and more'));
    await until('data after half close', () => c0.got().toString() === 'reply to 0 and more');
    r.send(RELAY_FRAME.EOF, id0);
    await until('the client sees the end', () => c0.ended());
    await r.waitFrame((f) => f.type === RELAY_FRAME.CLOSE && f.id === id0, 'CLOSE once both sides ended');

    // CLOSE from our side closes the socket; the other connections are untouched.
    const id1 = idOf.get(1)!;
    r.send(RELAY_FRAME.CLOSE, id1);
    await until('client 1 closed', () => clients[1].ended() || clients[1].destroyed);
    clients[2].write('still here');
    await until('client 2 still flows', () => r.dataFor(idOf.get(2)!).toString().endsWith('still here'));
  });

  it('exits 0 when stdin closes, closing its connections and its listener', async () => {
    const r = relay(['tcp', '--port', '0']);
    const port = await readyPort(r);
    const c = await client({ port });
    await r.waitFrame((f) => f.type === RELAY_FRAME.OPEN, 'OPEN');
    r.child.stdin.end();
    expect(await r.exited).toBe(0);
    await until('the connection is closed', () => c.ended() || c.destroyed);
    await expect(client({ port })).rejects.toThrow(/ECONNREFUSED/);
    expect(r.stderr).toBe('');
  });

  it('sends no more than the window the other side granted, per connection', async () => {
    const r = relay(['tcp', '--port', '0']);
    const port = await readyPort(r);
    const slow = await client({ port });
    const slowId = (await r.waitFrame((f) => f.type === RELAY_FRAME.OPEN, 'OPEN')).id;
    const big = Buffer.alloc(RELAY_INITIAL_WINDOW * 3, 0x61);
    slow.write(big);
    await until('the first window is used up', () => r.dataFor(slowId).length === RELAY_INITIAL_WINDOW);
    // Give it time to (wrongly) send more.
    await new Promise((res) => setTimeout(res, 300));
    expect(r.dataFor(slowId).length).toBe(RELAY_INITIAL_WINDOW);
    // A second connection is not held up by the first one's closed window.
    const other = await client({ port });
    const otherId = (await r.waitFrame((f) => f.type === RELAY_FRAME.OPEN && f.id !== slowId, 'second OPEN')).id;
    other.write('quick');
    await until('the other connection flows', () => r.dataFor(otherId).toString() === 'quick');
    r.child.stdin.write(encodeRelayWindow(slowId, 100_000));
    await until('exactly the granted bytes more', () => r.dataFor(slowId).length === RELAY_INITIAL_WINDOW + 100_000);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.dataFor(slowId).length).toBe(RELAY_INITIAL_WINDOW + 100_000);
  });

  it('moves 2 MiB to a slow reader without ever exceeding the window, granting it back as the reader reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-in-relay-'));
    dirs.push(dir);
    const path = join(dir, 'slow.sock');
    const r = relay(['unix', '--path', path]);
    await r.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
    const c = await client({ path });
    const id = (await r.waitFrame((f) => f.type === RELAY_FRAME.OPEN, 'OPEN')).id;
    // The reader takes a little now and then.
    c.pause();
    const reader = setInterval(() => {
      c.resume();
      setTimeout(() => c.pause(), 1);
    }, 15);
    const data = randomBytes(2 * 1024 * 1024);
    const granted = () => r.frames.filter((f) => f.type === RELAY_FRAME.WINDOW && f.id === id).reduce((n, f) => n + relayWindowBytes(f), 0);
    let sent = 0;
    let stalls = 0;
    try {
      while (sent < data.length) {
        let credit = RELAY_INITIAL_WINDOW + granted() - sent;
        if (credit <= 0) {
          stalls++;
          await until('more window', () => RELAY_INITIAL_WINDOW + granted() - sent > 0, 10_000);
          credit = RELAY_INITIAL_WINDOW + granted() - sent;
        }
        const n = Math.min(credit, 65_536, data.length - sent);
        r.send(RELAY_FRAME.DATA, id, data.subarray(sent, sent + n));
        sent += n;
      }
      c.resume();
      await until('everything read', () => c.got().length === data.length, 10_000);
    } finally {
      clearInterval(reader);
    }
    expect(c.got().equals(data)).toBe(true);
    // The reader was slow enough that the window, not the sender, set the pace.
    expect(stalls).toBeGreaterThan(0);
    await until('the whole transfer granted back', () => granted() === data.length);
  });

  it('ends with exit 1 when the other side sends past its window', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-in-relay-'));
    dirs.push(dir);
    const path = join(dir, 'stuck.sock');
    const r = relay(['unix', '--path', path]);
    await r.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
    const c = await client({ path });
    c.pause();
    const id = (await r.waitFrame((f) => f.type === RELAY_FRAME.OPEN, 'OPEN')).id;
    // 8 MiB at a reader that takes nothing: far more than a unix socket buffers plus the window.
    for (const f of encodeRelayData(id, Buffer.alloc(8 * 1024 * 1024, 0x63))) r.child.stdin.write(f);
    expect(await r.exited).toBe(1);
    expect(r.stderr).toMatch(/^berth-in: failed: protocol error: connection \d+ was sent more than its window\n$/);
  });

  it('reports FAIL and exits 1 when it cannot listen, and 2 for bad usage', async () => {
    const first = relay(['tcp', '--port', '0']);
    const port = await readyPort(first);
    const second = relay(['tcp', '--port', String(port)]);
    const fail = await second.waitFrame((f) => f.type === RELAY_FRAME.FAIL, 'FAIL');
    expect(fail.payload.toString()).toContain('address already in use');
    expect(await second.exited).toBe(1);
    const bad = relay(['tcp', '--port', '70000']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toMatch(/^berth-in: usage: /);
  });
});

describe('berth-in relay unix', () => {
  it('carries connections on a 0600 socket and removes it when stdin closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-in-relay-'));
    dirs.push(dir);
    const path = join(dir, 'agent.sock');
    const r = relay(['unix', '--path', path]);
    const ready = await r.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
    expect(JSON.parse(ready.payload.toString())).toEqual({ path });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const a = await client({ path });
    const b = await client({ path });
    const opens = await until('two OPEN frames', () => {
      const o = r.frames.filter((f) => f.type === RELAY_FRAME.OPEN);
      return o.length === 2 ? o : null;
    });
    a.write('A');
    b.write('B');
    await until('both sent', () => opens.every((o) => r.dataFor(o.id).length === 1));
    for (const o of opens) r.send(RELAY_FRAME.DATA, o.id, Buffer.from(`echo ${r.dataFor(o.id).toString()}`));
    await until('both answered', () => a.got().toString() === 'echo A' && b.got().toString() === 'echo B');
    a.end();
    await r.waitFrame((f) => f.type === RELAY_FRAME.EOF, 'EOF');
    r.child.stdin.end();
    expect(await r.exited).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('gives the socket to --owner, and refuses an owner that does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-in-relay-'));
    dirs.push(dir);
    const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    const path = join(dir, 'owned.sock');
    const r = relay(['unix', '--path', path, '--owner', 'nobody']);
    await r.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
    expect([statSync(path).uid, statSync(path).gid]).toEqual([Number(nobody[2]), Number(nobody[3])]);
    const bad = relay(['unix', '--path', join(dir, 'x.sock'), '--owner', 'no-such-user-here']);
    expect((await bad.waitFrame((f) => f.type === RELAY_FRAME.FAIL, 'FAIL')).payload.toString()).toContain('no user no-such-user-here');
    expect(await bad.exited).toBe(1);
    expect(existsSync(join(dir, 'x.sock'))).toBe(false);
  });

  it('replaces a stale socket but refuses one that is in use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-in-relay-'));
    dirs.push(dir);
    const path = join(dir, 's.sock');
    const first = relay(['unix', '--path', path]);
    await first.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY');
    const busy = relay(['unix', '--path', path]);
    expect((await busy.waitFrame((f) => f.type === RELAY_FRAME.FAIL, 'FAIL')).payload.toString()).toContain('in use');
    expect(await busy.exited).toBe(1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(path)).toBe(true);
    const again = relay(['unix', '--path', path]);
    await again.waitFrame((f) => f.type === RELAY_FRAME.READY, 'READY over the stale socket');
  });
});
