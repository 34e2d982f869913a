import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION } from '../../api/index.js';
import { isReportFrame, ReportGate } from './report-gate.js';

const resources = { cpus: 4, memoryBytes: 8e9, memoryFreeBytes: 4e9, diskBytes: 1e11, diskFreeBytes: 5e10 };
const providers = [{ kind: 'docker', usable: true, details: {} }];
const report = (workspaces: Array<{ workspaceId: string; status: string }>, extra: Record<string, unknown> = {}) => ({
  agentVersion: '1.0',
  resources,
  providers,
  workspaces,
  ...extra,
});
const hello = (ws: Array<{ workspaceId: string; status: string }> = []) => ({ type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION, ...report(ws) });
const beat = (ws: Array<{ workspaceId: string; status: string }> = [], extra: Record<string, unknown> = {}) => ({ type: 'heartbeat', ...report(ws, extra) });

describe('ReportGate', () => {
  it('hands on every part of a hello, then only the parts of a heartbeat that changed', () => {
    const gate = new ReportGate();
    const h = gate.accept(hello([{ workspaceId: 'a', status: 'running' }]));
    expect(h).toEqual({ ok: true, delta: { type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION, ...report([{ workspaceId: 'a', status: 'running' }]) } });
    // The same report again: nothing to check, nothing handed on.
    expect(gate.accept(beat([{ workspaceId: 'a', status: 'running' }]))).toEqual({ ok: true, delta: { type: 'heartbeat' } });
    // One workspace changed: only the workspaces part.
    expect(gate.accept(beat([{ workspaceId: 'a', status: 'stopped' }]))).toEqual({
      ok: true,
      delta: { type: 'heartbeat', workspaces: [{ workspaceId: 'a', status: 'stopped' }] },
    });
    // Free memory moved: only the resources part.
    const moved = { ...beat([{ workspaceId: 'a', status: 'stopped' }]), resources: { ...resources, memoryFreeBytes: 1 } };
    expect(gate.accept(moved)).toEqual({ ok: true, delta: { type: 'heartbeat', resources: { ...resources, memoryFreeBytes: 1 } } });
  });

  it('starts afresh at each hello, so a reconnect always hands on the whole report', () => {
    const gate = new ReportGate();
    gate.accept(hello());
    const again = gate.accept(hello());
    expect(again.ok && Object.keys(again.delta).sort()).toEqual(['agentVersion', 'protocolVersion', 'providers', 'resources', 'type', 'workspaces']);
  });

  it('refuses a frame with a bad part whole, and keeps what it had, so the bad frame never makes a later one look unchanged', () => {
    const gate = new ReportGate();
    gate.accept(hello([{ workspaceId: 'a', status: 'running' }]));
    expect(gate.accept(beat([{ workspaceId: 'a', status: 'exploded' }]))).toMatchObject({ ok: false, error: expect.stringContaining('workspaces') });
    expect(gate.accept({ ...beat(), resources: { cpus: -1 } })).toMatchObject({ ok: false, error: expect.stringContaining('resources') });
    expect(gate.accept({ ...beat(), extra: 1 })).toMatchObject({ ok: false, error: expect.stringContaining('unknown field') });
    expect(gate.accept({ type: 'heartbeat', resources, providers, workspaces: [] })).toMatchObject({
      ok: false,
      error: expect.stringContaining('agentVersion'),
    });
    // The good report after the bad ones is compared with the last good one: unchanged.
    expect(gate.accept(beat([{ workspaceId: 'a', status: 'running' }]))).toEqual({ ok: true, delta: { type: 'heartbeat' } });
  });

  it('answers a hello of another protocol version without checking its parts', () => {
    expect(new ReportGate().accept({ type: 'hello', protocolVersion: 1, whatever: true })).toMatchObject({ ok: false });
    expect(new ReportGate().accept({ type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION + 1 })).toEqual({
      ok: true,
      delta: { type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION + 1 },
    });
    expect(new ReportGate().accept({ type: 'hello', protocolVersion: 'x' })).toMatchObject({ ok: false, error: expect.stringContaining('protocolVersion') });
  });

  it('never throws, whatever JSON a frame holds, and hands on only parts that pass their schemas', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom('hello', 'heartbeat'),
        fc.constantFrom('agentVersion', 'resources', 'providers', 'workspaces'),
        (value, type, part) => {
          const gate = new ReportGate();
          gate.accept(hello());
          const frame = { ...(type === 'hello' ? hello() : beat()), [part]: value };
          if (!isReportFrame(frame)) return false;
          const res = gate.accept(frame);
          return res.ok ? JSON.stringify(res.delta).length > 0 : typeof res.error === 'string';
        },
      ),
    );
  });

  it('keeps the whole current workspace and orphan lists for the reaper, though a heartbeat hands on only changes', () => {
    const gate = new ReportGate();
    const ws = [{ workspaceId: 'w1', status: 'running' }];
    const orphans = [{ workspaceId: 'o1', kind: 'docker' }];
    expect(gate.accept({ ...hello(ws), orphans }).ok).toBe(true);
    expect(gate.current()).toEqual({ workspaces: ws, orphans });
    const again = gate.accept(beat(ws, { orphans }));
    expect(again.ok && again.delta.workspaces).toBeUndefined();
    expect(gate.current()).toEqual({ workspaces: ws, orphans });
    // Orphans left out of a later heartbeat are gone; a new hello starts from nothing.
    expect(gate.accept(beat(ws)).ok).toBe(true);
    expect(gate.current()).toEqual({ workspaces: ws, orphans: undefined });
    gate.accept(hello());
    expect(gate.current()).toEqual({ workspaces: [], orphans: undefined });
  });

  it('keeps what an unchanged heartbeat repeats without making anything new (the fleet-scale path)', () => {
    const gate = new ReportGate();
    const ws = [{ workspaceId: 'w1', status: 'running' }];
    gate.accept(hello(ws));
    const lists = gate.current();
    // Orphans left out again, workspaces as before, free memory moved: the kept lists stay the same object.
    for (let free = 1; free <= 3; free++) {
      const res = gate.accept({ ...beat(ws), resources: { ...resources, memoryFreeBytes: free } });
      expect(res).toEqual({ ok: true, delta: { type: 'heartbeat', resources: { ...resources, memoryFreeBytes: free } } });
      expect(gate.current()).toBe(lists);
    }
    // The same moved figures again are unchanged; a heartbeat without resources is refused.
    expect(gate.accept({ ...beat(ws), resources: { ...resources, memoryFreeBytes: 3 } })).toEqual({ ok: true, delta: { type: 'heartbeat' } });
    const { resources: _left, ...withoutResources } = beat(ws);
    expect(gate.accept(withoutResources)).toMatchObject({ ok: false, error: expect.stringContaining('resources') });
    // A refused frame with moved resources keeps the last accepted figures.
    expect(gate.accept({ ...beat([{ workspaceId: 'w1', status: 'exploded' }]), resources: { ...resources, memoryFreeBytes: 9 } }).ok).toBe(false);
    expect(gate.accept({ ...beat(ws), resources: { ...resources, memoryFreeBytes: 9 } })).toEqual({
      ok: true,
      delta: { type: 'heartbeat', resources: { ...resources, memoryFreeBytes: 9 } },
    });
  });

  it('hands resources on whenever they differ from the last accepted, whatever the frames hold', () => {
    const figure = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e15, noNaN: true }));
    const res = fc.record({ cpus: fc.nat(64), memoryBytes: figure, memoryFreeBytes: figure, diskBytes: figure, diskFreeBytes: figure });
    fc.assert(
      fc.property(fc.array(res, { minLength: 1, maxLength: 6 }), (seq) => {
        const gate = new ReportGate();
        gate.accept({ ...hello(), resources: seq[0] });
        let last = seq[0];
        for (const r of seq.slice(1)) {
          const out = gate.accept({ ...beat(), resources: r });
          if (!out.ok) return false;
          const same = JSON.stringify(r) === JSON.stringify(last);
          if (same ? out.delta.resources !== undefined : JSON.stringify(out.delta.resources) !== JSON.stringify(r)) return false;
          last = r;
        }
        return true;
      }),
    );
  });
});
