/**
 * Kept terminals on the agent, with real processes (the local transport; `cat` stands in for
 * a shell, echoing what is typed): attach starts and keeps, detach leaves it running and a
 * reattach replays its output, writers must own it, viewers read only, a newer writer takes
 * over, idle ones end, and a lost server connection only detaches.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentEvent, type AgentEventPayload, type AgentParams, decodeExecData, encodeExecData } from '../../api/index.js';
import { LocalTransport } from '../../transport/index.js';
import { KeptTerminals } from './kept-terminals.js';

const transport = new LocalTransport();

/** A link that records what the agent would send to the server. */
function recorder() {
  const out = new Map<string, Buffer>();
  const events: Array<{ name: AgentEvent; payload: unknown }> = [];
  return {
    out,
    events,
    text: (sessionId: string) => (out.get(sessionId) ?? Buffer.alloc(0)).toString(),
    link: {
      emit: <E extends AgentEvent>(name: E, payload: AgentEventPayload<E>) => void events.push({ name, payload }),
      reportNow: async () => {},
      bufferedAmount: () => 0,
      sendBinary: (frame: Buffer) => {
        const d = decodeExecData(frame)!;
        out.set(d.sessionId, Buffer.concat([out.get(d.sessionId) ?? Buffer.alloc(0), d.payload]));
      },
    },
  };
}

const sid = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
const alice = { id: 'u-alice', name: 'alice' };
const bob = { id: 'u-bob', name: 'bob' };

function params(sessionId: string, over: Partial<AgentParams<'terminal.attach'>> = {}): AgentParams<'terminal.attach'> {
  return {
    sessionId,
    workspaceId: 'w1',
    terminalId: 'term-0001',
    owner: alice,
    readOnly: false,
    idleMs: 60_000,
    request: { cmd: ['cat'], tty: false, env: {} },
    ...over,
  };
}

