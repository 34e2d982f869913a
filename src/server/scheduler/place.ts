/**
 * Placement: which node gets a new workspace. A node qualifies when it is online and its
 * probe says the provider is usable; among those the one with the fewest workspaces and then
 * the most free memory wins. When nothing qualifies, the error says why for each node.
 */
import { BerthError, type Node, type ProviderKind } from '../../api/index.js';

/** Picks a node for a workspace of `provider`, honouring an explicit `--node`. */
export function placeWorkspace(nodes: Node[], provider: ProviderKind, wanted?: string): Node {
  if (wanted) {
    const node = nodes.find((n) => n.name === wanted);
    if (!node) throw new BerthError('NOT_FOUND', `No node named ${wanted}; see \`berth node ls\`.`, { field: 'node' });
    const why = unfit(node, provider);
    if (why) throw why;
    return node;
  }
  if (nodes.length === 0) {
    throw new BerthError('NO_NODE_AVAILABLE', 'No node has joined this server yet; start one with `berth server --local-agent` or `berth agent --join-token`.', { field: 'node' });
  }
  const fit = nodes.filter((n) => !unfit(n, provider));
  if (fit.length === 0) {
    const reasons = nodes.map((n) => `${n.name}: ${unfit(n, provider)!.message}`).join(' ');
    const anyOnlineWithout = nodes.some((n) => n.status === 'online');
    throw new BerthError(anyOnlineWithout ? 'PROVIDER_UNAVAILABLE' : 'NO_NODE_AVAILABLE', `No node can run a ${provider} workspace now. ${reasons}`, { field: 'provider' });
  }
  fit.sort((a, b) => a.workspaces - b.workspaces || (b.resources?.memoryFreeBytes ?? 0) - (a.resources?.memoryFreeBytes ?? 0));
  return fit[0];
}

/** Why a node cannot take a workspace of `provider`, or null when it can. */
function unfit(node: Node, provider: ProviderKind): BerthError | null {
  if (node.status !== 'online') return new BerthError('NODE_OFFLINE', `Node ${node.name} is offline; start its agent and retry.`, { field: 'node' });
  const info = node.providers.find((p) => p.kind === provider);
  if (!info) return new BerthError('PROVIDER_UNAVAILABLE', `Node ${node.name} has no ${provider} provider.`, { field: 'provider' });
  if (!info.usable) return new BerthError('PROVIDER_UNAVAILABLE', `The ${provider} provider on node ${node.name} is not usable: ${info.reason ?? 'no reason given'}`, { field: 'provider' });
  return null;
}
