/**
 * The agent protocol: one WebSocket per node, dialled out by the agent to
 * GET /api/v1/agent/connect with its node credential. Requests flow both ways, matched by id;
 * events are one-way notices. Every frame is validated against these schemas on arrival.
 * Bump AGENT_PROTOCOL_VERSION on any incompatible change; the server refuses other versions.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';
import { execRequestSchema } from './exec.js';
import { imageSchema, imageSourceSchema, nodeResourcesSchema, providerInfoSchema, providerKindSchema, workspaceStatusSchema } from './resources.js';

export const AGENT_PROTOCOL_VERSION = 1;

/** What the server asks an agent to create. */
export const workspaceSpecSchema = z.object({
  id: z.string(),
  name: z.string(),
  provider: providerKindSchema,
  image: z.string(),
  cpus: z.number().positive().nullable(),
  memoryBytes: z.number().positive().nullable(),
  env: z.record(z.string(), z.string()).default({}),
});
export type WorkspaceSpec = z.infer<typeof workspaceSpecSchema>;

/** A workspace's state as one node sees it. */
export const workspaceReportSchema = z.object({ workspaceId: z.string(), status: workspaceStatusSchema });
export type WorkspaceReport = z.infer<typeof workspaceReportSchema>;

const opParams = { opId: z.string() };
const statusResult = z.object({ status: workspaceStatusSchema });

/** Requests the server sends to an agent: method → params and result schemas. */
export const agentMethods = {
  'workspace.create': { params: z.object({ ...opParams, spec: workspaceSpecSchema }), result: statusResult },
  'workspace.start': { params: z.object({ ...opParams, workspaceId: z.string() }), result: statusResult },
  'workspace.stop': {
    params: z.object({ ...opParams, workspaceId: z.string(), timeoutSeconds: z.number().int().min(0), force: z.boolean() }),
    result: statusResult,
  },
  'workspace.restart': {
    params: z.object({ ...opParams, workspaceId: z.string(), timeoutSeconds: z.number().int().min(0) }),
    result: statusResult,
  },
  'workspace.delete': { params: z.object({ ...opParams, workspaceId: z.string() }), result: z.object({}) },
  'workspace.inspect': { params: z.object({ workspaceId: z.string() }), result: statusResult },
  'exec.open': { params: z.object({ sessionId: z.string(), workspaceId: z.string(), request: execRequestSchema }), result: z.object({}) },
  'image.build': {
    params: z.object({ ...opParams, name: z.string(), from: imageSourceSchema, packages: z.array(z.string()) }),
    result: imageSchema,
  },
  'image.list': { params: z.object({}), result: z.object({ images: z.array(imageSchema) }) },
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
  /** agent → server: output of an exec session (base64). */
  'exec.output': z.object({ sessionId: z.string(), stream: z.enum(['stdout', 'stderr']), data: z.string() }),
  /** agent → server: an exec session ended; exitCode -1 with error when it could not run. */
  'exec.exit': z.object({ sessionId: z.string(), exitCode: z.number().int(), error: apiErrorSchema.optional() }),
  /** server → agent: input for an exec session (base64). */
  'exec.stdin': z.object({ sessionId: z.string(), data: z.string() }),
  /** server → agent: no more input. */
  'exec.eof': z.object({ sessionId: z.string() }),
  /** server → agent: the client's terminal changed size. */
  'exec.resize': z.object({ sessionId: z.string(), cols: z.number().int().positive(), rows: z.number().int().positive() }),
  /** server → agent: the client went away; end the session. */
  'exec.close': z.object({ sessionId: z.string() }),
} as const;
export type AgentEvent = keyof typeof agentEvents;
export type AgentEventPayload<E extends AgentEvent> = z.infer<(typeof agentEvents)[E]>;

/** The agent's state report: sent first as `hello`, then every heartbeat interval. */
const agentReport = {
  agentVersion: z.string(),
  resources: nodeResourcesSchema,
  providers: z.array(providerInfoSchema),
  workspaces: z.array(workspaceReportSchema),
};

/** Frames on the agent socket. */
export const agentFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocolVersion: z.number().int(), ...agentReport }),
  z.object({ type: z.literal('welcome'), protocolVersion: z.number().int(), nodeId: z.string(), nodeName: z.string(), heartbeatMs: z.number().int().positive() }),
  z.object({ type: z.literal('heartbeat'), ...agentReport }),
  z.object({ type: z.literal('request'), id: z.string(), method: z.string(), params: z.unknown() }),
  z.object({ type: z.literal('response'), id: z.string(), result: z.unknown().optional(), error: apiErrorSchema.optional() }),
  z.object({ type: z.literal('event'), name: z.string(), payload: z.unknown() }),
]);
export type AgentFrame = z.infer<typeof agentFrameSchema>;
