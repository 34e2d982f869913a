/**
 * Base images live on nodes: a build runs on one node as an operation, and the list gathers
 * what every online node has.
 */
import { BerthError, type Image, type ImagesPost, imagesPostSchema, type Operation, type User } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { Operations } from '../operations/operations.js';
import { place } from '../scheduler/place.js';
import type { NodesService } from './nodes.js';

/** Image builds and listings across nodes. */
export class ImagesService {
  constructor(
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
  ) {}

  /** Builds a base image on a node (the named one, else the least busy that runs Docker). */
  async build(user: User, input: ImagesPost): Promise<Operation> {
    const body = imagesPostSchema.parse(input);
    // A build needs a usable Docker engine; cordons and reservations are about workspaces.
    const candidates = (await this.nodes.placementNodes()).map((n) => ({ ...n, cordoned: false, image: { ok: true as const } }));
    const node = place(candidates, {
      provider: 'docker',
      image: body.name,
      cpus: null,
      memoryBytes: null,
      constraints: [],
      node: body.node,
      strategy: 'spread',
    });
    return this.ops.start({ kind: 'image.build', target: `image/${body.name}`, createdBy: user.id }, async (op) => {
      op.progress('scheduled', null);
      op.log(`building on node ${node.name}`);
      await this.hub.requestForOp(node.id, 'image.build', { opId: op.id, name: body.name, from: body.from, packages: body.packages }, op.signal);
    });
  }

  /** Every berth image on every online node. */
  async list(): Promise<Image[]> {
    const online = (await this.nodes.list({ limit: null, status: 'online' })).nodes;
    const lists = await Promise.all(
      online.map((n) =>
        this.hub.request(n.id, 'image.list', {}, 15_000).then(
          (r) => r.images.map((i) => ({ ...i, nodeName: n.name })),
          (err: unknown) => {
            if (err instanceof BerthError && err.code === 'NODE_OFFLINE') return [];
            throw err;
          },
        ),
      ),
    );
    return lists.flat().sort((a, b) => a.name.localeCompare(b.name) || a.nodeName.localeCompare(b.nodeName));
  }
}
