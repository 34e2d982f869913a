import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { BerthError } from '../api/index.js';
import { RpcPeer } from './peer.js';

/** A real WebSocket pair on loopback: `server` is the accepted side, `client` the dialler. */
async function socketPair(): Promise<{ server: WebSocket; client: WebSocket; close: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await once(client, 'open');
  const [server] = (await accepted) as [WebSocket];
  return {
    server,
    client,
    close: () => {
      client.terminate();
      wss.close();
    },
  };
}

let cleanup: (() => void) | null = null;
afterEach(() => cleanup?.());

describe('RpcPeer', () => {
  it('matches responses to requests and validates results', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    new RpcPeer(pair.client, {
      onRequest: async (method, params) => {
        expect(method).toBe('workspace.inspect');
        expect(params).toEqual({ workspaceId: 'w1' });
        return { status: 'running' };
      },
    });
    const caller = new RpcPeer(pair.server, {});
    await expect(caller.request('workspace.inspect', { workspaceId: 'w1' })).resolves.toEqual({ status: 'running' });
  });

  it('carries BerthErrors across with code and field', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    new RpcPeer(pair.client, {
      onRequest: async () => {
        throw new BerthError('NOT_FOUND', 'No such thing.', { field: 'name' });
      },
    });
    const caller = new RpcPeer(pair.server, {});
    const err = await caller.request('workspace.inspect', { workspaceId: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', field: 'name', message: 'No such thing.' });
  });

  it('refuses invalid params before the handler runs', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    let called = false;
    new RpcPeer(pair.client, {
      onRequest: async () => {
        called = true;
        return {};
      },
    });
    const caller = new RpcPeer(pair.server, {});
    const err = await caller.request('workspace.inspect', { workspaceId: 42 } as never).catch((e) => e);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(called).toBe(false);
  });

  it('rejects an invalid result as INTERNAL', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    new RpcPeer(pair.client, { onRequest: async () => ({ status: 'exploded' }) });
    const caller = new RpcPeer(pair.server, {});
    const err = await caller.request('workspace.inspect', { workspaceId: 'w' }).catch((e) => e);
    expect(err.code).toBe('INTERNAL');
  });

  it('delivers validated events and drops invalid ones', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    const seen: unknown[] = [];
    const errors: string[] = [];
    new RpcPeer(pair.server, { onEvent: (name, payload) => seen.push([name, payload]), onProtocolError: (e) => errors.push(e.message) });
    const emitter = new RpcPeer(pair.client, {});
    emitter.emit('op.log', { opId: 'o', line: 'hello' });
    pair.client.send(JSON.stringify({ type: 'event', name: 'op.log', payload: { opId: 1 } }));
    pair.client.send('not json');
    emitter.emit('op.progress', { opId: 'o', stage: 's', fraction: 0.5 });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([
      ['op.log', { opId: 'o', line: 'hello' }],
      ['op.progress', { opId: 'o', stage: 's', fraction: 0.5 }],
    ]);
    expect(errors).toHaveLength(2);
  });

  it('fails pending requests with NODE_OFFLINE when the socket closes, and times out', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    new RpcPeer(pair.client, { onRequest: () => new Promise(() => {}) });
    const caller = new RpcPeer(pair.server, {});
    const timedOut = await caller.request('image.list', {}, 100).catch((e) => e);
    expect(timedOut.code).toBe('TIMEOUT');
    const pending = caller.request('image.list', {}).catch((e) => e);
    pair.client.close();
    expect((await pending).code).toBe('NODE_OFFLINE');
    expect((await caller.request('image.list', {}).catch((e) => e)).code).toBe('NODE_OFFLINE');
  });

  it('treats prototype names (constructor, __proto__, toString) as unknown events and methods', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    const errors: string[] = [];
    const seen: unknown[] = [];
    new RpcPeer(pair.server, { onEvent: (name) => seen.push(name), onRequest: async () => ({}), onProtocolError: (e) => errors.push(e.message) });
    const answers: unknown[] = [];
    pair.client.on('message', (d) => answers.push(JSON.parse(d.toString())));
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      pair.client.send(JSON.stringify({ type: 'event', name, payload: {} }));
      pair.client.send(JSON.stringify({ type: 'request', id: name, method: name, params: {} }));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    expect(errors).toEqual(['unknown event constructor', 'unknown event __proto__', 'unknown event toString', 'unknown event hasOwnProperty']);
    expect(answers).toHaveLength(4);
    for (const a of answers) expect(a).toMatchObject({ type: 'response', error: { code: 'UNSUPPORTED' } });
  });

  it('reports a handler that throws instead of letting it escape the socket listener', async () => {
    const pair = await socketPair();
    cleanup = pair.close;
    const caught: unknown[] = [];
    new RpcPeer(pair.server, {
      onEvent: () => {
        throw new Error('handler bug');
      },
      onBinary: () => {
        throw new Error('binary handler bug');
      },
      onHandlerError: (err) => caught.push((err as Error).message),
    });
    const emitter = new RpcPeer(pair.client, {});
    emitter.emit('op.log', { opId: 'o', line: 'x' });
    emitter.sendBinary(Buffer.from('abc'));
    await new Promise((r) => setTimeout(r, 100));
    expect(caught).toEqual(['handler bug', 'binary handler bug']);
  });
});
