/**
 * The ports each workspace listens on, as its node last pushed them (`ports.changed`). Kept in
 * memory only: the agent sends every list again after each hello, so a restarted server learns
 * them within one poll, and a node that goes away takes its lists with it.
 */
import type { ListeningPort } from '../../api/index.js';

interface Entry {
  nodeId: string;
  ports: ListeningPort[];
  at: string;
}

/** Workspace id → its latest ports. */
export class PortsRegistry {
  private readonly byWorkspace = new Map<string, Entry>();

  /** Records a node's report for one of its workspaces. */
  set(nodeId: string, workspaceId: string, ports: ListeningPort[]): void {
    this.byWorkspace.set(workspaceId, { nodeId, ports, at: new Date().toISOString() });
  }

  /** The latest list for a workspace on `nodeId` (a report from any other node does not count). */
  get(workspaceId: string, nodeId: string): { ports: ListeningPort[]; at: string } | null {
    const e = this.byWorkspace.get(workspaceId);
    return e && e.nodeId === nodeId ? { ports: e.ports, at: e.at } : null;
  }

  /** Forgets one workspace's list (its node no longer holds it); a report from another node is kept. */
  forget(nodeId: string, workspaceId: string): void {
    if (this.byWorkspace.get(workspaceId)?.nodeId === nodeId) this.byWorkspace.delete(workspaceId);
  }

  /** Forgets every list a node sent (it disconnected). */
  forgetNode(nodeId: string): void {
    for (const [id, e] of this.byWorkspace) if (e.nodeId === nodeId) this.byWorkspace.delete(id);
  }
}
