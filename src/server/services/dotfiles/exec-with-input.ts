/**
 * Runs argv in a workspace through the exec path every session uses (hub.openExec), feeding
 * it `input` on stdin (paced by the node's input flow control) and collecting its output.
 */
import { type ApiError, BerthError } from '../../../api/index.js';
import type { AgentHub } from '../../agents/hub.js';

/** Output kept per stream. */
const MAX_COLLECTED = 64 * 1024;
/** Bytes per stdin frame. */
const CHUNK = 32 * 1024;

/** What the command printed and how it exited. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv with `input` on stdin; rejects when it could not run or outlives `timeoutMs`. */
export function execWithInput(
  hub: AgentHub,
  ws: { nodeId: string; id: string; name: string },
  argv: string[],
  input: Buffer,
  timeoutMs: number,
): Promise<ExecResult> {
  let stdout = '';
  let stderr = '';
  let paused = false;
  let resume: (() => void) | null = null;
  return new Promise((resolve, reject) => {
    let close: (() => void) | null = null;
    const timer = setTimeout(() => {
      close?.();
      reject(
        new BerthError(
          'TIMEOUT',
          `Applying dotfiles in ${ws.name} did not finish within ${timeoutMs / 1000} s; check the install script, then \`berth dotfiles apply ${ws.name}\`.`,
          { field: 'name' },
        ),
      );
    }, timeoutMs);
    hub
      .openExec(
        ws.nodeId,
        ws.id,
        { cmd: argv, tty: false, env: {} },
        {
          output: (stream, data) => {
            if (stream === 'stdout' && stdout.length < MAX_COLLECTED) stdout += data.toString('utf8');
            if (stream === 'stderr' && stderr.length < MAX_COLLECTED) stderr += data.toString('utf8');
          },
          exit: (code: number, error?: ApiError) => {
            clearTimeout(timer);
            paused = false;
            resume?.();
            if (error) reject(BerthError.fromApi(error));
            else resolve({ code, stdout, stderr });
          },
          inputPaused: (p) => {
            paused = p;
            if (!p) resume?.();
          },
        },
      )
      .then(async (channel) => {
        close = () => channel.close();
        for (let at = 0; at < input.length; at += CHUNK) {
          while (paused) await new Promise<void>((r) => (resume = r));
          channel.stdin(input.subarray(at, at + CHUNK));
        }
        channel.eof();
      })
      .catch((err: unknown) => {
        clearTimeout(timer);
        reject(err);
      });
  });
}
