/**
 * An SSH exec channel seen as an ExecSession: the channel's two directions are stdin and
 * stdout, its extended data is stderr, and its exit-status / exit-signal is the exit code.
 */
import type { ClientChannel } from 'ssh2';
import { BerthError } from '../api/errors.js';
import type { ExecSession } from './transport.js';
import { exitCodeForSignal } from './transport.js';

/** Wraps an open exec channel; `finished` runs once when the channel is gone (to free its pool slot). */
export function channelSession(
  channel: ClientChannel,
  opts: { description: string; signal?: AbortSignal; finished: () => void; kill: () => void },
): ExecSession {
  let closedByUs = false;
  let finished = false;
  // Writing after the remote command stopped reading fails; the exit status tells the story,
  // so a write error must not crash the process when the caller attached no handler.
  channel.on('error', () => {});
  channel.stderr.on('error', () => {});

  const close = () => {
    if (closedByUs || finished) return;
    closedByUs = true;
    // A signal request is the protocol's way, but OpenSSH honours it only for non-root
    // logins; `kill` does the job out of band. sshd keeps the channel until the command has
    // exited, so its exit signal still arrives after our close.
    channel.signal('KILL');
    opts.kill();
    channel.close();
    // The channel's 'close' event waits until its output has been read; nobody will read it now.
    channel.unpipe();
    channel.resume();
    channel.stderr.unpipe();
    channel.stderr.resume();
  };
  const onAbort = () => close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // The signal may have fired while the channel was being opened.
  if (opts.signal?.aborted) queueMicrotask(close);

  const exited = new Promise<number>((resolve, reject) => {
    // ssh2 emits 'close' after stdout has ended, with the same arguments as 'exit'.
    channel.once('close', (code: number | null | undefined, signalName?: string) => {
      finished = true;
      opts.signal?.removeEventListener('abort', onAbort);
      opts.finished();
      if (typeof code === 'number') resolve(code);
      else if (typeof signalName === 'string') resolve(exitCodeForSignal(signalName));
      else if (closedByUs) resolve(exitCodeForSignal('KILL'));
      else {
        reject(
          new BerthError('INTERNAL', `The connection to ${opts.description} ended before the command reported its exit status; it may still be running there.`),
        );
      }
    });
  });
  // wait() hands out this same promise; the no-op handler only stops an unobserved failure
  // from being reported as an unhandled rejection.
  exited.catch(() => {});

  return {
    stdin: channel,
    stdout: channel,
    stderr: channel.stderr,
    resize: async (cols: number, rows: number) => {
      // ssh2 takes rows first; pixel sizes are optional and 0 means unknown.
      channel.setWindow(rows, cols, 0, 0);
    },
    wait: () => exited,
    close,
  };
}
