/**
 * What the runtime and its exec sessions send to the server through. It lives apart from both
 * so that neither has to import the other for its types.
 */
import type { AgentEvent, AgentEventPayload } from '../../api/index.js';

/** Sends an event to the server. */
export type Emit = <E extends AgentEvent>(name: E, payload: AgentEventPayload<E>) => void;

/** Where frames to the server go, and how much is still queued there. */
export interface ExecLink {
  emit: Emit;
  /** Sends a state report now (a build or create changed what the node can do). */
  reportNow(): Promise<void>;
  sendBinary(frame: Buffer): void;
  bufferedAmount(): number;
}
