/**
 * SSH gateway cases: raw TCP (garbage bytes, a version line and then garbage, a handshake cut
 * off half way), and a real SSH client that logs in and then asks for hostile things: exec
 * with odd commands and terminals, unknown subsystems, SFTP on traversal paths, forwards to
 * odd hosts and ports, unix-socket forwards and remote forwards. The server must stay healthy.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import ssh2 from 'ssh2';
import { hostileString } from './hostile.js';
import { countCase, countReached, type FuzzWorld } from './world.js';

/** A gateway case over raw TCP. */
export interface RawSshCase {
  chunks: Uint8Array[];
  end: 'end' | 'destroy' | 'wait';
}

const versionLines = ['SSH-2.0-fuzz\r\n', 'SSH-1.5-old\r\n', 'SSH-2.0-\r\n', 'GET / HTTP/1.1\r\n\r\n', 'SSH-2.0-' + 'x'.repeat(300) + '\r\n', '\r\n\r\n'];

/** The arbitrary of raw TCP cases. */
export function rawSshCases(): fc.Arbitrary<RawSshCase> {
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.constantFrom(...versionLines).map((l) => new Uint8Array(Buffer.from(l))),
    // A packet header that promises more than it sends, or an absurd length.
    fc
      .tuple(fc.constantFrom(0, 1, 5, 35000, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }))
      .map(([len, pad, rest]) => {
        const b = Buffer.alloc(5);
        b.writeUInt32BE(len >>> 0, 0);
        b[4] = pad;
        return new Uint8Array(Buffer.concat([b, Buffer.from(rest)]));
      }),
  );
  return fc.record({ chunks: fc.array(chunk, { maxLength: 5 }), end: fc.constantFrom<RawSshCase['end']>('end', 'destroy', 'wait') });
}

/** Runs one raw TCP case. */
export async function runRawSshCase(world: FuzzWorld, port: number, c: RawSshCase): Promise<void> {
  countCase('ssh-raw');
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1');
    const stop = setTimeout(() => s.destroy(), 300);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => {
      clearTimeout(stop);
      resolve();
    });
    s.on('connect', () => {
      for (const ch of c.chunks) s.write(ch);
      if (c.end === 'end') s.end();
      else if (c.end === 'destroy') setTimeout(() => s.destroy(), 10);
    });
  });
  await world.assertAlive(`raw ssh bytes ${Buffer.concat(c.chunks).toString('hex').slice(0, 300)} (${c.end})`);
}

/** What a logged-in client asks for. */
type Action =
  | { kind: 'exec'; command: string; pty: { rows: number; cols: number; term: string } | null; env: Record<string, string> }
  | { kind: 'shell' }
  | { kind: 'subsystem'; name: string }
  | {
      kind: 'sftp';
      ops: Array<{ op: 'stat' | 'readdir' | 'open' | 'mkdir' | 'unlink' | 'realpath' | 'rename' | 'symlink' | 'readlink'; path: string; other: string }>;
    }
  | { kind: 'forwardOut'; host: string; port: number }
  | { kind: 'forwardIn'; host: string; port: number }
  | { kind: 'streamLocal'; path: string };

/** A gateway case with a real SSH client. */
export interface ClientSshCase {
  username: string;
  actions: Action[];
}

const u32 = fc.oneof(fc.constantFrom(0, 1, 80, 0xffff, 0xffffffff, 10_001), fc.nat({ max: 0xffffffff }));

/** The arbitrary of logged-in client cases. */
export function clientSshCases(world: FuzzWorld): fc.Arbitrary<ClientSshCase> {
  const path = hostileString(['/', '.', '..', '/../../..', '/etc/passwd', '/proc/self/environ', '/home/dev', '~', '/tmp/fuzz']);
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({
      kind: fc.constant('exec' as const),
      command: fc.oneof(hostileString(['true', 'echo hi', 'exit 7', 'cat /etc/hostname', 'sleep 0.1']), fc.constant('x'.repeat(70_000))),
      pty: fc.option(fc.record({ rows: u32, cols: u32, term: hostileString(['xterm', 'dumb']) })),
      env: fc.dictionary(hostileString(['LANG', 'PATH', 'LD_PRELOAD', 'BASH_ENV']), hostileString(), { maxKeys: 3 }),
    }),
    fc.constant({ kind: 'shell' as const }),
    fc.record({ kind: fc.constant('subsystem' as const), name: hostileString(['sftp', 'netconf', 'SFTP']) }),
    fc.record({
      kind: fc.constant('sftp' as const),
      ops: fc.array(
        fc.record({ op: fc.constantFrom('stat', 'readdir', 'open', 'mkdir', 'unlink', 'realpath', 'rename', 'symlink', 'readlink'), path, other: path }),
        { maxLength: 4 },
      ),
    }),
    fc.record({ kind: fc.constant('forwardOut' as const), host: hostileString(['127.0.0.1', 'localhost', '::1', '169.254.169.254', '0.0.0.0']), port: u32 }),
    fc.record({ kind: fc.constant('forwardIn' as const), host: hostileString(['127.0.0.1', '']), port: u32 }),
    fc.record({ kind: fc.constant('streamLocal' as const), path: hostileString(['/var/run/docker.sock', '/run/sshd.sock']) }),
  );
  return fc.record({
    username: fc.oneof({ weight: 3, arbitrary: fc.constant(world.target) }, { weight: 1, arbitrary: hostileString() }),
    actions: fc.array(action, { minLength: 1, maxLength: 3 }),
  });
}

