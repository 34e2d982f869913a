import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecSink } from './hub.js';
import { openLocalPort } from './local-link.js';

/** A loopback server whose connections `handle` serves. */
async function serve(handle: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A sink that keeps what it was given. */
function recorder() {
  const out: Buffer[] = [];
  const paused: boolean[] = [];
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));
  let exits = 0;
  const sink: ExecSink = {
    output: (_stream, d) => void out.push(d),
    exit: (code) => {
      exits++;
      resolveExit(code);
    },
    inputPaused: (p) => void paused.push(p),
  };
  return { sink, out, paused, exit, exits: () => exits };
}

const connector = (port: number) => () =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });

let servers: Server[] = [];
afterEach(() => {
  for (const s of servers) s.close();
  servers = [];
});

describe('openLocalPort', () => {
  it('passes bytes both ways, half-closes on eof, and exits 0 after the last byte', async () => {
    // An echo server that answers everything it got once our side has half-closed.
    const { server, port } = await serve((s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => s.end(Buffer.concat(got)));
    });
    servers.push(server);
    const r = recorder();
    let ended = 0;
    const { channel } = await openLocalPort(connector(port), 'ws', port, r.sink, () => ended++);
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    channel.stdin(Buffer.from('hello '));
    channel.stdin(big);
    // A 4 MiB write does not fit the socket's buffer: input is paused, then resumed once drained.
    expect(r.paused).toEqual([true]);
    for (let i = 0; i < 200 && r.paused.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    expect(r.paused).toEqual([true, false]);
    channel.eof();
    expect(await r.exit).toBe(0);
    const all = Buffer.concat(r.out);
    expect(all.length).toBe(6 + big.length);
    expect(all.subarray(0, 6).toString()).toBe('hello ');
    expect(ended).toBe(1);
  });

  it('holds output while paused and delivers it all on resume', async () => {
    const { server, port } = await serve((s) => s.end(Buffer.alloc(1024 * 1024, 1)));
    servers.push(server);
    const r = recorder();
    const { channel } = await openLocalPort(connector(port), 'ws', port, r.sink, () => {});
    channel.pauseOutput();
    await new Promise((res) => setTimeout(res, 100));
    const before = r.out.reduce((n, b) => n + b.length, 0);
    expect(before).toBeLessThan(1024 * 1024);
    expect(r.exits()).toBe(0);
    channel.resumeOutput();
    // Providers' sockets keep half-close: the connection is over once our side has ended too.
    channel.eof();
    expect(await r.exit).toBe(0);
    expect(r.out.reduce((n, b) => n + b.length, 0)).toBe(1024 * 1024);
  });

  it('ends without an exit when closed by the caller, and exits 1 when the connection breaks', async () => {
    const { server, port } = await serve(() => {});
    servers.push(server);
    const r = recorder();
    let ended = 0;
    const { channel } = await openLocalPort(connector(port), 'ws', port, r.sink, () => ended++);
    channel.close();
    await new Promise((res) => setTimeout(res, 50));
    expect(r.exits()).toBe(0);
    expect(ended).toBe(1);

    const { server: rst, port: rstPort } = await serve((s) => setTimeout(() => s.resetAndDestroy(), 50));
    servers.push(rst);
    const broken = recorder();
    await openLocalPort(connector(rstPort), 'ws', rstPort, broken.sink, () => {});
    expect(await broken.exit).toBe(1);
  });

  it('throws what the connector threw', async () => {
    await expect(
      openLocalPort(
        () => Promise.reject(new Error('nothing listens')),
        'ws',
        1,
        recorder().sink,
        () => {},
      ),
    ).rejects.toThrow('nothing listens');
  });
});
