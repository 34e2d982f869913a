/** An OpContext for tests that keeps every log line and progress stage it was given. */
import type { OpContext } from '../api/index.js';

/** An OpContext plus what was reported through it. */
export interface RecordingOp extends OpContext {
  readonly lines: string[];
  readonly stages: Array<{ stage: string; fraction: number | null }>;
}

/** Makes an OpContext that records its log lines and progress; set BERTH_TEST_VERBOSE=1 to also print them. */
export function recordingOp(signal: AbortSignal = new AbortController().signal): RecordingOp {
  const lines: string[] = [];
  const stages: Array<{ stage: string; fraction: number | null }> = [];
  const verbose = process.env.BERTH_TEST_VERBOSE === '1';
  return {
    signal,
    lines,
    stages,
    log(line) {
      lines.push(line);
      if (verbose) console.log(`[op] ${line}`);
    },
    progress(stage, fraction = null) {
      stages.push({ stage, fraction });
    },
  };
}
