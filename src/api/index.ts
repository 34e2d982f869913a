/** The contract shared by server, agent, CLI and web. Imports nothing else of berth's. */

export * from './agent-protocol.js';
// Configuration as code and dotfiles.
export * from './config.js';
export * from './config-diff.js';
export * from './connect-string.js';
export * from './dotfiles.js';
export * from './errors.js';
export * from './exec.js';
export * from './gateway.js';
export * from './image-ref.js';
export * from './lists.js';
export * from './node-detail.js';
export * from './node-trust.js';
export * from './op-context.js';
export { buildOpenApiDocument, openApiPath } from './openapi.js';
export * from './placement.js';
export * from './ports.js';
// HTTP previews of workspace ports.
export * from './previews.js';
export * from './project-spec.js';
export * from './relay-protocol.js';
export * from './resources.js';
export * from './routes.js';
// Running a command as the spec's user (hooks, ws exec, SSH sessions).
export * from './run-as.js';
export * from './service-graph.js';
export * from './services.js';
export * from './spec-durations.js';
export * from './spec-resolve.js';
export * from './ssh-nodes.js';
// Teams and sharing.
export * from './teams.js';
// Web UI: kept terminals (their keeping lives in the agent).
export * from './terminals.js';
export * from './users.js';
export * from './values.js';
export * from './version.js';
export * from './web-session.js';
// Workspace names unique per owner: NAME / OWNER/NAME references.
export * from './workspace-ref.js';
