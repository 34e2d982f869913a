import { PassThrough, Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { BerthError, EXEC_BINARY_STDERR, EXEC_BINARY_STDOUT, type ExecClientFrame } from '../api/index.js';
import { BerthClient } from './berth-client.js';
import { type FakeServer, startFakeServer } from './fake-server.test-support.js';

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Collects everything written to it. */
class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A fake exec endpoint that behaves like `cat`: echoes stdin to stdout, notes on stderr, exits 3 at eof. */
function catLike(received: ExecClientFrame[]) {
  return (ws: WebSocket): void => {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as ExecClientFrame;
      received.push(frame);
      if (frame.type === 'start') {
        ws.send(JSON.stringify({ type: 'started' }));
        ws.send(JSON.stringify({ type: 'stderr', data: b64('note\n') }));
      } else if (frame.type === 'stdin') ws.send(JSON.stringify({ type: 'stdout', data: frame.data }));
      else if (frame.type === 'eof') ws.send(JSON.stringify({ type: 'exit', code: 3 }));
    });
  };
}

/** A fake exec endpoint speaking binary frames: echoes binary stdin as stdout, tagged. */
function binaryCat(received: Array<ExecClientFrame | Buffer>, tag = EXEC_BINARY_STDOUT) {
  return (ws: WebSocket): void => {
    ws.on('message', (raw, isBinary) => {
      const bytes = raw as Buffer;
      if (isBinary) {
        received.push(bytes);
        return void ws.send(Buffer.concat([Buffer.from([tag]), bytes]));
      }
      const frame = JSON.parse(bytes.toString()) as ExecClientFrame;
      received.push(frame);
      if (frame.type === 'start') {
        ws.send(JSON.stringify({ type: 'started', binary: true }));
        ws.send(Buffer.concat([Buffer.from([EXEC_BINARY_STDERR]), Buffer.from('note\n')]));
      } else if (frame.type === 'eof') ws.send(JSON.stringify({ type: 'exit', code: 0 }));
    });
  };
}

