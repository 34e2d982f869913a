/**
 * The agent protocol: one WebSocket per node, dialled out by the agent to
 * GET /api/v1/agent/connect with its node credential. Requests flow both ways, matched by id;
 * events are one-way notices. Every frame is validated against these schemas on arrival.
 * Bump AGENT_PROTOCOL_VERSION on any incompatible change; the server refuses other versions.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';
import { execRequestSchema } from './exec.js';
import { imageRefSchema } from './image-ref.js';
import { nodeCredentialSecretSchema } from './node-trust.js';
import { listeningPortSchema, MAX_REPORTED_PORTS } from './ports.js';
// Workspace specs: hooks and services run by the agent after a create or start.
import { projectSpecSchema } from './project-spec.js';
import {
  imageSchema,
  imageSourceSchema,
  MAX_CPUS,
  MAX_PACKAGES,
  nodeResourcesSchema,
  packageNameSchema,
  providerInfoSchema,
  providerKindSchema,
  workspaceStatusSchema,
} from './resources.js';
import { supervisorStateSchema } from './services.js';
// Web UI: kept terminals.
import { keptTerminalSchema, MAX_TERMINAL_IDLE_MS, MIN_TERMINAL_IDLE_MS, terminalIdSchema } from './terminals.js';
import { envSchema, nameSchema, workspaceIdSchema } from './values.js';

/**
 * 3: `op.cancel`, so the server can stop a create or an image build on the node.
 * 4: `credential.rotate`, so the server can hand a connected node a new credential.
 */
export const AGENT_PROTOCOL_VERSION = 4;

/**
 * Exec bytes travel as binary WebSocket frames, not inside JSON: `[kind: u8][session id:
 * 36 ASCII bytes][payload]`. That keeps bulk transfers (scp, port forwards) from paying for
 * base64 and JSON on every chunk.
 */
export const EXEC_DATA_KIND = { stdout: 1, stderr: 2, stdin: 3 } as const;
export type ExecDataKind = keyof typeof EXEC_DATA_KIND;
const SESSION_ID_BYTES = 36;

/** Builds one binary exec-data frame. Session ids are UUIDs (36 characters). */
export function encodeExecData(kind: ExecDataKind, sessionId: string, payload: Buffer): Buffer {
  if (sessionId.length !== SESSION_ID_BYTES) throw new Error(`exec session ids are ${SESSION_ID_BYTES} characters`);
  const head = Buffer.allocUnsafe(1 + SESSION_ID_BYTES);
  head[0] = EXEC_DATA_KIND[kind];
  head.write(sessionId, 1, 'latin1');
  return Buffer.concat([head, payload]);
}

/** Reads one binary exec-data frame, or null when it is malformed. */
export function decodeExecData(frame: Buffer): { kind: ExecDataKind; sessionId: string; payload: Buffer } | null {
  if (frame.length < 1 + SESSION_ID_BYTES) return null;
  const kind = (Object.keys(EXEC_DATA_KIND) as ExecDataKind[]).find((k) => EXEC_DATA_KIND[k] === frame[0]);
  if (!kind) return null;
  return { kind, sessionId: frame.toString('latin1', 1, 1 + SESSION_ID_BYTES), payload: frame.subarray(1 + SESSION_ID_BYTES) };
}

/**
 * What the server asks an agent to create. Checked again on the agent: every field ends up in
 * an engine call, a file path or a command line on the node.
 */
export const workspaceSpecSchema = z.object({
  id: workspaceIdSchema,
  name: nameSchema,
  provider: providerKindSchema,
  image: imageRefSchema,
  cpus: z.number().positive().max(MAX_CPUS).nullable(),
  memoryBytes: z.number().int().positive().nullable(),
  env: envSchema.default({}),
});
export type WorkspaceSpec = z.infer<typeof workspaceSpecSchema>;

/** A workspace's state as one node sees it. */
export const workspaceReportSchema = z.object({ workspaceId: z.string(), status: workspaceStatusSchema });
export type WorkspaceReport = z.infer<typeof workspaceReportSchema>;

/**
 * Something berth made on the node (it carries berth's labels for this node) that the agent
 * holds no handle for and is not creating: a create cut off inside the agent, or an object
 * made outside berth. The server decides what to do with it (see src/server/agents/reaper.ts),
 * since only it knows whether a workspace of that id is mid-operation.
 */
