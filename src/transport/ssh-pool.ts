/**
 * Connection pool bookkeeping for one host: which connections exist, how many channels each
 * carries, who waits for a free channel, and when an idle connection is closed. It knows
 * nothing about SSH — connections come from a `dial` function — so its rules are unit-tested
 * without a network, and the SSH transport supplies the real dialer.
 */
import { BerthError } from '../api/errors.js';

/** How the pool gets and ends connections, and its limits. */
export interface ConnectionPoolOptions<C> {
  /** Opens one ready-to-use connection; `closed` must be called (once) when it dies later. */
  dial(closed: () => void): Promise<C>;
  /** Ends a connection the pool no longer wants (idle, broken, or the pool is closing). */
  end(conn: C): void;
  /** Connections open or being dialled at once; further leases queue. */
  maxConnections: number;
  /** Channels per connection (OpenSSH's MaxSessions defaults to 10). */
  maxChannelsPerConnection: number;
  /** A connection without channels for this long is closed. */
  idleTimeoutMs: number;
}

/** One channel's claim on a connection; exactly one of release/discard/refused ends it. */
export interface Lease<C> {
  readonly conn: C;
  /** Stable id of the connection, for logs and tests. */
  readonly connectionId: number;
  /** True once the pool knows this connection is gone. */
  readonly dead: boolean;
  /** The channel is finished; the connection stays for others. */
  release(): void;
  /** The connection is broken: end it, and let nobody else lease it. */
  discard(): void;
  /** The server refused one more channel here: treat the connection as full until a channel on it ends. */
  refused(): void;
}

/** Counters for tests and diagnostics. */
export interface PoolStats {
  /** Connections established and not yet closed. */
  connections: number;
  /** Connections being dialled right now. */
  dialing: number;
  /** Dials started since the pool was made (successful or not). */
  dials: number;
  /** Leases currently held. */
  activeChannels: number;
  /** Callers waiting for a channel because every connection is full and the cap is reached. */
  queued: number;
}

interface Slot<C> {
  id: number;
  state: 'dialing' | 'open' | 'dead';
  conn?: C;
  ready: Promise<C>;
  channels: number;
  /** Set when the server refused a channel; cleared when one of this slot's channels ends. */
  full: boolean;
  idleTimer?: NodeJS.Timeout;
}

interface Waiter<C> {
  resolve(lease: Lease<C>): void;
  reject(err: unknown): void;
}

/** A pool of connections to one host, multiplexing leases (channels) over them. */
export class ConnectionPool<C> {
  private readonly slots: Slot<C>[] = [];
  private readonly waiters: Waiter<C>[] = [];
  private nextId = 1;
  private dials = 0;
  private activeChannels = 0;
  private closed = false;
  /** Connections that were established and have not reported closed yet. */
  private readonly unclosed = new Set<Slot<C>>();
  private readonly whenAllClosed = new Set<() => void>();

  constructor(private readonly opts: ConnectionPoolOptions<C>) {
    if (opts.maxConnections < 1 || opts.maxChannelsPerConnection < 1) {
      throw new BerthError('INVALID_ARGUMENT', 'The pool needs at least one connection and one channel per connection.');
    }
  }

