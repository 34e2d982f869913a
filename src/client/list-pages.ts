/**
 * Whole lists from the paged list routes (GET /nodes, GET /workspaces): page after page,
 * following nextCursor, at the largest page size the server takes.
 */
import { MAX_PAGE_LIMIT, type Node, type Workspace } from '../api/index.js';
import type { BerthClient } from './berth-client.js';

/** Filters and a starting cursor of a list query (the page size is chosen here). */
export type ListQuery = Record<string, string | undefined>;

/** Every node matching `query`, from `query.cursor` on. */
export async function listAllNodes(client: BerthClient, query: ListQuery = {}): Promise<Node[]> {
  const out: Node[] = [];
  let cursor = query.cursor;
  do {
    const page = await client.call('nodesList', { query: { ...query, cursor, limit: MAX_PAGE_LIMIT } });
    out.push(...page.nodes);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** Every workspace the caller may see that matches `query`, from `query.cursor` on. */
export async function listAllWorkspaces(client: BerthClient, query: ListQuery = {}): Promise<Workspace[]> {
  const out: Workspace[] = [];
  let cursor = query.cursor;
  do {
    const page = await client.call('workspacesList', { query: { ...query, cursor, limit: MAX_PAGE_LIMIT } });
    out.push(...page.workspaces);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}
