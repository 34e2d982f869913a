/**
 * The `sftp` subsystem (also what `scp` speaks since OpenSSH 9). When the workspace has an
 * sftp-server binary it runs there and the channel's bytes are piped to it untouched; when it
 * has none (busybox images), the gateway serves SFTP itself from file operations run inside
 * the workspace. One exec decides: it prints a marker byte and becomes sftp-server, or exits
 * 127 without output. The client's first bytes wait in the channel until the choice is made.
 * Either way it is a session of the workspace (sessionHub): sftp-server and every file
 * operation run as the spec's user, from its workdir or home, so files it writes are theirs.
 */
import type { ServerChannel } from 'ssh2';
import { type ApiError, toApiError, type Workspace } from '../../api/index.js';
import { type SessionUser, withSessionDefaults } from '../services/spec/session-defaults.js';
import type { ConnContext, GatewayDeps } from './context.js';
import { type ExecEnd, openExec } from './exec-bridge.js';
import { exitStatusOf } from './requests.js';
import { WorkspaceFiles } from './sftp-files.js';
import { serveFiles, sftpOverStream } from './sftp-server.js';

/** Where Debian, Fedora and Alpine install OpenSSH's sftp-server. */
export const SFTP_SERVER_PATHS = ['/usr/lib/openssh/sftp-server', '/usr/lib/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];
const MARKER = 0x53; // 'S'
const SCRIPT = `for p in ${SFTP_SERVER_PATHS.join(' ')}; do if [ -x "$p" ]; then printf S; exec "$p"; fi; done; exit 127`;

/** Serves one sftp subsystem channel until it ends. */
export async function serveSftp(ctx: ConnContext, ws: Workspace, channel: ServerChannel): Promise<ExecEnd & { mode?: 'sftp-server' | 'gateway' }> {
  let decide!: (raw: boolean) => void;
  const decision = new Promise<boolean>((resolve) => (decide = resolve));
  let marked = false;
  let pipe: Awaited<ReturnType<typeof openExec>>;
  let deps: Pick<GatewayDeps, 'hub'>;
  try {
    deps = sessionHub(ctx.deps, ctx.deps.sessionUser ? await ctx.deps.sessionUser(ws) : null);
    pipe = await openExec(
      deps,
      ws,
      { cmd: ['/bin/sh', '-c', SCRIPT], tty: false, env: {} },
      {
        stdout: (d) => {
          if (!marked && d[0] === MARKER) {
            marked = true;
            decide(true);
            d = d.subarray(1);
          }
          if (d.length > 0) return channel.write(d);
        },
        stderr: (d) => channel.stderr.write(d),
        drain: (fn) => channel.once('drain', fn),
        inputPaused: (paused) => (paused ? channel.pause() : channel.resume()),
      },
    );
  } catch (err) {
    return fail(channel, toApiError(err));
  }
  void pipe.done.then(() => decide(false));

  if (await decision) {
    const p = pipe;
    channel.on('data', (d: Buffer) => p.write(d));
    channel.on('end', () => p.end());
    channel.on('close', () => p.close());
    const end = await p.done;
    if (end.error) channel.stderr.write(`berth: ${end.error.message}\n`);
    if (!(end.code === -1 && !end.error)) {
      channel.exit(exitStatusOf(end.code));
      channel.end();
    }
    return { ...end, mode: 'sftp-server' };
  }

  const probe = await pipe.done;
  if (probe.error || probe.code !== 127)
    return fail(channel, probe.error ?? { code: 'INTERNAL', message: `Looking for sftp-server in the workspace failed (exit ${probe.code}).` });
  const sftp = sftpOverStream(channel);
  const files = new WorkspaceFiles(deps, ws);
  await Promise.race([
    serveFiles(sftp, files, (err) => ctx.log.warn({ err }, 'sftp request failed')),
    new Promise<void>((resolve) => channel.once('close', resolve)),
  ]);
  // The client sent EOF (or went away): finish the channel as sftp-server's exit would.
  channel.exit(0);
  channel.end();
  return { code: 0, mode: 'gateway' };
}

/** `deps.hub` with every command run as a session (`spec`'s user, its workdir or the home): the spec is read once per SFTP session. */
export function sessionHub(deps: Pick<GatewayDeps, 'hub'>, spec: SessionUser | null): Pick<GatewayDeps, 'hub'> {
  return {
    hub: { openExec: (nodeId, workspaceId, request, sink) => deps.hub.openExec(nodeId, workspaceId, withSessionDefaults(request, spec, { home: true }), sink) },
  };
}

function fail(channel: ServerChannel, error: ApiError): ExecEnd {
  channel.stderr.write(`berth: ${error.message}\n`);
  channel.exit(255);
  channel.end();
  return { code: -1, error };
}
