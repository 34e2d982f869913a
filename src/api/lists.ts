/**
 * Paginated, filterable lists (GET /nodes, GET /workspaces): the query strings they take and
 * the opaque cursor. Pages are keyset pages on the name (nodes' names are unique; workspaces'
 * are unique per owner, so their pages go by name then owner and their cursor is OWNER/NAME):
 * a cursor says "after this row", so a page costs the same however deep it is, and rows added or removed
 * meanwhile never shift a later page (no row is skipped or repeated because of OFFSET).
 */
import { z } from 'zod';
import { constraintSchema } from './placement.js';
import { nodeStatusSchema, providerKindSchema, workspaceStatusSchema } from './resources.js';
import { nameSchema } from './values.js';
import { parseWorkspaceRef } from './workspace-ref.js';

/** Page size when a list request names none. */
export const DEFAULT_PAGE_LIMIT = 100;
/** The largest page a list request may ask for. */
export const MAX_PAGE_LIMIT = 1000;

const CURSOR_PREFIX = 'c1.';

/** The cursor that continues a list after the row named `name`. */
export function encodeCursor(name: string): string {
  return CURSOR_PREFIX + Buffer.from(name, 'utf8').toString('base64url');
}

/** The name a cursor continues after, or null when the text is no cursor this server made. */
export function decodeCursor(text: string): string | null {
  if (!text.startsWith(CURSOR_PREFIX) || text.length > 200) return null;
  const body = text.slice(CURSOR_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return null;
  const name = Buffer.from(body, 'base64url').toString('utf8');
  // Workspaces' cursors are `OWNER/NAME` (names are unique per owner); nodes' a bare name.
  return parseWorkspaceRef(name) !== null && encodeCursor(name) === text ? name : null;
}

/** A `cursor` query parameter, decoded to the name it continues after. */
const cursorSchema = z
  .string()
  .max(200)
  .transform((text, ctx) => {
    const name = decodeCursor(text);
    if (name === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'not a cursor this server handed out; pass the nextCursor of the previous page, or leave it out to start at the beginning',
      });
      return z.NEVER;
    }
    return name;
  });

/** A `limit` query parameter: a whole number from 1 to MAX_PAGE_LIMIT. */
const limitSchema = z
  .string()
  .max(10)
  .regex(/^[0-9]+$/, `use a whole number from 1 to ${MAX_PAGE_LIMIT}`)
  .transform(Number)
  .pipe(z.number().int().min(1, `use a whole number from 1 to ${MAX_PAGE_LIMIT}`).max(MAX_PAGE_LIMIT, `use at most ${MAX_PAGE_LIMIT}`))
  .default(DEFAULT_PAGE_LIMIT);

/**
 * A query-string object of exactly these parameters. An unknown one is refused naming it (an
 * empty name, from `?=x`, is named `query`), so a misspelt filter never silently lists everything.
 */
function queryObject<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess((value, ctx) => {
    if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) {
        if (Object.hasOwn(shape, key)) continue;
        const shown = JSON.stringify(key.slice(0, 64)).slice(1, -1);
        ctx.addIssue({ code: 'custom', message: `unknown parameter "${shown}": remove it, or check its spelling`, path: [shown || 'query'] });
      }
    }
    return value;
  }, z.object(shape));
}

/** Query of GET /nodes: page, and filters by status and one label constraint (`k=v` or `k!=v`). */
export const nodesQuerySchema = queryObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
  status: nodeStatusSchema.optional(),
  label: constraintSchema.optional(),
});
export type NodesQuery = z.output<typeof nodesQuerySchema>;

/** Query of GET /workspaces: page, and filters by node, owner, status and provider. */
export const workspacesQuerySchema = queryObject({
  limit: limitSchema,
  cursor: cursorSchema.optional(),
  node: nameSchema.optional(),
  owner: nameSchema.optional(),
  status: workspaceStatusSchema.optional(),
  provider: providerKindSchema.optional(),
  // Teams and sharing: only workspaces others share with the caller (or their teams hold).
  shared: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
export type WorkspacesQuery = z.output<typeof workspacesQuerySchema>;

/** The cursor of the page after `rows`, or null when `rows` was the last page. */
export function nextCursorOf(rows: Array<{ name: string }>, limit: number, more: boolean): string | null {
  return more && rows.length === limit ? encodeCursor(rows[rows.length - 1]!.name) : null;
}