const start = () => transport.exec({ cmd: ['cat'] });
const type = (t: KeptTerminals, sessionId: string, text: string) => t.onBinary(encodeExecData('stdin', sessionId, Buffer.from(text)));
const until = async (what: () => boolean) => {
  for (let i = 0; i < 1000 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
};

let terms: KeptTerminals | null = null;
afterEach(() => terms?.closeAll());

describe('KeptTerminals', () => {
  it('keeps the process across a detach and replays its output on reattach', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    expect(await terms.attach(params(sid(1)), start)).toEqual({ created: true });
    type(terms, sid(1), 'first\n');
    await until(() => r.text(sid(1)).includes('first'));
    terms.onEvent('exec.close', { sessionId: sid(1) });
    expect(terms.list('w1').terminals[0]).toMatchObject({ id: 'term-0001', owner: 'alice', attached: false, viewers: 0 });
    expect(terms.list('w1').terminals[0]!.idleSince).not.toBeNull();
    expect(await terms.attach(params(sid(2)), start)).toEqual({ created: false });
    expect(r.text(sid(2))).toBe('first\n');
    type(terms, sid(2), 'second\n');
    await until(() => r.text(sid(2)).endsWith('second\n'));
    expect(terms.size).toBe(1);
  });

  it('answers NOT_FOUND to another user writing, and to a viewer of nothing', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    await expect(terms.attach(params(sid(1), { readOnly: true }), start)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(terms.size).toBe(0);
    await terms.attach(params(sid(2)), start);
    await expect(terms.attach(params(sid(3), { owner: bob }), start)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('gives a viewer output only: its input and resizes are dropped', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    await terms.attach(params(sid(1)), start);
    await terms.attach(params(sid(2), { owner: bob, readOnly: true, idleMs: 50 }), start);
    type(terms, sid(2), 'injected\n');
    type(terms, sid(1), 'typed\n');
    await until(() => r.text(sid(2)).includes('typed'));
    expect(r.text(sid(1))).toBe('typed\n');
    expect(r.text(sid(2))).toBe('typed\n');
    // A viewer cannot end it either.
    terms.onEvent('terminal.end', { sessionId: sid(2) });
    expect(terms.list('w1').terminals).toHaveLength(1);
  });

  it('hands the terminal to a newer writer, telling the old one', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    await terms.attach(params(sid(1)), start);
    await terms.attach(params(sid(2)), start);
    expect(r.events).toContainEqual({
      name: 'exec.exit',
      payload: expect.objectContaining({ sessionId: sid(1), error: expect.objectContaining({ code: 'CANCELLED' }) }),
    });
    type(terms, sid(1), 'stale\n');
    type(terms, sid(2), 'fresh\n');
    await until(() => r.text(sid(2)).includes('fresh'));
    expect(r.text(sid(2))).not.toContain('stale');
  });

  it('ends a terminal left alone for its idle time, and one whose writer ends it', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    await terms.attach(params(sid(1), { idleMs: 50 }), start);
    terms.detachAll();
    await until(() => terms!.size === 0);
    await terms.attach(params(sid(2), { terminalId: 'term-0002' }), start);
    terms.onEvent('terminal.end', { sessionId: sid(2) });
    await until(() => r.events.some((e) => e.name === 'exec.exit' && (e.payload as { sessionId: string }).sessionId === sid(2)));
    expect(terms.size).toBe(0);
  });

  it('keeps the terminal when the server goes (detachAll), and another attach finds it', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    await terms.attach(params(sid(1)), start);
    type(terms, sid(1), 'before\n');
    await until(() => r.text(sid(1)).includes('before'));
    terms.detachAll();
    expect(terms.onBinary(encodeExecData('stdin', sid(1), Buffer.from('x')))).toBe(false);
    await terms.attach(params(sid(9)), start);
    expect(r.text(sid(9))).toBe('before\n');
  });

  // Agent metrics: what /metrics reads of the kept terminals.
  it('counts kept, attached and viewers, and ended terminals by why (idle, closed, exited, stopped)', async () => {
    const r = recorder();
    terms = new KeptTerminals(r.link, pino({ level: 'silent' }));
    const none = { idle: 0, closed: 0, exited: 0, stopped: 0 };
    expect(terms.stats()).toEqual({ open: 0, attached: 0, viewers: 0, ended: none });
    await terms.attach(params(sid(1), { idleMs: 50 }), start);
    await terms.attach(params(sid(2), { owner: bob, readOnly: true, idleMs: 50 }), start);
    await terms.attach(params(sid(3), { owner: bob, readOnly: true, idleMs: 50 }), start);
    expect(terms.stats()).toEqual({ open: 1, attached: 1, viewers: 2, ended: none });
    // Everyone leaves: kept, unattached, until the idle time ends it.
    terms.detachAll();
    expect(terms.stats()).toMatchObject({ open: 1, attached: 0, viewers: 0 });
    await until(() => terms!.stats().ended.idle === 1);
    expect(terms.stats()).toEqual({ open: 0, attached: 0, viewers: 0, ended: { ...none, idle: 1 } });
    // Closed by its writer (the tab's ×).
    await terms.attach(params(sid(4), { terminalId: 'term-0002' }), start);
    terms.onEvent('terminal.end', { sessionId: sid(4) });
    // A shell that exits by itself.
    await terms.attach(params(sid(5), { terminalId: 'term-0003', request: { cmd: ['true'], tty: false, env: {} } }), () => transport.exec({ cmd: ['true'] }));
    await until(() => terms!.stats().ended.exited === 1);
    // The agent stopping ends what is left.
    await terms.attach(params(sid(6), { terminalId: 'term-0004' }), start);
    terms.closeAll();
    await until(() => terms!.size === 0);
    expect(terms.stats()).toEqual({ open: 0, attached: 0, viewers: 0, ended: { idle: 1, closed: 1, exited: 1, stopped: 1 } });
  });
});
