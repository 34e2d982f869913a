/** Workspace calls the pages share: the whole list (every page), and the lifecycle actions. */
import type { Operation, OperationEvent, Workspace } from '../../../src/api/index.js';
import { call, watchOperation } from './api.js';

/** Every workspace the caller may see, following the list's pages. */
export async function listAllWorkspaces(): Promise<Workspace[]> {
  const out: Workspace[] = [];
  let cursor: string | undefined;
  do {
    const page = await call('workspacesList', { query: { limit: 1000, cursor } });
    out.push(...page.workspaces);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

let prefetched: Promise<Workspace[]> | null = null;

/**
 * Starts loading the list at once, beside the session check, so the first page needs one
 * round trip less; the list page takes it (once). A failure is left to the page's own load.
 */
export function prefetchWorkspaces(): void {
  prefetched = listAllWorkspaces();
  prefetched.catch(() => {});
}

/** The prefetched list the first time, a fresh one after. */
export function loadWorkspaces(): Promise<Workspace[]> {
  const p = prefetched;
  prefetched = null;
  return p ? p.catch(() => listAllWorkspaces()) : listAllWorkspaces();
}

/** The lifecycle actions a workspace has. */
export type Action = 'start' | 'stop' | 'restart' | 'delete';

/** Which actions make sense in a status (the server decides; this only hides the pointless). */
export function actionsFor(status: Workspace['status']): Action[] {
  if (status === 'running') return ['stop', 'restart', 'delete'];
  if (status === 'stopped' || status === 'failed') return ['start', 'delete'];
  if (status === 'unknown') return ['delete'];
  return [];
}

/** Runs an action and follows its operation to the end. */
export async function runAction(name: string, action: Action, onEvent: (e: OperationEvent) => void = () => {}): Promise<Operation> {
  const params = { name };
  const { operation } =
    action === 'start'
      ? await call('workspaceStartPost', { params })
      : action === 'stop'
        ? await call('workspaceStopPost', { params, body: {} })
        : action === 'restart'
          ? await call('workspaceRestartPost', { params, body: {} })
          : await call('workspaceDelete', { params, body: {} });
  return watchOperation(operation.id, onEvent);
}