  /**
   * Claims one channel slot: on a connection with room, on a new connection, or after waiting
   * in line. `beyondCap` dials past maxConnections instead of waiting, for the rare channel
   * that must not queue behind the channels it exists to end; the extra connection idles out.
   */
  acquire(signal?: AbortSignal, opts: { beyondCap?: boolean } = {}): Promise<Lease<C>> {
    if (this.closed) return Promise.reject(closedError());
    signal?.throwIfAborted();
    const slot = this.pickSlot() ?? (opts.beyondCap ? this.startDial() : undefined);
    if (slot) return this.leaseOn(slot);
    return new Promise<Lease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Connections currently established, oldest first (tests use this to break one on purpose). */
  connections(): C[] {
    return this.slots.filter((s) => s.state === 'open').map((s) => s.conn!);
  }

  /** Current counters. */
  stats(): PoolStats {
    return {
      connections: this.slots.filter((s) => s.state === 'open').length,
      dialing: this.slots.filter((s) => s.state === 'dialing').length,
      dials: this.dials,
      activeChannels: this.activeChannels,
      queued: this.waiters.length,
    };
  }

  /** Ends every connection and fails every waiter; resolves once the connections reported closed (or after 2 s). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(closedError());
    for (const slot of [...this.slots]) {
      if (slot.state === 'open') this.retire(slot, true);
      // A connection still dialling is ended as soon as it is ready (see startDial).
    }
    if (this.slots.length === 0 && this.unclosed.size === 0) return;
    const allClosed = new Promise<void>((resolve) => this.whenAllClosed.add(resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allClosed, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }

  /** The slot a new lease should use, dialling a new connection if allowed; undefined means wait. */
  private pickSlot(): Slot<C> | undefined {
    const room = (s: Slot<C>) => s.state !== 'dead' && !s.full && s.channels < this.opts.maxChannelsPerConnection;
    // Established connections first, oldest first: packing channels onto few connections lets
    // the rest go idle and close, and a dialling connection is only joined when none has room.
    const existing = this.slots.find((s) => s.state === 'open' && room(s)) ?? this.slots.find((s) => s.state === 'dialing' && room(s));
    if (existing) return existing;
    if (this.slots.filter((s) => s.state !== 'dead').length < this.opts.maxConnections) return this.startDial();
    return undefined;
  }

  private startDial(): Slot<C> {
    const slot: Slot<C> = { id: this.nextId++, state: 'dialing', channels: 0, full: false, ready: undefined as never };
    this.dials++;
    this.slots.push(slot);
    slot.ready = this.opts
      .dial(() => this.onConnectionClosed(slot))
      .then(
        (conn) => {
          slot.conn = conn;
          this.unclosed.add(slot);
          if (slot.state === 'dead') {
            // The dialled connection died (or was retired) before dial resolved.
            this.opts.end(conn);
            return Promise.reject(connectionLostError());
          }
          slot.state = 'open';
          if (this.closed) this.retire(slot, true);
          else if (slot.channels === 0) this.armIdleTimer(slot);
          return conn;
        },
        (err) => {
          this.markDead(slot);
          this.checkAllClosed();
          throw err;
        },
      );
    // Leases attached to this slot observe failures through their own await; this keeps an
    // unobserved failed dial from becoming an unhandled rejection.
    slot.ready.catch(() => {});
    return slot;
  }

  private async leaseOn(slot: Slot<C>): Promise<Lease<C>> {
    slot.channels++;
    this.activeChannels++;
    clearTimeout(slot.idleTimer);
    let conn: C;
    try {
      conn = await slot.ready;
    } catch (err) {
      slot.channels--;
      this.activeChannels--;
      throw err;
    }
    let ended = false;
    const end = (after: () => void) => {
      if (ended) return;
      ended = true;
      slot.channels--;
      this.activeChannels--;
      after();
    };
    return {
      conn,
      connectionId: slot.id,
      get dead() {
        return slot.state === 'dead';
      },
      release: () => end(() => this.afterRelease(slot, false)),
      refused: () => end(() => this.afterRelease(slot, true)),
      discard: () =>
        end(() => {
          this.retire(slot, true);
          this.pump();
        }),
    };
  }

  private afterRelease(slot: Slot<C>, refused: boolean): void {
    if (slot.state === 'dead') return this.pump();
    slot.full = refused;
    this.pump();
    if (slot.channels === 0 && slot.state === 'open') this.armIdleTimer(slot);
  }

  /** Hands free capacity to waiters, in arrival order. */
  private pump(): void {
    while (this.waiters.length > 0 && !this.closed) {
      const slot = this.pickSlot();
      if (!slot) return;
      const waiter = this.waiters.shift()!;
      this.leaseOn(slot).then(waiter.resolve, waiter.reject);
    }
  }

  private armIdleTimer(slot: Slot<C>): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.channels === 0 && slot.state === 'open') this.retire(slot, true);
    }, this.opts.idleTimeoutMs);
    // An idle pooled connection must not be the only thing keeping a process alive.
    slot.idleTimer.unref();
  }

  /** Takes a slot out of service and (if asked) ends its connection. */
  private retire(slot: Slot<C>, endIt: boolean): void {
    const conn = slot.conn;
    const wasOpen = slot.state === 'open';
    this.markDead(slot);
    if (endIt && wasOpen && conn !== undefined) this.opts.end(conn);
  }

  private onConnectionClosed(slot: Slot<C>): void {
    this.markDead(slot);
    this.unclosed.delete(slot);
    this.checkAllClosed();
    this.pump();
  }

  private checkAllClosed(): void {
    if (this.slots.length > 0 || this.unclosed.size > 0) return;
    for (const resolve of this.whenAllClosed) resolve();
    this.whenAllClosed.clear();
  }

  private markDead(slot: Slot<C>): void {
    if (slot.state === 'dead') return;
    slot.state = 'dead';
    clearTimeout(slot.idleTimer);
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }
}

function closedError(): BerthError {
  return new BerthError('FAILED_PRECONDITION', 'This transport was closed; make a new one to run more commands.');
}

function connectionLostError(): BerthError {
  return new BerthError('INTERNAL', 'The connection closed while it was being set up; try again.');
}
