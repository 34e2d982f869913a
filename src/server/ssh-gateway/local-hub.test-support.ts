/**
 * A stand-in for the agent hub that runs exec requests as local processes, so the gateway's
 * SFTP and session logic can be tested against the real `sftp` client and real sh/dd/stat
 * without a server, agent or container. Same contract as AgentHub.openExec: output chunks as
 * Buffers, exit after all output, and output paused while the consumer asks for it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ExecRequest, Workspace } from '../../api/index.js';
import type { ExecChannel, ExecSink } from '../agents/hub.js';

/** A workspace row for tests; only nodeId and id matter to the hub. */
export const LOCAL_WORKSPACE = { id: 'ws-local', nodeId: 'node-local', name: 'local' } as Workspace;

/** Runs execs on this machine with HOME set to `home`; `latencyMs` delays every event, in order, like a remote node. */
export function localHub(
  home: string,
  latencyMs = 0,
  path = process.env.PATH,
): { openExec(nodeId: string, workspaceId: string, request: ExecRequest, sink: ExecSink): Promise<ExecChannel>; started: number } {
  const hub = {
    started: 0,
    async openExec(_nodeId: string, _workspaceId: string, request: ExecRequest, realSink: ExecSink): Promise<ExecChannel> {
      hub.started++;
      const later = (fn: () => void) => (latencyMs > 0 ? setTimeout(fn, latencyMs) : fn());
      const sink: ExecSink = { output: (s, d) => later(() => realSink.output(s, d)), exit: (c, e) => later(() => realSink.exit(c, e)) };
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      const child = spawn(request.cmd[0], request.cmd.slice(1), {
        env: { PATH: path, HOME: home, ...request.env },
        cwd: request.cwd ?? '/',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.on('error', () => {});
      // Small pieces, like a node's output arriving over the network a bit at a time.
      child.stdout.on('data', (d: Buffer) => {
        for (let i = 0; i < d.length; i += 7919) sink.output('stdout', d.subarray(i, i + 7919));
      });
      child.stderr.on('data', (d: Buffer) => sink.output('stderr', d));
      void Promise.all([once(child, 'close')]).then(([[code]]) => sink.exit(typeof code === 'number' ? code : -1));
      return {
        stdin: (data) => void child.stdin.write(data),
        eof: () => child.stdin.end(),
        resize: () => {},
        pauseOutput: () => child.stdout.pause(),
        resumeOutput: () => child.stdout.resume(),
        close: () => child.kill('SIGKILL'),
      };
    },
  };
  return hub;
}
