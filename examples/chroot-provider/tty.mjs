// A command on a terminal: a Transport gives pipes, so util-linux `script` runs it on a fresh
// host pty. The pty is sized first and its path printed on a marker line (stripped from the
// output), so resize can set its size with `stty -F`; the kernel then sends SIGWINCH.
import { PassThrough } from 'node:stream';
import { shellQuote } from 'berth/plugin';
import { HOST_ENV } from './host.mjs';

const MARKER = 'BERTH-PTY ';

/** Starts argv on a pty of cols x rows through `transport`; answers an ExecSession. */
export async function execOnPty(transport, argv, cols, rows) {
  const inner = `stty cols ${cols} rows ${rows} && printf '${MARKER}%s\\n' "$(tty)" && exec ${shellQuote(argv)}`;
  const session = await transport.exec({ cmd: ['script', '-q', '-e', '-c', inner, '/dev/null'], env: { ...HOST_ENV, SHELL: '/bin/sh' } });
  let setPath;
  const ptyPath = new Promise((r) => (setPath = r));
  const stdout = stripMarker(session.stdout, setPath);
  void session.wait().then(
    () => setPath(null),
    () => setPath(null),
  );
  // Input waits for the marker: typed ahead, it would reach the pty before stty set it up.
  const stdin = new PassThrough();
  void ptyPath.then(() => stdin.pipe(session.stdin));
  let resizes = Promise.resolve();
  return {
    stdin,
    stdout,
    stderr: session.stderr,
    resize: (c, r) => {
      // In order, so a quick series of resizes ends at the last size asked for.
      resizes = resizes.then(async () => {
        const path = await ptyPath;
        if (path) await transport.run({ cmd: ['stty', '-F', path, 'cols', String(c), 'rows', String(r)], env: HOST_ENV, timeoutMs: 10_000 });
      });
      return resizes;
    },
    wait: async () => {
      const code = await session.wait();
      if (!stdout.readableEnded) await new Promise((r) => stdout.once('end', r).once('close', r));
      return code;
    },
    close: () => session.close(),
  };
}

/** Passes `source` through without its first line when that line is the marker, reporting the path it names. */
function stripMarker(source, onPath) {
  const out = new PassThrough();
  let head = Buffer.alloc(0);
  source.on('data', (chunk) => {
    if (head === null) return void out.write(chunk);
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(0x0a);
    if (nl < 0 && head.length < 4096) return;
    const line = head.subarray(0, Math.max(nl, 0)).toString('utf8').replace(/\r$/, '');
    if (line.startsWith(MARKER)) {
      onPath(line.slice(MARKER.length).trim());
      out.write(head.subarray(nl + 1));
    } else {
      onPath(null);
      out.write(head);
    }
    head = null;
  });
  source.once('end', () => {
    if (head !== null) {
      onPath(null);
      out.write(head);
    }
    out.end();
  });
  source.once('error', (err) => out.destroy(err));
  return out;
}