export const orphanReportSchema = z.object({ workspaceId: z.string().min(1).max(128), kind: providerKindSchema });
export type OrphanReport = z.infer<typeof orphanReportSchema>;
/** At most this many orphans travel in one report. */
export const MAX_ORPHANS_IN_REPORT = 1000;

const opParams = { opId: z.string() };
/**
 * The project spec a workspace was created from, for its hooks and services (absent from a
 * server from before specs, which the agent treats as none). Checked again on the agent.
 */
const projectParam = { project: projectSpecSchema.nullable().optional() };
const statusResult = z.object({ status: workspaceStatusSchema });

/** Requests the server sends to an agent: method → params and result schemas. */
export const agentMethods = {
  'workspace.create': { params: z.object({ ...opParams, spec: workspaceSpecSchema, ...projectParam }), result: statusResult },
  'workspace.start': { params: z.object({ ...opParams, workspaceId: z.string(), ...projectParam }), result: statusResult },
  'workspace.stop': {
    params: z.object({ ...opParams, workspaceId: z.string(), timeoutSeconds: z.number().int().min(0), force: z.boolean() }),
    result: statusResult,
  },
  'workspace.restart': {
    params: z.object({ ...opParams, workspaceId: z.string(), timeoutSeconds: z.number().int().min(0), ...projectParam }),
    result: statusResult,
  },
  'workspace.delete': { params: z.object({ ...opParams, workspaceId: z.string() }), result: z.object({}) },
  'workspace.inspect': { params: z.object({ workspaceId: z.string() }), result: statusResult },
  'exec.open': { params: z.object({ sessionId: z.string(), workspaceId: z.string(), request: execRequestSchema }), result: z.object({}) },
  /**
   * A TCP connection to a port on the workspace's own loopback, opened from the node, as an
   * exec session (same frames and events; eof half-closes; exit 0 when it closed cleanly).
   * FAILED_PRECONDITION when nothing listens there; UNSUPPORTED when the provider cannot open
   * connections (the server then forwards through a helper command instead).
   */
  'port.open': { params: z.object({ sessionId: z.string(), workspaceId: z.string(), port: z.number().int().min(1).max(65535) }), result: z.object({}) },
  'image.build': {
    params: z.object({ ...opParams, name: nameSchema, from: imageSourceSchema, packages: z.array(packageNameSchema).max(MAX_PACKAGES) }),
    result: imageSchema,
  },
  /**
   * Is `image` runnable by `provider` on this node? Answers the engine reference it resolves
   * to, NOT_FOUND (field image) when the node has no such image, INVALID_ARGUMENT when the
   * provider cannot run that kind of image. Creates nothing: the server asks before it
   * records a workspace. Agents older than this method answer UNSUPPORTED, and the server
   * then leaves the check to workspace.create, as before.
   */
  'image.resolve': { params: z.object({ provider: providerKindSchema, image: imageRefSchema }), result: z.object({ ref: z.string() }) },
  'image.list': { params: z.object({}), result: z.object({ images: z.array(imageSchema) }) },
  /**
   * Fires the signal of the operation's running request on the node; that request then fails
   * with CANCELLED after undoing what it made. `cancelled` is false when nothing ran under that id.
   */
  'op.cancel': { params: z.object({ opId: z.string(), message: z.string() }), result: z.object({ cancelled: z.boolean() }) },
  /**
   * A new credential for this node. The agent answers only after it saved the credential
   * (atomically) in its state dir; only then does the server retire the old one.
   */
  'credential.rotate': { params: z.object({ credential: nodeCredentialSecretSchema }), result: z.object({ saved: z.literal(true) }) },

  // Web UI: kept terminals (src/api/terminals.ts, src/agent/runtime/kept-terminals.ts).
  /**
   * Attaches exec session `sessionId` to the terminal the agent keeps under `terminalId` in
   * the workspace: its kept output is sent first, then live output; input, resize and close
   * (which detaches, leaving the shell) use the ordinary exec frames and events. Without such
   * a terminal, one is started from `request` (`created` true) and kept for `owner`. A writer
   * must be its owner (else NOT_FOUND); `readOnly` (pairing) takes output only, whoever asks,
   * and never starts one. `idleMs`: how long it is kept once nobody is attached.
   */
  'terminal.attach': {
    params: z.object({
      sessionId: z.string(),
      workspaceId: z.string(),
      terminalId: terminalIdSchema,
      owner: z.object({ id: z.string().max(128), name: z.string().max(128) }),
      readOnly: z.boolean(),
      idleMs: z.number().int().min(MIN_TERMINAL_IDLE_MS).max(MAX_TERMINAL_IDLE_MS),
      request: execRequestSchema,
    }),
    result: z.object({ created: z.boolean() }),
  },
  /** The terminals kept for a workspace (all owners; the server filters). */
  'terminal.list': {
    params: z.object({ workspaceId: z.string() }),
    result: z.object({ terminals: z.array(keptTerminalSchema.extend({ ownerId: z.string().max(128) })).max(1000) }),
  },
} as const;
export type AgentMethod = keyof typeof agentMethods;
export type AgentParams<M extends AgentMethod> = z.infer<(typeof agentMethods)[M]['params']>;
export type AgentResult<M extends AgentMethod> = z.infer<(typeof agentMethods)[M]['result']>;

