/**
 * exec through lxc-attach. Without a tty, lxc-attach hands the command our pipes, so stdout,
 * stderr and the exit code come through untouched. With a tty, lxc-attach makes a pty inside
 * the container only when its own stdin is a terminal; a Transport gives pipes, so util-linux
 * `script` runs lxc-attach on a host pty. Resizing sets that pty's size (`stty -F`), and the
 * kernel's SIGWINCH makes lxc-attach pass the new size into the container.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { ExecRequest } from '../../api/index.js';
import { type ExecSession, shellQuote, type Transport } from '../../transport/index.js';
import { attachEnvArgs, inContainerCommand } from './config.js';
import { HOST_PATH } from './tools.js';

/** Marks the line where the host pty's path is announced, before any of the command's output. */
const PTY_MARKER = 'BERTH-PTY ';

/** The lxc-attach argv for a request. */
export function attachArgv(lxcPath: string, name: string, specEnv: Record<string, string>, req: ExecRequest): string[] {
  return ['lxc-attach', '-P', lxcPath, '-n', name, '--clear-env', ...attachEnvArgs(specEnv, req.env, req.tty), '--', ...inContainerCommand(req.cmd, req.cwd)];
}

/**
 * The `script` argv that runs lxc-attach on a fresh host pty. Inside, the pty is sized and
 * stops echoing and translating newlines (lxc-attach's pty in the container does both), and
 * its path is printed on a marker line so resize can find it. Canonical mode is left on: its
 * going off shows that lxc-attach has set the terminal up (see waitForAttach).
 */
export function ttyArgv(attach: string[], cols: number, rows: number): string[] {
  const inner = `stty -echo -opost cols ${cols} rows ${rows} && printf '${PTY_MARKER}%s\\n' "$(tty)" && exec ${shellQuote(attach)}`;
  return ['script', '-q', '-e', '-c', inner, '/dev/null'];
}

/**
 * Strips the marker line from the front of a stream and reports the pty path it names.
 * Output after the marker is passed through byte for byte.
 */
export function stripPtyMarker(source: Readable, onPath: (path: string | null) => void): Readable {
  const out = new PassThrough();
  let head: Buffer | null = Buffer.alloc(0);
  source.on('data', (chunk: Buffer) => {
    if (head === null) {
      out.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(0x0a);
    if (nl < 0 && head.length < 4096) return;
    const line = head.subarray(0, Math.max(nl, 0)).toString('utf8').replace(/\r$/, '');
    const rest = nl < 0 ? head : head.subarray(nl + 1);
    head = null;
    if (line.startsWith(PTY_MARKER)) {
      onPath(line.slice(PTY_MARKER.length).trim());
      if (rest.length > 0) out.write(rest);
    } else {
      // Not the line we expected (script failed early): pass everything on so the user sees why.
      onPath(null);
      out.write(nl < 0 ? rest : Buffer.concat([Buffer.from(line + '\n'), rest]));
    }
  });
  source.once('end', () => {
    if (head !== null) {
      onPath(null);
      if (head.length > 0) out.write(head);
    }
    out.end();
  });
  source.once('error', (err) => out.destroy(err));
  return out;
}

/** Waits (up to 10 s) until lxc-attach has taken the host pty over, seen as canonical mode going off. */
async function waitForAttach(transport: Transport, path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = await transport.run({ cmd: ['stty', '-F', path], env: { PATH: HOST_PATH }, timeoutMs: 5000 }).catch(() => null);
    // A failed stty means the pty is gone (the command ended): nothing more to wait for.
    if (r === null || r.code !== 0 || /(^|\s)-icanon\b/.test(r.stdout)) return;
    await new Promise((res) => setTimeout(res, 5));
  }
}

/** Starts a command in a running container and returns its session. */
export async function startAttach(
  transport: Transport,
  opts: { lxcPath: string; name: string; specEnv: Record<string, string> },
  req: ExecRequest,
): Promise<ExecSession> {
  const attach = attachArgv(opts.lxcPath, opts.name, opts.specEnv, req);
  if (!req.tty) return transport.exec({ cmd: attach, env: { PATH: HOST_PATH } });

  // SHELL decides what `script -c` runs; the agent's own login shell may be anything.
  const session = await transport.exec({ cmd: ttyArgv(attach, req.cols ?? 80, req.rows ?? 24), env: { PATH: HOST_PATH, SHELL: '/bin/sh' } });
  let resolvePath!: (p: string | null) => void;
  const ptyPath = new Promise<string | null>((r) => (resolvePath = r));
  const stdout = stripPtyMarker(session.stdout, resolvePath);
  void session.wait().then(
    () => resolvePath(null),
    () => resolvePath(null),
  );
  // lxc-attach sets its terminal up with TCSAFLUSH, which throws away input that arrived
  // before: so input waits here until the terminal is lxc-attach's.
  const stdin = new PassThrough();
  void ptyPath.then(async (path) => {
    if (path !== null) await waitForAttach(transport, path);
    stdin.pipe(session.stdin);
  });
  let resizes = Promise.resolve();
  return {
    stdin,
    stdout,
    stderr: session.stderr,
    resize: (cols, rows) => {
      // In order, so a quick series of resizes ends at the last size asked for.
      resizes = resizes.then(async () => {
        const path = await ptyPath;
        if (path === null) return;
        await transport.run({ cmd: ['stty', '-F', path, 'cols', String(cols), 'rows', String(rows)], env: { PATH: HOST_PATH }, timeoutMs: 10_000 });
      });
      return resizes;
    },
    wait: async () => {
      const code = await session.wait();
      // The exit code is final only once the stripped stream has delivered everything.
      if (!stdout.readableEnded) await new Promise((r) => stdout.once('end', r).once('close', r));
      return code;
    },
    close: () => session.close(),
  };
}
