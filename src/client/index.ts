/** The typed berth client, shared by the CLI and the web UI. */
export { BerthClient, type BerthClientOptions, type CallOptions } from './berth-client.js';
export type { ExecIO } from './exec-session.js';
export { type ListQuery, listAllNodes, listAllWorkspaces } from './list-pages.js';
export { normalizeServerUrl, toWebSocketUrl } from './server-url.js';
