/**
 * `direct-tcpip` channels (`ssh -L`): a TCP connection to a host and port as seen from inside
 * the workspace. A loopback target (localhost, 127.0.0.1, ::1) is opened by the node itself
 * inside the workspace's network (the provider's `connect`: no process in the workspace, and
 * a service bound to 127.0.0.1 there is reachable). Any other target, or a provider that cannot
 * connect, goes through a helper command in the workspace, so the gateway never needs a
 * network path to it: `nc` (busybox has it) or, failing that, bash's /dev/tcp; a workspace
 * with neither gets a channel failure that says so. That channel is confirmed once the helper
 * has started (bash: once connected); nc connects after that, so a refused connection through
 * nc shows up as a channel that closes at once.
 */
import type { AcceptConnection, Connection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import { toApiError, type Workspace } from '../../api/index.js';
import { audit, type ConnContext, printable } from './context.js';
import { type ExecPipe, openExec, openPort } from './exec-bridge.js';
import { OPEN_FAILURE, rejectChannel } from './open-failure.js';

const MARKER = 0x53; // 'S'
/** Exit statuses of the helper that mean "no tool" and "could not connect". */
const NO_HELPER = 127;
const CONNECT_FAILED = 111;
const HELPER =
  `if command -v nc >/dev/null 2>&1; then printf S; exec nc "$1" "$2"; fi; ` +
  `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit ${CONNECT_FAILED}; printf S; cat <&3 & cat >&3; wait' bash "$1" "$2"; fi; ` +
  `exit ${NO_HELPER}`;

/** A forwarding target the helper may be given: a host name or address, and a TCP port. */
export function validTarget(host: unknown, port: unknown): boolean {
  return (
    typeof host === 'string' &&
    /^[A-Za-z0-9.:_-]{1,253}$/.test(host) &&
    !host.startsWith('-') &&
    Number.isInteger(port) &&
    (port as number) >= 1 &&
    (port as number) <= 65535
  );
}

/** Handles one direct-tcpip channel open. */
export async function handleForward(
  ctx: ConnContext,
  client: Connection,
  accept: AcceptConnection<ServerChannel>,
  reject: () => void,
  info: TcpipRequestInfo,
): Promise<void> {
  const target = `${printable(String(info.destIP), 100)}:${Number(info.destPort)}`;
  if (!validTarget(info.destIP, info.destPort)) {
    audit(ctx, 'ssh.forward.start', 'denied', `forward ${target}: invalid target`);
    return rejectChannel(
      client,
      reject,
      OPEN_FAILURE.administrativelyProhibited,
      `berth: ${target} is not a host and port to forward to; use -L LOCALPORT:HOST:PORT with a port from 1 to 65535.`,
    );
  }
  let ws: Workspace;
  try {
    ws = await ctx.resolveWorkspace();
  } catch (err) {
    const e = toApiError(err);
    audit(ctx, 'ssh.forward.start', 'denied', `forward ${target}: ${e.code}`);
    return rejectChannel(client, reject, OPEN_FAILURE.administrativelyProhibited, `berth: ${e.message}`);
  }

  const direct = LOOPBACK.has(String(info.destIP).toLowerCase()) ? await openDirect(ctx, client, accept, reject, ws, target, info.destPort) : 'fallback';
  if (direct !== 'fallback') return;

  let channel: ServerChannel | null = null;
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const early: Buffer[] = [];
  const stderr: Buffer[] = [];
  let pipe: ExecPipe;
  try {
    pipe = await openExec(
      ctx.deps,
      ws,
      { cmd: ['/bin/sh', '-c', HELPER, 'sh', info.destIP, String(info.destPort)], tty: false, env: {} },
      {
        stdout: (d) => {
          if (!channel) {
            if (early.length === 0 && d[0] === MARKER) {
              d = d.subarray(1);
              started();
            }
            if (d.length > 0) early.push(d);
            return;
          }
          return channel.write(d);
        },
        stderr: (d) => stderr.push(d),
        drain: (fn) => (channel ? channel.once('drain', fn) : fn()),
        inputPaused: (paused) => (paused ? channel?.pause() : channel?.resume()),
      },
    );
  } catch (err) {
    audit(ctx, 'ssh.forward.start', 'error', `forward ${target}: ${toApiError(err).message}`);
    return rejectChannel(client, reject, OPEN_FAILURE.connectFailed, `berth: ${toApiError(err).message}`);
  }
  const outcome = await Promise.race([ready.then(() => null), pipe.done]);
  if (outcome) {
    const why =
      outcome.error?.message ??
      (outcome.code === NO_HELPER
        ? 'the workspace has neither nc nor bash to connect with; install netcat (e.g. netcat-openbsd) in the image.'
        : `could not connect to ${target} inside the workspace${stderr.length ? `: ${Buffer.concat(stderr).toString().trim().slice(0, 200)}` : ''}.`);
    audit(ctx, 'ssh.forward.start', 'error', `forward ${target}: ${why}`);
    return rejectChannel(client, reject, OPEN_FAILURE.connectFailed, `berth: ${why}`);
  }

  const ch = accept();
  channel = ch;
  audit(ctx, 'ssh.forward.start', 'ok', `forward ${target}`);
  for (const d of early.splice(0)) ch.write(d);
  await bridge(ctx, ch, pipe, target);
}

/** Targets the node can open itself, inside the workspace's network namespace. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', 'ip6-localhost']);

/**
 * A forward opened by the node (port.open). 'fallback' when the node's provider cannot open
 * connections, so the helper command is used instead; otherwise the channel was handled.
 */
async function openDirect(
  ctx: ConnContext,
  client: Connection,
  accept: AcceptConnection<ServerChannel>,
  reject: () => void,
  ws: Workspace,
  target: string,
  port: number,
): Promise<'done' | 'fallback'> {
  let channel: ServerChannel | null = null;
  const early: Buffer[] = [];
  const opening = openPort(ctx.deps, ws, port, {
    stdout: (d) => (channel ? channel.write(d) : void early.push(d)),
    stderr: () => {},
    drain: (fn) => (channel ? channel.once('drain', fn) : fn()),
    inputPaused: (paused) => (paused ? channel?.pause() : channel?.resume()),
  });
  if (!opening) return 'fallback';
  let pipe: ExecPipe;
  try {
    pipe = await opening;
  } catch (err) {
    const e = toApiError(err);
    if (e.code === 'UNSUPPORTED') return 'fallback';
    audit(ctx, 'ssh.forward.start', 'error', `forward ${target}: ${e.message}`);
    rejectChannel(client, reject, OPEN_FAILURE.connectFailed, `berth: ${e.message}`);
    return 'done';
  }
  const ch = accept();
  channel = ch;
  audit(ctx, 'ssh.forward.start', 'ok', `forward ${target}`);
  for (const d of early.splice(0)) ch.write(d);
  await bridge(ctx, ch, pipe, target);
  return 'done';
}

/** Pipes an accepted channel and a pipe into the workspace both ways until either ends. */
async function bridge(ctx: ConnContext, ch: ServerChannel, pipe: ExecPipe, target: string): Promise<void> {
  let sent = 0;
  ch.on('data', (d: Buffer) => {
    sent += d.length;
    pipe.write(d);
  });
  ch.on('end', () => pipe.end());
  ch.on('close', () => pipe.close());
  const end = await pipe.done;
  audit(ctx, 'ssh.forward.end', end.error ? 'error' : 'ok', `forward ${target}: ${end.error ? end.error.message : `${sent} bytes sent`}`);
  ch.end();
}
