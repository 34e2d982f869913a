/**
 * The state of each workspace's services, as its node last pushed it (`services.changed`,
 * from the supervisor's `berth-in ctl watch`). Kept in memory only, like ports.ts: the agent
 * sends every state again after each hello, and a node that goes away takes its states with it.
 */
import type { SupervisorState } from '../../api/index.js';

interface Entry {
  nodeId: string;
  state: SupervisorState;
  at: string;
}

/** Workspace id → its supervisor's latest state. */
export class ServicesRegistry {
  private readonly byWorkspace = new Map<string, Entry>();

  /** Records a node's report for one of its workspaces. */
  set(nodeId: string, workspaceId: string, state: SupervisorState): void {
    this.byWorkspace.set(workspaceId, { nodeId, state, at: new Date().toISOString() });
  }

  /** The latest state for a workspace on `nodeId` (a report from any other node does not count). */
  get(workspaceId: string, nodeId: string): { state: SupervisorState; at: string } | null {
    const e = this.byWorkspace.get(workspaceId);
    return e && e.nodeId === nodeId ? { state: e.state, at: e.at } : null;
  }

  /** Forgets one workspace's state (its node stopped watching it); a report from another node is kept. */
  forget(nodeId: string, workspaceId: string): void {
    if (this.byWorkspace.get(workspaceId)?.nodeId === nodeId) this.byWorkspace.delete(workspaceId);
  }

  /** Forgets every state a node sent (it disconnected). */
  forgetNode(nodeId: string): void {
    for (const [id, e] of this.byWorkspace) if (e.nodeId === nodeId) this.byWorkspace.delete(id);
  }
}
