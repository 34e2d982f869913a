/**
 * Placement with the facts gathered: the nodes as the store and the hub know them, and, for
 * each node that passes every other test, whether the image resolves there (the agent's
 * `image.resolve`, asked in parallel). The choice itself is place.ts's pure function.
 */
import { BerthError, toApiError } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { NodesService } from '../services/nodes.js';
import { type PlacementNode, type PlacementRequest, place, unfitBeforeImage } from './place.js';

/** How long a node may take to say whether it has an image: a registry lookup included (the agent gives up after 20 s). */
const IMAGE_LOOKUP_TIMEOUT_MS = 30_000;

/** Picks the node for a workspace (see place.ts), asking candidates whether they have its image. */
export async function chooseNode(nodes: NodesService, hub: AgentHub, req: PlacementRequest): Promise<PlacementNode> {
  const all = await nodes.placementNodes(req.node);
  const asked = all.filter((n) => (req.node === undefined || n.name === req.node) && unfitBeforeImage(n, req) === null);
  await Promise.all(
    asked.map(async (n) => {
      try {
        await hub.request(n.id, 'image.resolve', { provider: req.provider, image: req.image }, IMAGE_LOOKUP_TIMEOUT_MS);
        n.image = { ok: true };
      } catch (err) {
        const e = toApiError(err);
        n.image = { ok: false, code: e.code, message: `cannot use image ${req.image}: ${e.message.replace(/\.$/, '')}` };
        if (e.code === 'INTERNAL') throw err instanceof BerthError ? err : new BerthError('INTERNAL', e.message, { cause: err });
      }
    }),
  );
  return place(all, req);
}
