import { afterEach, describe, expect, it } from 'vitest';
import { BerthError, type OperationEvent } from '../api/index.js';
import { BerthClient } from './berth-client.js';
import { type FakeServer, sendJson, startFakeServer } from './fake-server.test-support.js';
import { sampleOperation, sampleWorkspace } from './fixtures.test-support.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function rejection(p: Promise<unknown>): Promise<BerthError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error('expected a rejection');
}

describe('BerthClient.call', () => {
  it('sends method, path, bearer token and JSON body from the route table', async () => {
    server = await startFakeServer({
      http: (_req, res) => sendJson(res, 201, { workspace: sampleWorkspace(), operation: sampleOperation({ status: 'running' }) }),
    });
    const client = new BerthClient({ server: server.url + '/', token: 'tok' });
    const out = await client.call('workspacesPost', { body: { name: 'demo', memory: '2g' } });
    expect(out.workspace.name).toBe('demo');
    const req = server.requests[0];
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/api/v1/workspaces');
    expect(req.headers.authorization).toBe('Bearer tok');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ name: 'demo', memory: '2g' });
  });

  it('fills and encodes path parameters', async () => {
    server = await startFakeServer({ http: (_req, res) => sendJson(res, 200, sampleWorkspace()) });
    await new BerthClient({ server: server.url }).call('workspaceGet', { params: { name: 'a b' } });
    expect(server.requests[0].path).toBe('/api/v1/workspaces/a%20b');
    expect(server.requests[0].headers.authorization).toBeUndefined();
  });

  it('rebuilds the server error from a non-2xx body', async () => {
    server = await startFakeServer({
      http: (_req, res) => sendJson(res, 400, { code: 'INVALID_ARGUMENT', message: 'Invalid memory.', field: 'memory' }),
    });
    const err = await rejection(new BerthClient({ server: server.url }).call('workspacesList'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe('memory');
    expect(err.message).toBe('Invalid memory.');
  });

  it('describes a non-berth error answer', async () => {
    server = await startFakeServer({
      http: (_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>bad gateway</html>');
      },
    });
    const err = await rejection(new BerthClient({ server: server.url }).call('workspacesList'));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toContain('HTTP 502');
    expect(err.detail).toContain('bad gateway');
  });

  it('rejects an invalid body before sending anything', async () => {
    server = await startFakeServer({});
    const err = await rejection(new BerthClient({ server: server.url }).call('workspacesPost', { body: { name: 'Bad_Name' } }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe('name');
    expect(server.requests).toHaveLength(0);
  });

  it('reports a response that does not match the contract as PROTOCOL_MISMATCH', async () => {
    server = await startFakeServer({ http: (_req, res) => sendJson(res, 200, { workspaces: [{ name: 1 }] }) });
    const err = await rejection(new BerthClient({ server: server.url }).call('workspacesList'));
    expect(err.code).toBe('PROTOCOL_MISMATCH');
  });

  it('says how to start the server when nothing listens', async () => {
    server = await startFakeServer({});
    const url = server.url;
    await server.close();
    server = undefined;
    const err = await rejection(new BerthClient({ server: url }).call('health'));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(`Cannot reach the berth server at ${url}`);
    expect(err.message).toContain('berth server');
  });
});

describe('BerthClient.watchOperation', () => {
  const events: OperationEvent[] = [
    { type: 'progress', stage: 'pulling', fraction: 0.25 },
    { type: 'log', line: 'hello' },
    { type: 'progress', stage: 'starting', fraction: null },
    { type: 'done', operation: sampleOperation() },
  ];

  it('streams events in order, even when lines are split across chunks, and returns the final operation', async () => {
    server = await startFakeServer({
      http: async (req, res) => {
        expect(req.path).toBe('/api/v1/operations/op_1/events');
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const text = events.map((e) => JSON.stringify(e) + '\n').join('');
        // Deliberately awkward chunking: mid-line splits must not matter.
        for (let i = 0; i < text.length; i += 7) {
          res.write(text.slice(i, i + 7));
          await new Promise((r) => setImmediate(r));
        }
        res.end();
      },
    });
    const seen: OperationEvent[] = [];
    const op = await new BerthClient({ server: server.url, token: 't' }).watchOperation('op_1', (e) => seen.push(e));
    expect(op.status).toBe('succeeded');
    expect(seen).toEqual(events);
  });

  it('reopens a stream that ended early without repeating events', async () => {
    let opened = 0;
    server = await startFakeServer({
      http: (req, res) => {
        if (req.path.endsWith('/events')) {
          opened++;
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          // First pass stops after two events; the second replays everything.
          const upTo = opened === 1 ? 2 : events.length;
          res.end(
            events
              .slice(0, upTo)
              .map((e) => JSON.stringify(e) + '\n')
              .join(''),
          );
          return;
        }
        sendJson(res, 200, sampleOperation({ status: 'running', finishedAt: null }));
      },
    });
    const seen: OperationEvent[] = [];
    await new BerthClient({ server: server.url }).watchOperation('op_1', (e) => seen.push(e));
    expect(opened).toBe(2);
    expect(seen).toEqual(events);
  });

  it('keeps reopening a stream that drops often while it brings new events, and gives up on one that brings none', async () => {
    let opened = 0;
    server = await startFakeServer({
      http: (req, res) => {
        if (req.path.endsWith('/events')) {
          opened++;
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          // Each stream brings one more event than the last, then drops: eight drops in all.
          res.end(
            events
              .slice(0, Math.min(Math.ceil(opened / 3), events.length))
              .map((e) => JSON.stringify(e) + '\n')
              .join(''),
          );
          return;
        }
        sendJson(res, 200, sampleOperation({ status: 'running', finishedAt: null }));
      },
    });
    const seen: OperationEvent[] = [];
    await new BerthClient({ server: server.url }).watchOperation('op_1', (e) => seen.push(e));
    expect(opened).toBe(10);
    expect(seen).toEqual(events);

    await server.close();
    opened = 0;
    server = await startFakeServer({
      http: (req, res) => {
        if (req.path.endsWith('/events')) {
          opened++;
          res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end();
          return;
        }
        sendJson(res, 200, sampleOperation({ status: 'running', finishedAt: null }));
      },
    });
    const err = await rejection(new BerthClient({ server: server.url }).watchOperation('op_1', () => {}));
    expect(err.message).toContain('keeps ending');
    expect(opened).toBe(7);
  }, 30_000);

  it('returns a failed operation, and waitOperation throws its error', async () => {
    const failed = sampleOperation({ status: 'failed', error: { code: 'NO_NODE_AVAILABLE', message: 'No node can run docker.' } });
    server = await startFakeServer({
      http: (_req, res) => {
        res.writeHead(200);
        res.end(JSON.stringify({ type: 'done', operation: failed }) + '\n');
      },
    });
    const client = new BerthClient({ server: server.url });
    expect((await client.watchOperation('op_1', () => {})).status).toBe('failed');
    const err = await rejection(client.waitOperation('op_1'));
    expect(err.code).toBe('NO_NODE_AVAILABLE');
  });

  it('passes through an unknown operation as NOT_FOUND', async () => {
    server = await startFakeServer({ http: (_req, res) => sendJson(res, 404, { code: 'NOT_FOUND', message: 'No operation op_9.' }) });
    const err = await rejection(new BerthClient({ server: server.url }).watchOperation('op_9', () => {}));
    expect(err.code).toBe('NOT_FOUND');
  });
});
