/**
 * Port connections to the server's own in-process agent (`berth server --local-agent`), made
 * without the agent socket: the agent hands the hub its connector, and the hub wires the
 * provider's socket straight to the session's sink. Every byte of a forward, a port-forward or
 * a preview otherwise crossed a loopback WebSocket twice within the one process (framed,
 * written, read, unframed), which was a third of the gateway's system calls under `ssh -L`.
 * The session keeps the shape of an agent's (output, pause/resume both ways, eof as a
 * half-close, exit 0 when it closed cleanly and 1 when it broke), so callers cannot tell.
 */
import type { Duplex } from 'node:stream';

// The hub's ExecSink and ExecChannel, restated here (structurally the same) so that this file
// does not import hub.ts, which imports it.
/** Receives the connection's bytes and its end. */
interface Sink {
  output(stream: 'stdout', data: Buffer): void;
  exit(code: number): void;
  inputPaused?(paused: boolean): void;
}

/** Input and pacing of the connection, as the hub's ExecChannel. */
interface Channel {
  stdin(data: Buffer): void;
  eof(): void;
  resize(cols: number, rows: number): void;
  pauseOutput(): void;
  resumeOutput(): void;
  close(): void;
}

/** Opens a TCP connection to a port in a workspace of the in-process agent's node. */
export type LocalConnector = (workspaceId: string, port: number) => Promise<Duplex>;

/** A local session: its channel for the caller, and `destroy` for the hub when it ends it. */
export interface LocalSession {
  channel: Channel;
  destroy(): void;
}

/**
 * Connects and wires `sink`; `ended` is called once when the connection is over, however it
 * ended (the hub forgets the session then). Throws what the provider threw.
 */
export async function openLocalPort(connect: LocalConnector, workspaceId: string, port: number, sink: Sink, ended: () => void): Promise<LocalSession> {
  const conn = await connect(workspaceId, port);
  let failed = false;
  let over = false;
  const finish = (code: number) => {
    if (over) return;
    over = true;
    ended();
    sink.exit(code);
  };
  conn.on('data', (d: Buffer) => sink.output('stdout', d));
  conn.on('error', () => (failed = true));
  // 'close' comes after 'end', so every byte has reached the sink before the exit does.
  conn.on('close', () => finish(failed ? 1 : 0));
  conn.on('drain', () => sink.inputPaused?.(false));
  const destroy = () => {
    over = true;
    conn.destroy();
  };
  return {
    destroy,
    channel: {
      stdin: (data) => {
        if (!conn.destroyed && !conn.writableEnded && !conn.write(data)) sink.inputPaused?.(true);
      },
      eof: () => {
        if (!conn.destroyed) conn.end();
      },
      resize: () => {},
      pauseOutput: () => conn.pause(),
      resumeOutput: () => conn.resume(),
      close: () => {
        if (over) return;
        destroy();
        ended();
      },
    },
  };
}
