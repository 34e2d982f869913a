/**
 * How a long call reports: cancellation, log lines and progress. Providers, image builds,
 * transports and the server's operations all take one, so it lives at the bottom of the
 * import graph where every layer may reach it without importing another layer.
 */

/** Carried by every long call: cancellation, log lines and progress for the operation. */
export interface OpContext {
  readonly signal: AbortSignal;
  log(line: string): void;
  /** `fraction` in [0, 1], or null when the stage has no measurable progress. */
  progress(stage: string, fraction?: number | null): void;
}

/** An OpContext for calls that report nowhere (probes, tests). */
export function silentOp(signal: AbortSignal = new AbortController().signal): OpContext {
  return { signal, log: () => {}, progress: () => {} };
}
