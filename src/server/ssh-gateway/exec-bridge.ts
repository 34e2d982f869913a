/**
 * Commands inside a workspace, through the agent hub: a streaming form that SSH channels are
 * piped through, and a one-shot form (input in, output and status out) for the small helper
 * commands behind SFTP. Output that the SSH side cannot take yet pauses the command's output
 * at the node until the SSH channel drains; input the node cannot take yet pauses the channel.
 */
import type { ApiError, ExecRequest, Workspace } from '../../api/index.js';
import type { ExecChannel } from '../agents/hub.js';
import type { GatewayDeps } from './context.js';

/** How a command ended; `error` when berth could not run it or lost it. */
export interface ExecEnd {
  code: number;
  error?: ApiError;
}

/** A running command: its input side and a promise of how it ended. */
export interface ExecPipe {
  write(data: Buffer): void;
  end(): void;
  resize(cols: number, rows: number): void;
  /** Ends the command early (the client went away). */
  close(): void;
  readonly done: Promise<ExecEnd>;
}

/** Where a command's output goes. A sink that returns false is full until `drain` calls back. */
export interface ExecOutput {
  stdout(data: Buffer): unknown;
  stderr(data: Buffer): unknown;
  /** Calls `fn` once when a full sink can take data again. */
  drain?(fn: () => void): void;
  /** The node cannot take more input for now (true), or can again (false). */
  inputPaused?(paused: boolean): void;
}

/** Starts `request` in the workspace; output goes to the callbacks as it arrives. */
export function openExec(deps: Pick<GatewayDeps, 'hub'>, ws: Workspace, request: ExecRequest, out: ExecOutput): Promise<ExecPipe> {
  return openPipe((sink) => deps.hub.openExec(ws.nodeId, ws.id, request, sink), out);
}

/**
 * Opens a TCP connection to `port` on the workspace's loopback, made by its node; the
 * connection's bytes come out as stdout. Null when this hub cannot open connections (then
 * callers use a helper command through openExec); UNSUPPORTED from the node likewise.
 */
export function openPort(deps: Pick<GatewayDeps, 'hub'>, ws: Workspace, port: number, out: ExecOutput): Promise<ExecPipe> | null {
  const hub = deps.hub;
  if (!hub.openPort) return null;
  return openPipe((sink) => hub.openPort!(ws.nodeId, ws.id, port, sink), out);
}

async function openPipe(open: (sink: Parameters<GatewayDeps['hub']['openExec']>[3]) => Promise<ExecChannel>, out: ExecOutput): Promise<ExecPipe> {
  let finish!: (end: ExecEnd) => void;
  const done = new Promise<ExecEnd>((resolve) => (finish = resolve));
  let outputHeld = false;
  let channel: ExecChannel | null = null;
  channel = await open({
    output: (stream, data) => {
      const accepted = (stream === 'stdout' ? out.stdout : out.stderr)(data);
      if (accepted !== false || outputHeld || !out.drain || !channel) return;
      outputHeld = true;
      channel.pauseOutput();
      out.drain(() => {
        outputHeld = false;
        channel?.resumeOutput();
      });
    },
    exit: (code, error) => finish({ code, error }),
    inputPaused: (paused) => out.inputPaused?.(paused),
  });
  const ch = channel;
  let closed = false;
  return {
    write: (data) => {
      if (!closed && data.length > 0) ch.stdin(data);
    },
    end: () => {
      if (!closed) ch.eof();
    },
    resize: (cols, rows) => {
      if (!closed) ch.resize(cols, rows);
    },
    close: () => {
      if (closed) return;
      closed = true;
      ch.close();
      finish({ code: -1 });
    },
    done,
  };
}

/** What a one-shot command printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  error?: ApiError;
}

/**
 * Runs `sh -c script` with positional `args` (never spliced into the script, so file names
 * need no quoting), feeds it `stdin`, and collects its output.
 */
export async function runScript(deps: Pick<GatewayDeps, 'hub'>, ws: Workspace, script: string, args: string[], stdin?: Buffer): Promise<RunResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const pipe = await openExec(
    deps,
    ws,
    { cmd: ['/bin/sh', '-c', script, 'sh', ...args], tty: false, env: {} },
    {
      stdout: (d) => stdout.push(d),
      stderr: (d) => stderr.push(d),
    },
  );
  if (stdin) pipe.write(stdin);
  pipe.end();
  const end = await pipe.done;
  return { code: end.code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8'), error: end.error };
}
