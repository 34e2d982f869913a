/**
 * A small QMP (QEMU Machine Protocol) client over a unix socket with node:net: greeting,
 * capabilities negotiation, commands matched by id, and asynchronous events. One connection
 * per call site is enough for berth; QEMU accepts a new connection whenever the last closed.
 */
import { connect, type Socket } from 'node:net';
import { BerthError } from '../../api/index.js';

/** An asynchronous QMP event such as SHUTDOWN or STOP. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** The answer to query-status. */
export interface QmpStatus {
  running: boolean;
  /** "running", "paused", "shutdown", "prelaunch", ... */
  status: string;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One negotiated QMP connection. */
export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private closedError: Error | null = null;
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((resolve) => (this.greeted = resolve));
  private readonly ended: Promise<never>;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    this.ended = new Promise<never>((_, reject) => {
      socket.once('close', () => {
        this.fail(new Error('the QMP socket closed'));
        reject(this.closedError);
      });
    });
    // Whoever cares awaits closed(); nobody caring is not an unhandled rejection.
    this.ended.catch(() => {});
  }

  /** Connects to `path`, waits for the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = connect(path);
    const client = new QmpClient(socket, path);
    const timer = setTimeout(() => socket.destroy(new Error(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      await Promise.race([client.greeting, client.closed()]);
      await client.execute('qmp_capabilities');
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a command and resolves with its `return` value; a QMP error rejects with its description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = String(this.nextId++);
    const message = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${message}\n`);
    });
  }

  /** query-status, simplified. */
  async status(): Promise<QmpStatus> {
    const r = await this.execute<{ running: boolean; status: string }>('query-status');
    return { running: r.running, status: r.status };
  }

  /** Calls `fn` for every event until the returned function is called. */
  onEvent(fn: (e: QmpEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves when the connection ends (QEMU exited or closed it). */
  closed(): Promise<never> {
    return this.ended;
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // Not QMP; nothing sensible to do with it.
    }
    if ('QMP' in msg) return this.greeted();
    if (typeof msg.event === 'string') {
      for (const l of this.listeners) l({ event: msg.event, data: msg.data as Record<string, unknown> | undefined });
      return;
    }
    const id = String(msg.id ?? '');
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      waiter.reject(new BerthError('INTERNAL', `QEMU refused a command: ${e.desc ?? 'no description'}.`, { detail: e.class }));
    } else {
      waiter.resolve(msg.return);
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
