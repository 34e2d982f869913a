/**
 * The check every provider runs before it makes anything: a spec's id, name, image and
 * environment end up in engine API paths, container names, config files, directory names and
 * command lines on this node, so a provider accepts only what the contract allows, whoever
 * called it (the agent has already checked the server's request; tests and tools call
 * providers directly).
 */
import { fromZodError, type WorkspaceSpec, workspaceSpecSchema } from '../api/index.js';

/** INVALID_ARGUMENT naming the first bad field, unless the spec is one the contract allows. */
export function checkSpec(spec: WorkspaceSpec): void {
  const parsed = workspaceSpecSchema.safeParse(spec);
  if (!parsed.success) throw fromZodError(parsed.error);
}
