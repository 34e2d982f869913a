/**
 * `berth/testing`: the provider conformance suite for plugin authors (see docs/plugins.md).
 * Call providerConformance() from a vitest test file with a setup that builds your provider;
 * the built-in providers pass the very same suite. Needs vitest in the plugin's devDependencies.
 */

export { LIMITS_PROBE_SCRIPT, parseLimitsProbe } from './limits-probe.js';
export type { ConformanceTarget, RunResult } from './provider-conformance.js';
export { providerConformance, runCommand } from './provider-conformance.js';
export { recordingOp } from './recording-op.js';
