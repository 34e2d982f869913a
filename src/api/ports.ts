/**
 * Ports listening inside a workspace, as its own network sees them: found by the node's agent
 * (from the workspace's /proc/net tables), pushed to the server when they change, and shown
 * by `berth ports`.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';

/** The most ports one workspace reports; past this the list is cut (a port scanner's worth). */
export const MAX_REPORTED_PORTS = 1024;

/** One listening socket (IPv4 and IPv6 listeners on one port are one entry with both addresses). */
export const listeningPortSchema = z.object({
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']),
  /** Where it listens inside the workspace: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, an interface address. */
  addresses: z.array(z.string().max(64)).max(16),
  /** The process that owns the socket, when the node could tell. */
  // pid and group are as the workspace sees them (its own pid namespace), so they match the
  // pids its supervisor reports; group is the process group, which a service's children share.
  process: z.object({ pid: z.number().int().positive(), name: z.string().max(64), group: z.number().int().positive().optional() }).nullable(),
});
export type ListeningPort = z.infer<typeof listeningPortSchema>;

/** A port as the API shows it: what listens, and what the spec says about it. */
export const workspacePortSchema = listeningPortSchema.extend({
  /** True when it listens only on loopback: reachable through berth, not on the workspace's address. */
  loopbackOnly: z.boolean(),
  /** Workspace services: the service that owns it (declares it in the spec, or its process group holds the listener), and its label from the spec. */
  service: z.string().nullable().optional(),
  label: z.string().nullable().optional(),
});
export type WorkspacePort = z.infer<typeof workspacePortSchema>;

/** GET /workspaces/:name/ports. `observedAt` is null while the node has not reported (offline, or just connected). */
export const workspacePortsSchema = z.object({
  workspace: z.string(),
  observedAt: z.string().nullable(),
  ports: z.array(workspacePortSchema),
});
export type WorkspacePorts = z.infer<typeof workspacePortsSchema>;

/** Whether an address is loopback only (127/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/**
 * The port-forward WebSocket (`streams.workspacePortConnect`): the connection's bytes travel as
 * binary frames both ways; text frames carry these control messages.
 */
export const portServerFrameSchema = z.discriminatedUnion('type', [
  /** The node has connected to the port: bytes may flow. */
  z.object({ type: z.literal('connected') }),
  /** The workspace side closed its end; no more bytes come. */
  z.object({ type: z.literal('end') }),
  z.object({ type: z.literal('error'), error: apiErrorSchema }),
]);
export type PortServerFrame = z.infer<typeof portServerFrameSchema>;

/** Client → server text frames: `eof` half-closes the connection (the client sends no more). */
export const portClientFrameSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('eof') })]);
export type PortClientFrame = z.infer<typeof portClientFrameSchema>;

/** A port number as it appears in a URL path. */
export function parsePortParam(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}