/** One-way notices, either direction. */
export const agentEvents = {
  /** agent → server: progress of a long operation. */
  'op.progress': z.object({ opId: z.string(), stage: z.string(), fraction: z.number().min(0).max(1).nullable() }),
  /** agent → server: one log line of a long operation. */
  'op.log': z.object({ opId: z.string(), line: z.string() }),
  /** agent → server: an exec session ended; exitCode -1 with error when it could not run. */
  'exec.exit': z.object({ sessionId: z.string(), exitCode: z.number().int(), error: apiErrorSchema.optional() }),
  /**
   * Flow control, either direction: the receiver of a session's `output` (the server) or
   * `input` (the agent) asks the sender to hold off, then to go on. Without it a fast
   * producer piles data up in the slower side's memory.
   */
  'exec.pause': z.object({ sessionId: z.string(), stream: z.enum(['output', 'input']) }),
  'exec.resume': z.object({ sessionId: z.string(), stream: z.enum(['output', 'input']) }),
  /** server → agent: no more input. */
  'exec.eof': z.object({ sessionId: z.string() }),
  /** server → agent: the client's terminal changed size. */
  'exec.resize': z.object({ sessionId: z.string(), cols: z.number().int().positive().max(10_000), rows: z.number().int().positive().max(10_000) }),
  /** server → agent: the client went away; end the session. */
  'exec.close': z.object({ sessionId: z.string() }),
  /** agent → server: the ports listening in a workspace changed (sent whole; again for every workspace after each hello). */
  'ports.changed': z.object({
    workspaceId: z.string(),
    ports: z.array(listeningPortSchema).max(MAX_REPORTED_PORTS),
    /** The node no longer holds the workspace: forget its list. */
    gone: z.boolean().optional(),
  }),
  /**
   * agent → server: the state of a workspace's services as its supervisor last printed it
   * (sent whole; again after each hello). `state` null with `gone` when the node no longer
   * watches it (workspace stopped, deleted, or without services).
   */
  'services.changed': z.object({ workspaceId: z.string(), state: supervisorStateSchema.nullable(), gone: z.boolean().optional() }),
  // Web UI: kept terminals.
  /** server → agent: end the kept terminal this (writer) session is attached to (its tab was closed). */
  'terminal.end': z.object({ sessionId: z.string() }),
} as const;
export type AgentEvent = keyof typeof agentEvents;
export type AgentEventPayload<E extends AgentEvent> = z.infer<(typeof agentEvents)[E]>;

/** The agent's state report: sent first as `hello`, then every heartbeat interval. Each part is also checked on its own (the server skips parts that did not change). */
export const agentReport = {
  agentVersion: z.string(),
  resources: nodeResourcesSchema,
  providers: z.array(providerInfoSchema),
  workspaces: z.array(workspaceReportSchema),
  /** Optional, so agents and servers from before it still understand each other (no version bump). */
  orphans: z.array(orphanReportSchema).max(MAX_ORPHANS_IN_REPORT).optional(),
};

/** Frames on the agent socket. */
export const agentFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocolVersion: z.number().int(), ...agentReport }),
  z.object({
    type: z.literal('welcome'),
    protocolVersion: z.number().int(),
    nodeId: z.string(),
    nodeName: z.string(),
    heartbeatMs: z.number().int().positive(),
  }),
  z.object({ type: z.literal('heartbeat'), ...agentReport }),
  z.object({ type: z.literal('request'), id: z.string(), method: z.string(), params: z.unknown() }),
  z.object({ type: z.literal('response'), id: z.string(), result: z.unknown().optional(), error: apiErrorSchema.optional() }),
  z.object({ type: z.literal('event'), name: z.string(), payload: z.unknown() }),
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;