/** Runs one logged-in client case. */
export async function runClientSshCase(world: FuzzWorld, port: number, c: ClientSshCase): Promise<void> {
  countCase('ssh-client');
  const client = new ssh2.Client();
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => client.end(), 5_000);
    client.on('error', () => {});
    client.on('close', () => {
      clearTimeout(deadline);
      resolve();
    });
    client.on('ready', () => {
      countReached('ssh logged in');
      void (async () => {
        for (const a of c.actions) await within(1_500, perform(client, a));
        client.end();
      })();
    });
    try {
      client.connect({ host: '127.0.0.1', port, username: c.username, privateKey: world.sshKey, readyTimeout: 5_000, hostVerifier: () => true });
    } catch {
      // The client library refuses some user names outright; that case never reaches the server.
      clearTimeout(deadline);
      resolve();
    }
  });
  await world.assertAlive(`ssh as ${JSON.stringify(c.username).slice(0, 100)} doing ${JSON.stringify(c.actions).slice(0, 400)}`);
}

/** Settles after `p` or after `ms`, whichever is first; never rejects. */
function within(ms: number, p: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => clearTimeout(t));
  });
}

/** Performs one action; resolves when the server has answered it. */
function perform(client: ssh2.Client, a: Action): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const drain = (err: Error | undefined, ch?: ssh2.ClientChannel) => {
      countReached(`ssh ${a.kind} ${err ? 'refused' : 'opened'}`);
      if (err || !ch) return reject(err ?? new Error('no channel'));
      ch.on('data', () => {});
      ch.stderr?.on('data', () => {});
      ch.on('error', () => {});
      ch.on('close', () => resolve());
      setTimeout(() => ch.close(), 500);
    };
    try {
      switch (a.kind) {
        case 'exec':
          return void client.exec(a.command, { pty: a.pty ? { rows: a.pty.rows, cols: a.pty.cols, term: a.pty.term } : undefined, env: a.env }, drain);
        case 'shell':
          return void client.shell(drain);
        case 'subsystem':
          return void client.subsys(a.name, drain);
        case 'forwardOut':
          return void client.forwardOut('127.0.0.1', 1, a.host, a.port, drain);
        case 'forwardIn':
          return void client.forwardIn(a.host, a.port, (err) => (err ? reject(err) : resolve()));
        case 'streamLocal':
          return void client.openssh_forwardOutStreamLocal(a.path, drain);
        case 'sftp':
          return void client.sftp((err, sftp) => {
            countReached(`ssh sftp ${err ? 'refused' : 'opened'}`);
            if (err) return reject(err);
            sftp.on('error', () => {});
            void (async () => {
              for (const op of a.ops) await within(500, sftpOp(sftp, op));
              sftp.end();
              resolve();
            })();
          });
      }
    } catch (err) {
      // ssh2 validates some arguments (ports, sizes) on the client side before sending anything.
      reject(err);
    }
  });
}

/** One SFTP request. */
function sftpOp(sftp: ssh2.SFTPWrapper, o: Extract<Action, { kind: 'sftp' }>['ops'][number]): Promise<void> {
  return new Promise<void>((resolve) => {
    const cb = () => resolve();
    try {
      switch (o.op) {
        case 'stat':
          return sftp.stat(o.path, cb);
        case 'readdir':
          return sftp.readdir(o.path, cb);
        case 'open':
          return sftp.open(o.path, 'r', (err, h) => (err ? resolve() : sftp.close(h, cb)));
        case 'mkdir':
          return sftp.mkdir(o.path, cb);
        case 'unlink':
          return sftp.unlink(o.path, cb);
        case 'realpath':
          return sftp.realpath(o.path, cb);
        case 'rename':
          return sftp.rename(o.path, o.other, cb);
        case 'symlink':
          return sftp.symlink(o.path, o.other, cb);
        case 'readlink':
          return sftp.readlink(o.path, cb);
      }
    } catch {
      resolve();
    }
  });
}
