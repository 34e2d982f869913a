/**
 * Workspace specs on the server: a create body filled in from its project spec, and the spec
 * stored on a workspace row (0007_workspace_spec) read back, checked again on the way out so a
 * row written by another version never reaches a node unchecked.
 */

import type { z } from 'zod';
import { type ProjectSpec, projectSpecSchema, type workspaceCreateSchema } from '../../../api/index.js';
import type { Store } from '../../store/open.js';

type CreateBody = z.output<typeof workspaceCreateSchema>;

/**
 * The create's image, CPUs and memory from the spec where the request names none (the CLI
 * already did this; a client that only sends a spec gets the same). The provider is the CLI's
 * to choose: the body's default cannot be told from a choice here.
 */
export function withSpecDefaults(body: CreateBody): CreateBody {
  const spec = body.spec;
  if (!spec) return body;
  return { ...body, image: body.image ?? spec.image, cpus: body.cpus ?? spec.cpus, memory: body.memory ?? spec.memory };
}

/** A row's stored spec, or null (none, or one that no longer passes the schema: then it is ignored, and logged by the caller). */
export function parseStoredSpec(json: string | null | undefined): ProjectSpec | null {
  if (!json) return null;
  try {
    const parsed = projectSpecSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The stored spec of workspace `id`. */
export async function storedSpec(store: Store, id: string): Promise<ProjectSpec | null> {
  const row = await store.db.selectFrom('workspaces').select('spec_json').where('id', '=', id).executeTakeFirst();
  return parseStoredSpec(row?.spec_json);
}
