/**
 * Runs `berth-in` on a workspace's node through the exec path every session uses
 * (hub.openExec), for the service routes: collected to the end, or streamed.
 */
import { type ApiError, BerthError } from '../../../api/index.js';
import type { AgentHub } from '../../agents/hub.js';

/** Output kept per stream of a collected command (a status line, an error line). */
const MAX_COLLECTED = 256 * 1024;

/** The exit codes of berth-in (see its contract). */
export const BERTH_IN_EXIT = { ok: 0, usage: 2, noSupervisor: 3, unknownService: 4 } as const;

/** What a collected run printed. */
export interface NodeCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv in the workspace and collects its output; rejects with the node's error when it could not run. */
export async function runInWorkspace(hub: AgentHub, ws: { nodeId: string; id: string }, argv: string[], timeoutMs = 60_000): Promise<NodeCommandResult> {
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    let close: (() => void) | null = null;
    const timer = setTimeout(() => {
      close?.();
      reject(
        new BerthError(
          'TIMEOUT',
          `${argv.slice(1, 3).join(' ')} did not finish within ${timeoutMs / 1000} s inside the workspace; retry, or see \`berth svc ls\`.`,
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
            if (error) reject(BerthError.fromApi(error));
            else resolve({ code, stdout, stderr });
          },
        },
      )
      .then(
        (channel) => {
          close = () => channel.close();
          channel.eof();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
  });
}

/** The clear error for a berth-in exit other than 0 (the message is berth-in's one line, `berth-in: CODE: message`). */
export function berthInFailure(r: NodeCommandResult, workspace: string, service: string): BerthError {
  const said =
    r.stderr
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^berth-in: /, '')
      .slice(0, 500) ?? '';
  if (r.code === BERTH_IN_EXIT.noSupervisor || r.code === 127 || r.code === 126) {
    return new BerthError(
      'FAILED_PRECONDITION',
      `Workspace ${workspace} has no service supervisor running (${said || `exit ${r.code}`}); restart the workspace with \`berth ws restart ${workspace}\`.`,
      { field: 'name' },
    );
  }
  if (r.code === BERTH_IN_EXIT.unknownService) {
    return new BerthError('NOT_FOUND', `The supervisor in ${workspace} does not know service ${service} (${said}); see \`berth svc ls ${workspace}\`.`, {
      field: 'service',
    });
  }
  return new BerthError('INTERNAL', `The supervisor in ${workspace} failed (exit ${r.code}): ${said || 'no message'}`, { field: 'service' });
}
