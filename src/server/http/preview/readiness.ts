/**
 * Whether a preview can be served now, shows the "starting" page (which refreshes itself), or
 * fails: one small decision from what the server knows, so that more facts (a service's health
 * from the workspace spec's supervisor) can be added in one place.
 */
import { type ApiError, BerthError, type WorkspaceStatus } from '../../../api/index.js';

/** What is known about a preview's target when deciding. */
export interface PreviewFacts {
  name: string;
  port: number;
  status: WorkspaceStatus;
  nodeOnline: boolean;
  /** How opening the port went; absent before it was tried. */
  connectError?: ApiError;
  /** The service that owns the port, when the workspace's spec names one, and whether it is healthy yet. */
  service?: { name: string; healthy: boolean };
}

/** The decision: go on (connect, or use the connection), show the starting page, or fail with an error. */
export type Readiness = { state: 'go' } | { state: 'starting'; why: string } | { state: 'error'; error: BerthError };

/** Statuses on the way to running: the page waits for them. */
const ON_THE_WAY: ReadonlySet<WorkspaceStatus> = new Set(['creating', 'starting', 'restarting']);

/** Decides what a preview request gets, from what is known so far. */
export function previewReadiness(f: PreviewFacts): Readiness {
  if (ON_THE_WAY.has(f.status)) return { state: 'starting', why: `Workspace ${f.name} is ${f.status}.` };
  if (f.status !== 'running') {
    return {
      state: 'error',
      error: new BerthError('FAILED_PRECONDITION', `Workspace ${f.name} is ${f.status}, not running; start it with \`berth ws start ${f.name}\`.`, {
        field: 'name',
      }),
    };
  }
  if (!f.nodeOnline)
    return {
      state: 'error',
      error: new BerthError('NODE_OFFLINE', `Workspace ${f.name} is on a node that is offline; retry when its agent is back.`, { field: 'name' }),
    };
  if (f.service && !f.service.healthy) return { state: 'starting', why: `Service ${f.service.name} is not healthy yet.` };
  const e = f.connectError;
  if (!e) return { state: 'go' };
  // The providers answer a refused connection (nothing listens yet) this way; see netns-connect.ts.
  if (e.code === 'FAILED_PRECONDITION' && e.field === 'port') return { state: 'starting', why: `Nothing listens on port ${f.port} in ${f.name} yet.` };
  return { state: 'error', error: BerthError.fromApi(e) };
}
