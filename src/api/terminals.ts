/**
 * Kept terminals: the web UI's shells that outlive their WebSocket. The agent on the
 * workspace's node keeps each one (its PTY, a bounded ring of recent output, an idle timer)
 * under an id the browser chose, so a reload, a network blip, a second browser or a restart
 * of the server reattaches to the same shell. The server only relays.
 */
import { z } from 'zod';

/** Output the agent keeps per terminal for replay on reattach. */
export const TERMINAL_REPLAY_BYTES = 64 * 1024;
/** Terminals one user may keep at once on one node. */
export const MAX_TERMINALS_PER_USER = 32;
/** Default time a terminal nobody is attached to is kept (15 minutes). */
export const DEFAULT_TERMINAL_IDLE_MS = 15 * 60_000;
/** Bounds of the idle time: from a second (tests) to a week. */
export const MIN_TERMINAL_IDLE_MS = 1000;
export const MAX_TERMINAL_IDLE_MS = 7 * 24 * 3600_000;

/** A terminal id, chosen by the browser (a random UUID there). */
export const terminalIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'use 8 to 64 letters, digits, _ or -');

/** One kept terminal as GET /workspaces/:name/terminals lists it. */
export const keptTerminalSchema = z.object({
  id: terminalIdSchema,
  /** The user who opened it (name). */
  owner: z.string().max(128),
  createdAt: z.string().max(64),
  /** Someone is attached with input (the owner's page). */
  attached: z.boolean(),
  /** Read-only viewers attached now. */
  viewers: z.number().int().nonnegative(),
  /** Since when nobody has been attached (null while someone is). */
  idleSince: z.string().max(64).nullable(),
});
export type KeptTerminal = z.infer<typeof keptTerminalSchema>;

/** GET /workspaces/:name/terminals: yours, or every one for someone who may watch them. */
export const workspaceTerminalsSchema = z.object({ workspace: z.string(), terminals: z.array(keptTerminalSchema).max(1000) });
export type WorkspaceTerminals = z.infer<typeof workspaceTerminalsSchema>;
