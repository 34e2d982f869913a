/** What `berth node show` prints: a node, what its workspaces reserve and what is left. */
import { z } from 'zod';
import { nodeSchema, workspaceStatusSchema } from './resources.js';

/** CPU and memory, as reserved or free on a node. */
export const capacitySchema = z.object({ cpus: z.number(), memoryBytes: z.number() });
export type Capacity = z.infer<typeof capacitySchema>;

/** Everything about one node, for `node show`. */
export const nodeDetailSchema = z.object({
  node: nodeSchema,
  /** What its workspaces reserve (explicit --cpus/--memory; a workspace without them reserves nothing). */
  reserved: capacitySchema,
  /** Total minus reserved; null until the node has reported its resources. */
  free: capacitySchema.nullable(),
  workspaces: z.array(
    z.object({
      name: z.string(),
      owner: z.string(),
      status: workspaceStatusSchema,
      provider: z.string(),
      cpus: z.number().nullable(),
      memoryBytes: z.number().nullable(),
    }),
  ),
});
export type NodeDetail = z.infer<typeof nodeDetailSchema>;
