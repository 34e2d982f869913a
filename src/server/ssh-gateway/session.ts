/**
 * Session channels: `pty-req`, `env` and `window-change` are remembered or applied, then one
 * of `shell`, `exec` or the `sftp` subsystem runs in the workspace through the agent hub.
 * Errors after the channel is open reach the user as a line on stderr and exit status 255,
 * which is what ssh itself uses for failures that are not the remote command's.
 */
import type { Connection, ServerChannel, Session } from 'ssh2';
import { toApiError, type Workspace } from '../../api/index.js';
import { AgentForward } from './agent-forward.js';
import { asSession, audit, type ConnContext, printable } from './context.js';
import { type ExecEnd, openExec } from './exec-bridge.js';
import { envAccepted, execArgv, exitStatusOf, MAX_COMMAND_LENGTH, shellArgv, termSize } from './requests.js';
import { serveSftp } from './sftp.js';

type Reply = (() => void) | undefined;

/** Wires one accepted session channel. */
export function handleSession(ctx: ConnContext, session: Session, ws: Workspace, client: Connection): void {
  const env: Record<string, string> = {};
  let pty: { term: string; cols: number; rows: number } | null = null;
  let resize: ((cols: number, rows: number) => void) | null = null;
  let started = false;
  let agent: AgentForward | null = null;

  // ssh -A: OpenSSH asks without wanting a reply and sends its shell or exec right after, so
  // the command waits (below) for the agent's socket to be ready.
  session.on('auth-agent', (accept: Reply, reject: Reply) => {
    if (started || agent) return reject?.();
    agent = new AgentForward(ctx, client, ws);
    session.once('close', () => agent?.stop());
    accept?.();
  });

  session.on('pty', (accept: Reply, reject: Reply, info) => {
    if (started) return reject?.();
    const term = typeof info.term === 'string' && /^[A-Za-z0-9._+-]{1,64}$/.test(info.term) ? info.term : 'xterm';
    pty = { term, ...termSize(info.cols, info.rows) };
    accept?.();
  });
  session.on('window-change', (accept: Reply, _reject: Reply, info) => {
    const size = termSize(info.cols, info.rows);
    if (pty) Object.assign(pty, size);
    resize?.(size.cols, size.rows);
    accept?.();
  });
  session.on('env', (accept: Reply, reject: Reply, info) => {
    if (started || !envAccepted(env, info.key, info.val)) return reject?.();
    env[info.key] = info.val;
    accept?.();
  });
  // Signals and X11 forwarding are not offered; ssh2 refuses what has no listener.
  session.on('signal', (_accept: Reply, reject: Reply) => reject?.());

  const start = (accept: () => ServerChannel, argv: string[], what: string) => {
    started = true;
    const channel = accept();
    const a: AgentForward | null = agent;
    // The command starts once its agent socket and the connection's -R listeners are ready.
    void Promise.all([a ? a.socket : null, ctx.forwardsSettled?.()]).then(([sock]) => {
      if (a && !sock) channel.stderr.write(`berth: agent forwarding is not available: ${a.failure}\r\n`);
      const agentEnv: Record<string, string> = sock ? { SSH_AUTH_SOCK: sock } : {};
      // Teams and sharing: the session carries the connecting user's name, whoever owns the workspace.
      const who = { BERTH_USER: ctx.user.name };
      ctx.channels?.add(channel);
      channel.once('close', () => ctx.channels?.delete(channel));
      void runCommand(ctx, ws, channel, argv, what, { env: { ...env, ...agentEnv, ...(pty ? { TERM: pty.term } : {}), ...who }, pty }, (fn) => (resize = fn));
    });
  };
  session.on('shell', (accept, reject: Reply) => {
    if (started) return reject?.();
    start(accept, shellArgv(), 'shell');
  });
  session.on('exec', (accept, reject: Reply, info) => {
    const command = info.command;
    if (started || typeof command !== 'string' || command.length === 0 || command.length > MAX_COMMAND_LENGTH) return reject?.();
    start(accept, execArgv(command), `exec ${printable(command)}`);
  });
  session.on('subsystem', (accept, reject: Reply, info) => {
    if (started || info.name !== 'sftp') return reject?.();
    started = true;
    const channel = accept();
    audit(ctx, 'ssh.session.start', 'ok', 'sftp');
    void serveSftp(ctx, ws, channel).then(
      (end) => audit(ctx, 'ssh.session.end', end.error ? 'error' : 'ok', `sftp: ${describeEnd(end)}`),
      (err: unknown) => {
        ctx.log.warn({ err }, 'sftp session failed');
        audit(ctx, 'ssh.session.end', 'error', `sftp: ${toApiError(err).message}`);
        channel.destroy();
      },
    );
  });
}

/** Runs one shell or exec request to completion and reports its status to the client. */
async function runCommand(
  ctx: ConnContext,
  ws: Workspace,
  channel: ServerChannel,
  cmd: string[],
  what: string,
  opts: { env: Record<string, string>; pty: { cols: number; rows: number } | null },
  onResize: (fn: (cols: number, rows: number) => void) => void,
): Promise<void> {
  audit(ctx, 'ssh.session.start', 'ok', what);
  let end: ExecEnd;
  try {
    const asked = { cmd, tty: opts.pty !== null, env: opts.env, ...(opts.pty ? { cols: opts.pty.cols, rows: opts.pty.rows } : {}) };
    const request = await asSession(ctx.deps, ws, asked, { home: true });
    const pipe = await openExec(ctx.deps, ws, request, {
      stdout: (d) => channel.write(d),
      stderr: (d) => channel.stderr.write(d),
      drain: (fn) => channel.once('drain', fn),
      inputPaused: (paused) => (paused ? channel.pause() : channel.resume()),
    });
    onResize((cols, rows) => pipe.resize(cols, rows));
    channel.on('data', (d: Buffer) => pipe.write(d));
    channel.on('end', () => pipe.end());
    channel.on('close', () => pipe.close());
    end = await pipe.done;
  } catch (err) {
    end = { code: -1, error: toApiError(err) };
  }
  if (end.error) channel.stderr.write(`berth: ${end.error.message}\r\n`);
  const closedByClient = end.code === -1 && !end.error;
  audit(ctx, 'ssh.session.end', end.error ? 'error' : 'ok', `${what}: ${closedByClient ? 'closed by the client' : describeEnd(end)}`);
  if (!closedByClient) {
    channel.exit(exitStatusOf(end.code));
    channel.end();
  }
}

/** "exit 0", or the error's code and message. */
export function describeEnd(end: ExecEnd): string {
  return end.error ? `${end.error.code}: ${end.error.message}` : `exit ${end.code}`;
}
