/**
 * Base images live on nodes: a build runs on one node as an operation, and the list gathers
 * what every online node has. What to build is an image recipe (docs/config.md): a build with
 * `from` records it once it succeeds, and a build with only a name builds the stored one.
 */
import { BerthError, type Image, type ImageRecipeSpec, type ImagesPost, imagesPostSchema, type Operation, type User } from '../../api/index.js';
import type { AgentHub } from '../agents/hub.js';
import type { Operations } from '../operations/operations.js';
import { place } from '../scheduler/place.js';
import type { Store } from '../store/open.js';
import { recipeByName } from './config/live.js';
import type { NodesService } from './nodes.js';

/** Image builds and listings across nodes. */
export class ImagesService {
  constructor(
    private readonly hub: AgentHub,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
    private readonly store: Store,
  ) {}

  /** Builds a base image on a node (the named one, else the least busy that runs Docker). */
  async build(user: User, input: ImagesPost): Promise<Operation> {
    const body = imagesPostSchema.parse(input);
    const recipe = await this.recipe(body);
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
      await this.hub.requestForOp(node.id, 'image.build', { opId: op.id, name: body.name, ...recipe }, op.signal);
      // Recorded only after the node built it, so a refused package list leaves no recipe behind.
      if (body.from !== undefined) await this.record(body.name, recipe);
    });
  }

  /** What to build: the request's `from` and packages, else the stored recipe of that name. */
  private async recipe(body: { name: string; from?: string; packages?: string[] }): Promise<ImageRecipeSpec> {
    if (body.from !== undefined) return { from: body.from, packages: body.packages ?? [] };
    if (body.packages !== undefined)
      throw new BerthError('INVALID_ARGUMENT', 'Packages need a base: give --from (busybox or debian:SUITE) with --packages.', { field: 'from' });
    const stored = await recipeByName(this.store.db, body.name);
    if (!stored) {
      throw new BerthError(
        'NOT_FOUND',
        `There is no image recipe named ${body.name}: give --from (and --packages) to build it and record the recipe, or add an ImageRecipe with \`berth config push\`.`,
        { field: 'from' },
      );
    }
    return stored;
  }

  /** Stores (or replaces) the recipe an image was built from; the revision moves only when it differs (its trigger). */
  private async record(name: string, recipe: ImageRecipeSpec): Promise<void> {
    const now = new Date().toISOString();
    const spec = JSON.stringify({ from: recipe.from, packages: recipe.packages });
    await this.store.db
      .insertInto('image_recipes')
      .values({ name, spec_json: spec, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ spec_json: spec, updated_at: now }))
      .execute();
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
