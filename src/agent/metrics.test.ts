import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { parsePromText, sampleValue } from '../testing/prom-text.js';
import { AgentMetrics } from './metrics.js';

describe('AgentMetrics', () => {
  it('counts the last report by provider and status, and reads live state at scrape time', async () => {
    let connected = true;
    const providers: Record<string, string> = { a: 'docker', b: 'docker', c: 'lxc' };
    const m = new AgentMetrics({ providerOf: (id) => providers[id], execSessions: () => 4, connected: () => connected }, { processMetrics: false });
    m.reported({
      workspaces: [
        { workspaceId: 'a', status: 'running' },
        { workspaceId: 'b', status: 'running' },
        { workspaceId: 'c', status: 'stopped' },
        { workspaceId: 'untracked', status: 'running' },
      ],
    });
    let s = parsePromText(await m.registry.metrics());
    expect(sampleValue(s, 'berth_agent_workspaces', { provider: 'docker', status: 'running' })).toBe(2);
    expect(sampleValue(s, 'berth_agent_workspaces', { provider: 'lxc', status: 'stopped' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_workspaces', { provider: 'qemu', status: 'running' })).toBe(0);
    expect(sampleValue(s, 'berth_agent_exec_sessions_open')).toBe(4);
    expect(sampleValue(s, 'berth_agent_connected')).toBe(1);

    // A later report replaces the counts; a lost connection shows 0.
    m.reported({ workspaces: [{ workspaceId: 'a', status: 'stopped' }] });
    connected = false;
    s = parsePromText(await m.registry.metrics());
    expect(sampleValue(s, 'berth_agent_workspaces', { provider: 'docker', status: 'running' })).toBe(0);
    expect(sampleValue(s, 'berth_agent_workspaces', { provider: 'docker', status: 'stopped' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_connected')).toBe(0);
  });

  it('counts welcomes after the first as reconnects', async () => {
    const m = new AgentMetrics({ providerOf: () => undefined, execSessions: () => 0, connected: () => true }, { processMetrics: false });
    m.welcomed();
    expect(sampleValue(parsePromText(await m.registry.metrics()), 'berth_agent_reconnects_total')).toBe(0);
    m.welcomed();
    m.welcomed();
    expect(sampleValue(parsePromText(await m.registry.metrics()), 'berth_agent_reconnects_total')).toBe(2);
  });

  it('times requests by method and outcome, passing answers and errors through unchanged', async () => {
    const m = new AgentMetrics({ providerOf: () => undefined, execSessions: () => 0, connected: () => true });
    const handler = m.timeRequests(async (method) => {
      if (method === 'workspace.stop') throw new BerthError('NODE_OFFLINE', 'x');
      if (method === 'workspace.create') throw new BerthError('CANCELLED', 'stopped');
      return { ok: method };
    });
    expect(await handler('workspace.inspect', {})).toEqual({ ok: 'workspace.inspect' });
    await expect(handler('workspace.stop', {})).rejects.toThrow(BerthError);
    await expect(handler('workspace.create', {})).rejects.toMatchObject({ code: 'CANCELLED' });
    const s = parsePromText(await m.registry.metrics());
    expect(sampleValue(s, 'berth_agent_requests_total', { method: 'workspace.inspect', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_requests_total', { method: 'workspace.stop', outcome: 'failed' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_requests_total', { method: 'workspace.create', outcome: 'cancelled' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_request_duration_seconds_count', { method: 'workspace.inspect', outcome: 'succeeded' })).toBe(1);
    // Default process metrics carry the agent's prefix.
    expect(s.some((x) => x.name === 'berth_agent_process_cpu_user_seconds_total')).toBe(true);
  });

  it('reports the web UI’s kept terminals: open, attached, viewers, and ended by reason (every reason, 0 when none)', async () => {
    let stats = { open: 3, attached: 2, viewers: 5, ended: { idle: 4, closed: 1, exited: 0, stopped: 0 } };
    const m = new AgentMetrics(
      { providerOf: () => undefined, execSessions: () => 0, connected: () => true, keptTerminals: () => stats },
      { processMetrics: false },
    );
    let s = parsePromText(await m.registry.metrics());
    expect(sampleValue(s, 'berth_agent_kept_terminals_open')).toBe(3);
    expect(sampleValue(s, 'berth_agent_kept_terminals_attached')).toBe(2);
    expect(sampleValue(s, 'berth_agent_kept_terminal_viewers')).toBe(5);
    expect(sampleValue(s, 'berth_agent_kept_terminals_ended_total', { reason: 'idle' })).toBe(4);
    expect(sampleValue(s, 'berth_agent_kept_terminals_ended_total', { reason: 'closed' })).toBe(1);
    expect(sampleValue(s, 'berth_agent_kept_terminals_ended_total', { reason: 'stopped' })).toBe(0);
    // Read again at the next scrape.
    stats = { open: 0, attached: 0, viewers: 0, ended: { idle: 6, closed: 1, exited: 2, stopped: 3 } };
    s = parsePromText(await m.registry.metrics());
    expect(sampleValue(s, 'berth_agent_kept_terminals_open')).toBe(0);
    expect(sampleValue(s, 'berth_agent_kept_terminals_ended_total', { reason: 'idle' })).toBe(6);
    expect(sampleValue(s, 'berth_agent_kept_terminals_ended_total', { reason: 'exited' })).toBe(2);
    // Without kept terminals (an agent that has none to read) everything is 0, still reported.
    const bare = parsePromText(
      await new AgentMetrics({ providerOf: () => undefined, execSessions: () => 0, connected: () => true }, { processMetrics: false }).registry.metrics(),
    );
    expect(sampleValue(bare, 'berth_agent_kept_terminals_open')).toBe(0);
    expect(sampleValue(bare, 'berth_agent_kept_terminals_ended_total', { reason: 'idle' })).toBe(0);
  });
});
