/**
 * `berth/plugin`: the provider plugin API (see docs/plugins.md). A thin re-export of what the
 * built-in providers themselves use, so a plugin is written against the very same types and
 * helpers and the two cannot drift. Versioned by PLUGIN_API_VERSION (a major number).
 */
// The contract a plugin implements and the helper that declares it.

export type { WorkspaceSpec } from '../api/agent-protocol.js';
export type { ErrorCode } from '../api/errors.js';
// Errors: every user-visible failure is a BerthError with one of these codes.
export { BerthError, ERROR_CODES } from '../api/errors.js';
export type { ExecRequest } from '../api/exec.js';
export type { OpContext } from '../api/op-context.js';
// The spec and status types a provider receives and answers with.
export { silentOp } from '../api/op-context.js';
export type { ProviderInfo, ProviderKind, WorkspaceStatus } from '../api/resources.js';
export { pluginKindSchema } from '../api/resources.js';
export { checkHandle, stateString } from '../providers/handle.js';
export { connectInNetns } from '../providers/netns-connect.js';
export type { PluginContext, PluginLog, ProviderPlugin } from '../providers/plugin-api.js';
export { definePlugin, PLUGIN_API_VERSION } from '../providers/plugin-api.js';
export type { PortSource } from '../providers/ports/scanner.js';
export { hostPortSource } from '../providers/ports/scanner.js';
export type { Capabilities, Provider, ProviderStatus, StopOptions, WorkspaceHandle } from '../providers/provider.js';
export { LABELS } from '../providers/provider.js';
export type { ExecParams, ExecSession, RunParams, RunResult, Transport } from '../transport/index.js';
// Running commands on the node: the transports, and the helpers for a workspace in a network namespace.
export { exitCodeForSignal, LocalTransport, runViaExec, SshTransport, shellQuote } from '../transport/index.js';
