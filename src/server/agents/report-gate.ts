/**
 * The cheap path for agent reports. A fleet's heartbeats mostly repeat the last report, so each
 * connection keeps the JSON text of every part of the last report it accepted, and checks (with
 * its zod schema) and hands on only the parts whose text changed. An unchanged heartbeat thus
 * costs one JSON.stringify per part and no validation. A hello starts afresh: every part is
 * checked and handed on. A frame with a bad part is refused whole and leaves the kept texts as
 * they were, so a bad frame never makes a later one look unchanged.
 */
import { AGENT_PROTOCOL_VERSION, agentReport, type NodeResources, type OrphanReport, type ProviderInfo, type WorkspaceReport } from '../../api/index.js';

/** What changed in one report (every part, for a hello); parts left out are as last time. */
export interface ReportDelta {
  type: 'hello' | 'heartbeat';
  /** Only on a hello. When it is not ours, no part is checked or handed on. */
  protocolVersion?: number;
  agentVersion?: string;
  resources?: NodeResources;
  providers?: ProviderInfo[];
  workspaces?: WorkspaceReport[];
  orphans?: OrphanReport[];
}

const PARTS = ['agentVersion', 'resources', 'providers', 'workspaces', 'orphans'] as const;
type Part = (typeof PARTS)[number];

/** True for a decoded frame the gate handles (a hello or a heartbeat). */
export function isReportFrame(frame: unknown): frame is Record<string, unknown> {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return false;
  const type = (frame as { type?: unknown }).type;
  return type === 'hello' || type === 'heartbeat';
}

/** Checks one connection's reports part by part, handing on only what changed. */
export class ReportGate {
  private last: Partial<Record<Part, string>> = {};
  /** The workspaces and orphans of the last accepted report, whole (for the reaper, which needs every id each time). */
  private lists: { workspaces: WorkspaceReport[]; orphans?: OrphanReport[] } = { workspaces: [] };

  /** The node's current workspaces and orphans, as of the last accepted report. */
  current(): { workspaces: WorkspaceReport[]; orphans?: OrphanReport[] } {
    return this.lists;
  }

  /** Checks a decoded hello or heartbeat; returns the delta, or why the frame is refused. */
  accept(frame: Record<string, unknown>): { ok: true; delta: ReportDelta } | { ok: false; error: string } {
    const type = frame.type as 'hello' | 'heartbeat';
    const allowed = new Set<string>(['type', ...PARTS, ...(type === 'hello' ? ['protocolVersion'] : [])]);
    for (const key of Object.keys(frame))
      if (!allowed.has(key)) return { ok: false, error: `invalid ${type}: unknown field ${JSON.stringify(key.slice(0, 64))}` };
    const delta: ReportDelta = { type };
    let seen = this.last;
    if (type === 'hello') {
      const v = frame.protocolVersion;
      if (typeof v !== 'number' || !Number.isInteger(v)) return { ok: false, error: 'invalid hello: protocolVersion must be a whole number' };
      delta.protocolVersion = v;
      if (v !== AGENT_PROTOCOL_VERSION) return { ok: true, delta };
      seen = {};
    }
    const texts: Partial<Record<Part, string>> = {};
    for (const part of PARTS) {
      const value = frame[part];
      const text = value === undefined ? undefined : JSON.stringify(value);
      if (text !== undefined && text === seen[part]) continue;
      const parsed = agentReport[part].safeParse(value);
      if (!parsed.success) return { ok: false, error: `invalid ${type}: ${part}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
      texts[part] = text;
      // An optional part left out (orphans) stays out of the delta rather than a key set to undefined.
      if (parsed.data !== undefined) (delta as unknown as Record<Part, unknown>)[part] = parsed.data;
    }
    this.last = { ...seen, ...texts };
    // A part a hello leaves out is empty; one a heartbeat leaves out is as it was.
    const base = type === 'hello' ? { workspaces: [] } : this.lists;
    this.lists = {
      workspaces: 'workspaces' in texts ? (delta.workspaces ?? []) : base.workspaces,
      orphans: 'orphans' in texts ? delta.orphans : type === 'hello' ? undefined : this.lists.orphans,
    };
    return { ok: true, delta };
  }
}