describe('BerthClient.exec', () => {
  it('moves bytes as binary frames with a server that speaks them, every byte value intact', async () => {
    const received: Array<ExecClientFrame | Buffer> = [];
    server = await startFakeServer({ ws: binaryCat(received) });
    const stdout = new Sink();
    const stderr = new Sink();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const code = await new BerthClient({ server: server.url }).exec(
      'demo',
      { cmd: ['cat'], tty: false, env: {} },
      { stdin: Readable.from([all, all]), stdout, stderr },
    );
    expect(code).toBe(0);
    expect(Buffer.concat(stdout.chunks).equals(Buffer.concat([all, all]))).toBe(true);
    expect(stderr.text).toBe('note\n');
    expect(received.filter((f) => Buffer.isBuffer(f)).length).toBe(2);
    expect(received.some((f) => !Buffer.isBuffer(f) && f.type === 'stdin')).toBe(false);
  });

  it('rejects a binary frame for no known stream as a protocol mismatch', async () => {
    server = await startFakeServer({ ws: binaryCat([], 9) });
    const run = new BerthClient({ server: server.url }).exec(
      'demo',
      { cmd: ['cat'], tty: false, env: {} },
      { stdin: Readable.from([Buffer.from('x')]), stdout: new Sink(), stderr: new Sink() },
    );
    await expect(run).rejects.toMatchObject({ code: 'PROTOCOL_MISMATCH' });
  });

  it('streams stdin, separates stdout from stderr and resolves with the exit code', async () => {
    const received: ExecClientFrame[] = [];
    server = await startFakeServer({ ws: catLike(received) });
    const stdout = new Sink();
    const stderr = new Sink();
    const client = new BerthClient({ server: server.url, token: 'secret' });
    const code = await client.exec(
      'demo',
      { cmd: ['cat'], tty: false, env: { A: '1' } },
      {
        stdin: Readable.from([Buffer.from('hello '), Buffer.from('world')]),
        stdout,
        stderr,
      },
    );
    expect(code).toBe(3);
    expect(stdout.text).toBe('hello world');
    expect(stderr.text).toBe('note\n');
    // A server that answers `started` without `binary` (an older one) gets base64 stdin frames.
    expect(received[0]).toEqual({ type: 'start', request: { cmd: ['cat'], tty: false, env: { A: '1' } }, binary: true });
    expect(received.filter((f) => f.type === 'stdin').length).toBeGreaterThan(0);
    expect(received.at(-1)).toEqual({ type: 'eof' });
    const upgrade = server.requests.find((r) => r.method === 'UPGRADE');
    expect(upgrade?.path).toBe('/api/v1/workspaces/demo/exec');
    expect(upgrade?.headers.authorization).toBe('Bearer secret');
  });

  it('sends eof at once when there is no stdin, and forwards resizes', async () => {
    const received: ExecClientFrame[] = [];
    server = await startFakeServer({ ws: catLike(received) });
    let resize: ((c: number, r: number) => void) | undefined;
    let unregistered = false;
    const code = await new BerthClient({ server: server.url }).exec(
      'demo',
      { cmd: ['ls'], tty: true, env: {} },
      {
        stdin: null,
        stdout: new Sink(),
        stderr: new Sink(),
        onResize: (fn) => {
          resize = fn;
          fn(80, 24);
          return () => {
            unregistered = true;
          };
        },
      },
    );
    expect(code).toBe(3);
    expect(received).toContainEqual({ type: 'resize', cols: 80, rows: 24 });
    expect(received).toContainEqual({ type: 'eof' });
    expect(resize).toBeDefined();
    expect(unregistered).toBe(true);
  });

  it('does not send stdin before the server says started', async () => {
    const received: ExecClientFrame[] = [];
    server = await startFakeServer({
      ws: (ws) => {
        ws.on('message', (raw) => {
          const frame = JSON.parse(raw.toString()) as ExecClientFrame;
          received.push(frame);
          if (frame.type === 'start') setTimeout(() => ws.send(JSON.stringify({ type: 'started' })), 50);
          if (frame.type === 'eof') ws.send(JSON.stringify({ type: 'exit', code: 0 }));
        });
      },
    });
    const stdin = new PassThrough();
    stdin.end('x');
    await new BerthClient({ server: server.url }).exec('demo', { cmd: ['cat'], tty: false, env: {} }, { stdin, stdout: new Sink(), stderr: new Sink() });
    expect(received.map((f) => f.type)).toEqual(['start', 'stdin', 'eof']);
  });

  it('rejects with the server error from an error frame', async () => {
    server = await startFakeServer({
      ws: (ws) => ws.on('message', () => ws.send(JSON.stringify({ type: 'error', error: { code: 'NODE_OFFLINE', message: 'Node alpha is offline.' } }))),
    });
    const err = await new BerthClient({ server: server.url })
      .exec('demo', { cmd: ['ls'], tty: false, env: {} }, { stdout: new Sink(), stderr: new Sink() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('NODE_OFFLINE');
  });

  it('turns a refused upgrade into the server error', async () => {
    server = await startFakeServer({
      refuseUpgrade: () => ({ status: 401, body: { code: 'UNAUTHENTICATED', message: 'Bad token.' } }),
      ws: () => {},
    });
    const err = (await new BerthClient({ server: server.url })
      .exec('demo', { cmd: ['ls'], tty: false, env: {} }, { stdout: new Sink(), stderr: new Sink() })
      .catch((e: unknown) => e)) as BerthError;
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Bad token.');
  });

  it('rejects when the connection closes before an exit frame', async () => {
    server = await startFakeServer({ ws: (ws) => ws.on('message', () => ws.close(1011, 'agent gone')) });
    const err = (await new BerthClient({ server: server.url })
      .exec('demo', { cmd: ['ls'], tty: false, env: {} }, { stdout: new Sink(), stderr: new Sink() })
      .catch((e: unknown) => e)) as BerthError;
    expect(err.code).toBe('INTERNAL');
    expect(err.detail).toContain('agent gone');
  });

  it('reports an unreachable server', async () => {
    server = await startFakeServer({});
    const url = server.url;
    await server.close();
    server = undefined;
    const err = (await new BerthClient({ server: url })
      .exec('demo', { cmd: ['ls'], tty: false, env: {} }, { stdout: new Sink(), stderr: new Sink() })
      .catch((e: unknown) => e)) as BerthError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain('Cannot reach');
  });
});
