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
  /** Node id → the workspaces it reported, so a disconnect (10,000 at once in a reconnect storm) costs its own lists, not a scan of every list. */
  private readonly byNode = new Map<string, Set<string>>();

  /** Records a node's report for one of its workspaces. */
  set(nodeId: string, workspaceId: string, ports: ListeningPort[]): void {
    const previous = this.byWorkspace.get(workspaceId);
    if (previous && previous.nodeId !== nodeId) this.byNode.get(previous.nodeId)?.delete(workspaceId);
    this.byWorkspace.set(workspaceId, { nodeId, ports, at: new Date().toISOString() });
    let held = this.byNode.get(nodeId);
    if (!held) this.byNode.set(nodeId, (held = new Set()));
    held.add(workspaceId);
  }

  /** The latest list for a workspace on `nodeId` (a report from any other node does not count). */
  get(workspaceId: string, nodeId: string): { ports: ListeningPort[]; at: string } | null {
    const e = this.byWorkspace.get(workspaceId);
    return e && e.nodeId === nodeId ? { ports: e.ports, at: e.at } : null;
  }

  /** Forgets one workspace's list (its node no longer holds it); a report from another node is kept. */
  forget(nodeId: string, workspaceId: string): void {
    if (this.byWorkspace.get(workspaceId)?.nodeId !== nodeId) return;
    this.byWorkspace.delete(workspaceId);
    this.byNode.get(nodeId)?.delete(workspaceId);
  }

  /** Forgets every list a node sent (it disconnected). */
  forgetNode(nodeId: string): void {
    for (const id of this.byNode.get(nodeId) ?? []) if (this.byWorkspace.get(id)?.nodeId === nodeId) this.byWorkspace.delete(id);
    this.byNode.delete(nodeId);
  }

  /** How many workspaces have a list (for tests and metrics). */
  get size(): number {
    return this.byWorkspace.size;
  }
}
