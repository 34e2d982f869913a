/**
 * What each workspace's node last pushed about it (its listening ports, its services' state),
 * kept in memory only: the agent sends everything again after each hello, so a restarted
 * server learns it within one round, and a node that goes away takes its reports with it.
 * Indexed by node too, so a disconnect (10,000 at once in a reconnect storm) costs that node's
 * own reports rather than a scan of every workspace's.
 */

/** Workspace id → the latest report of type T from the node that holds it. */
export class NodeReports<T> {
  private readonly byWorkspace = new Map<string, { nodeId: string; value: T; at: string }>();
  private readonly byNode = new Map<string, Set<string>>();

  /** Records a node's report for one of its workspaces. */
  set(nodeId: string, workspaceId: string, value: T): void {
    const previous = this.byWorkspace.get(workspaceId);
    if (previous && previous.nodeId !== nodeId) this.byNode.get(previous.nodeId)?.delete(workspaceId);
    this.byWorkspace.set(workspaceId, { nodeId, value, at: new Date().toISOString() });
    let held = this.byNode.get(nodeId);
    if (!held) this.byNode.set(nodeId, (held = new Set()));
    held.add(workspaceId);
  }

  /** The latest report for a workspace on `nodeId` (a report from any other node does not count). */
  get(workspaceId: string, nodeId: string): { value: T; at: string } | null {
    const e = this.byWorkspace.get(workspaceId);
    return e && e.nodeId === nodeId ? { value: e.value, at: e.at } : null;
  }

  /** Forgets one workspace's report (its node no longer holds it); a report from another node is kept. */
  forget(nodeId: string, workspaceId: string): void {
    if (this.byWorkspace.get(workspaceId)?.nodeId !== nodeId) return;
    this.byWorkspace.delete(workspaceId);
    this.byNode.get(nodeId)?.delete(workspaceId);
  }

  /** Forgets every report a node sent (it disconnected). */
  forgetNode(nodeId: string): void {
    for (const id of this.byNode.get(nodeId) ?? []) if (this.byWorkspace.get(id)?.nodeId === nodeId) this.byWorkspace.delete(id);
    this.byNode.delete(nodeId);
  }

  /** How many workspaces have a report. */
  get size(): number {
    return this.byWorkspace.size;
  }
}
