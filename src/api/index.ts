/** The contract shared by server, agent, CLI and web. Imports nothing else of berth's. */
export * from './errors.js';
export * from './values.js';
export * from './image-ref.js';
export * from './resources.js';
export * from './placement.js';
export * from './node-detail.js';
export * from './users.js';
export * from './exec.js';
export * from './agent-protocol.js';
export * from './routes.js';
export { buildOpenApiDocument, openApiPath } from './openapi.js';
export * from './gateway.js';
export * from './op-context.js';
export * from './version.js';
export * from './connect-string.js';
export * from './node-trust.js';
export * from './ssh-nodes.js';
export * from './spec-durations.js';
export * from './service-graph.js';
export * from './project-spec.js';
export * from './spec-resolve.js';
export * from './ports.js';
export * from './lists.js';
export * from './services.js';
export * from './relay-protocol.js';
// HTTP previews of workspace ports.
export * from './previews.js';
export * from './web-session.js';
// Workspace names unique per owner: NAME / OWNER/NAME references.
export * from './workspace-ref.js';
// Configuration as code and dotfiles.
export * from './config.js';
export * from './config-diff.js';
export * from './dotfiles.js';
// Web UI: kept terminals (their keeping lives in the agent).
export * from './terminals.js';
// Running a command as the spec's user (hooks, ws exec, SSH sessions).
export * from './run-as.js';
// Teams and sharing.
export * from './teams.js';
