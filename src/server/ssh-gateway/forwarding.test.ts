/**
 * ssh -R, ssh -A and ssh -D through the whole gateway in-process, with the real OpenSSH
 * client and the real berth-in relay, its commands run as local processes (the local hub), so
 * the "workspace" is this machine: a forward's listener is on this machine's loopback. The
 * Docker workspace end to end is test/e2e/ssh-forwarding.test.ts.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type User } from '../../api/index.js';
import type { AuditRecord } from '../audit/audit.js';
import { fingerprintOf } from '../auth/ssh-keys.js';
import { describeHostKey, generateEd25519OpenSsh } from './host-key.js';
import { LOCAL_WORKSPACE, localHub } from './local-hub.test-support.js';
import { parseForwardRequest } from './remote-forward-rules.js';
import { SshGateway } from './server.js';
import { socks5 } from './socks.test-support.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-gwfwd-'));
const user = { id: 'u1', name: 'tester', email: null, role: 'member', createdAt: '' } as User;
const audits: AuditRecord[] = [];
const hostKey = generateEd25519OpenSsh('host');
/** berth-in copied to a path of this test's own, so its processes can be counted by name. */
const berthIn = join(dir, 'berth-in');
let gw: SshGateway;
let key: string;
let knownHosts: string;
let echo: Server;
let echoPort: number;

/**
 * The local hub, with relays started RELAY_DELAY_MS late: a slow node must not let a
 * session's command run before the -R listener it asked for exists.
 */
const RELAY_DELAY_MS = 250;
function slowRelays(hub: ReturnType<typeof localHub>): ReturnType<typeof localHub> {
  return {
    ...hub,
    openExec: async (...args: Parameters<typeof hub.openExec>) => {
      if (args[2].cmd.includes('relay')) await new Promise((r) => setTimeout(r, RELAY_DELAY_MS));
      return hub.openExec(...args);
    },
  };
}

/** The built berth-in: BERTH_IN_BINARY, else dist/native/berth-in; fails clearly when neither exists. */
async function builtBerthIn(): Promise<string> {
  const candidates = [process.env.BERTH_IN_BINARY, new URL('../../../dist/native/berth-in', import.meta.url).pathname].filter(Boolean) as string[];
  for (const c of candidates)
    if (
      await readFile(c).then(
        () => true,
        () => false,
      )
    )
      return c;
  throw new Error('berth-in is not built: run `npm run build` (needs Go), or set BERTH_IN_BINARY.');
}

beforeAll(async () => {
  await copyFile(await builtBerthIn(), berthIn);
  await new Promise<void>((r, j) => execFile('chmod', ['755', berthIn], (e) => (e ? j(e) : r())));
  key = join(dir, 'id');
  await new Promise<void>((r, j) => execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], (e) => (e ? j(e) : r())));
  const pub = ssh2.utils.parseKey(await readFile(`${key}.pub`, 'utf8')) as ssh2.ParsedKey;
  gw = await SshGateway.start({
    host: '127.0.0.1',
    port: 0,
    hostKey: describeHostKey(Buffer.from(hostKey)),
    deps: {
      hub: slowRelays(localHub(dir)),
      workspaces: {
        forExec: async (_u, name) => {
          if (name !== 'local') throw new BerthError('NOT_FOUND', `No workspace named ${name}; see \`berth ws ls\`.`);
          return LOCAL_WORKSPACE;
        },
      },
      audit: { record: async (e) => void audits.push(e) },
      userForKey: async (_algo, blob) => (fingerprintOf(blob) === fingerprintOf(pub.getPublicSSH()) ? user : null),
      log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      berthInPath: berthIn,
    },
  });
  knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${gw.address().port} ${describeHostKey(Buffer.from(hostKey)).publicKey}\n`);
  // An echo service on "the laptop": answers every byte and passes a half-close on.
  echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as AddressInfo).port;
});

afterAll(async () => {
  await gw?.close();
  echo?.close();
  await rm(dir, { recursive: true, force: true });
});

const opts = () => [
  '-F',
  '/dev/null',
  '-i',
  key,
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  `UserKnownHostsFile=${knownHosts}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-p',
  String(gw.address().port),
];

/** Starts `ssh -N` with extra options; resolves once its stderr matches `ready` (or it exits). */
function sshN(extra: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray | null; stderr: () => string }> {
  const child = spawn('ssh', [...opts(), '-N', '-o', 'ExitOnForwardFailure=yes', ...extra, 'local@127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ child, match: null, stderr: () => err }), 15_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = err.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, stderr: () => err });
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ child, match: null, stderr: () => err });
    });
  });
}

/** Sends `data` to port, half-closes, and collects everything until the other side ends. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(data));
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
  });
}

/** Live relay processes of this test's berth-in. */
function relayProcesses(): Promise<number> {
  return new Promise((resolve) => execFile('pgrep', ['-f', `${berthIn} relay`], (_e, out) => resolve(out.trim() ? out.trim().split('\n').length : 0)));
}

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** A TCP port free on 127.0.0.1 just now. */
async function freeLocalPort(): Promise<number> {
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
  const port = (free.address() as AddressInfo).port;
  await new Promise((r) => free.close(r));
  return port;
}

/** An ssh2 client logged in to the gateway: for requests OpenSSH sends only one way. */
async function ssh2Conn(): Promise<ssh2.Client> {
  const conn = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', () => resolve()).once('error', reject);
    conn.connect({ host: '127.0.0.1', port: gw.address().port, username: 'local', privateKey: readFileSync(key) });
  });
  return conn;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('ssh -R through the gateway', () => {
  it('forwards a port-0 listener in the workspace to the client, two connections at once, with half close', async () => {
    const ssh = await sshN(['-R', `0:127.0.0.1:${echoPort}`], /Allocated port (\d+) for remote forward/);
    try {
      expect(ssh.match, ssh.stderr()).not.toBeNull();
      const port = Number(ssh.match![1]);
      // A megabyte each way on two connections at once: windows, ordering, EOF after the last byte.
      const a = randomBytes(1024 * 1024 + 3);
      const b = randomBytes(700 * 1024);
      const [ra, rb] = await Promise.all([exchange(port, a), exchange(port, b)]);
      expect(sha(ra)).toBe(sha(a));
      expect(sha(rb)).toBe(sha(b));
      expect(await relayProcesses()).toBe(1);
    } finally {
      ssh.child.kill('SIGTERM');
    }
    // The connection's end stops the relay: nothing is left running.
    expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
  });

  it("runs a session's command only once the connection's -R listeners exist, as sshd does", async () => {
    const port = await freeLocalPort();
    // The "workspace" is this machine: bash's /dev/tcp connects to the forwarded port at once.
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 9; echo ready >&3; head -c 6 <&3`;
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
      execFile('ssh', [...opts(), '-R', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, 'local@127.0.0.1', `bash -c '${script}'`], (e, out, err) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
      ),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('ready\n');
  });

  it('refuses what it cannot forward, and ssh says so', async () => {
    const name = await sshN(['-R', `example.com:0:127.0.0.1:${echoPort}`], /remote port forwarding failed/);
    expect(name.match, name.stderr()).not.toBeNull();
    // A port already taken inside the workspace: the relay's bind fails.
    const taken = await sshN(['-R', `127.0.0.1:${echoPort}:127.0.0.1:${echoPort}`], /remote port forwarding failed for listen port (\d+)/);
    expect(taken.match?.[1], taken.stderr()).toBe(String(echoPort));
    for (const s of [name, taken]) s.child.kill();
    expect(audits.some((a) => a.action === 'ssh.forward.remote' && a.outcome === 'denied' && a.detail?.includes('example.com'))).toBe(true);
    expect(audits.some((a) => a.action === 'ssh.forward.remote' && a.outcome === 'error' && a.detail?.includes(`${echoPort}`))).toBe(true);
    expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
  });

  it('cancels a forward: the listener and the relay go, the connection stays', async () => {
    const conn = await ssh2Conn();
    try {
      const port = await new Promise<number>((resolve, reject) => conn.forwardIn('127.0.0.1', 0, (err, p) => (err ? reject(err) : resolve(p))));
      expect(port).toBeGreaterThan(0);
      conn.on('tcp connection', (_info, accept) => {
        const ch = accept();
        ch.on('data', (d: Buffer) => ch.write(d));
        ch.on('end', () => ch.end());
      });
      expect((await exchange(port, Buffer.from('hello'))).toString()).toBe('hello');
      // The same port twice on one connection is refused.
      await expect(new Promise((resolve, reject) => conn.forwardIn('127.0.0.1', port, (err, p) => (err ? reject(err) : resolve(p))))).rejects.toThrow();
      await new Promise<void>((resolve, reject) => conn.unforwardIn('127.0.0.1', port, (err) => (err ? reject(err) : resolve())));
      expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
      await expect(exchange(port, Buffer.from('x'))).rejects.toThrow(/ECONNREFUSED/);
      // Cancelling what is not there is refused; the connection goes on working.
      await expect(new Promise<void>((resolve, reject) => conn.unforwardIn('127.0.0.1', port, (err) => (err ? reject(err) : resolve())))).rejects.toThrow();
      const again = await new Promise<number>((resolve, reject) => conn.forwardIn('localhost', 0, (err, p) => (err ? reject(err) : resolve(p))));
      expect((await exchange(again, Buffer.from('again'))).toString()).toBe('again');
    } finally {
      conn.end();
    }
    expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
  });
});

describe('hostile tcpip-forward requests', () => {
  it('answers any mix of forwards and cancels without harm, and leaves nothing running (fuzzed)', async () => {
    const conn = await ssh2Conn();
    const forwardIn = (a: string, p: number) => new Promise<number | Error>((resolve) => conn.forwardIn(a, p, (err, port) => resolve(err ?? port)));
    const unforwardIn = (a: string, p: number) => new Promise<Error | undefined>((resolve) => conn.unforwardIn(a, p, (err) => resolve(err ?? undefined)));
    try {
      const addr = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'localhost', '127.0.0.1', '::1', '0.0.0.0', 'example.com', '-x', '%', '[::1]'));
      const port = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 65536, max: 2 ** 32 - 1 }));
      const op = fc.record({ cancel: fc.boolean(), addr, port });
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
          const granted: Array<[string, number]> = [];
          for (const o of ops) {
            if (o.cancel) await unforwardIn(o.addr, o.port);
            else {
              const r = await forwardIn(o.addr, o.port);
              if (typeof r === 'number') granted.push([o.addr, r]);
              // Only what the rules take is ever granted.
              if (typeof r === 'number') expect(parseForwardRequest({ bindAddr: o.addr, bindPort: o.port })).not.toHaveProperty('refused');
            }
          }
          for (const [a, p] of granted) await unforwardIn(a, p);
        }),
        { numRuns: 25 },
      );
      // The connection still works after all that.
      const got = await new Promise<string>((resolve, reject) =>
        conn.exec('echo alive', (err, ch) => {
          if (err) return reject(err);
          let out = '';
          ch.on('data', (d: Buffer) => (out += d)).on('close', () => resolve(out));
        }),
      );
      expect(got).toBe('alive\n');
    } finally {
      conn.end();
    }
    expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
  });
});

describe('ssh -A through the gateway', () => {
  it("gives the session SSH_AUTH_SOCK to the client's agent, which lists its key", async () => {
    const agentSock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    try {
      await until(async () =>
        readFile(agentSock).then(
          () => true,
          (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
        ),
      );
      const env = { ...process.env, SSH_AUTH_SOCK: agentSock };
      await new Promise<void>((r, j) => execFile('ssh-add', [key], { env }, (e) => (e ? j(e) : r())));
      const out = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
        execFile('ssh', [...opts(), '-A', 'local@127.0.0.1', 'echo "sock=$SSH_AUTH_SOCK"; stat -c %a "${SSH_AUTH_SOCK%/*}"; ssh-add -l'], { env }, (e, o, er) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: o, err: er }),
        ),
      );
      expect(out.code, out.err).toBe(0);
      expect(out.out).toMatch(/^sock=\/tmp\/berth-ssh-[0-9a-f]{12}\/agent\.sock\n700\n256 SHA256:\S+ .*\(ED25519\)\n$/);
      const sockDir = /sock=(\S+)\/agent\.sock/.exec(out.out)![1];
      // The session's end ends the relay and removes its directory.
      expect(await until(async () => (await relayProcesses()) === 0)).toBe(true);
      expect(await until(() => !existsSync(sockDir))).toBe(true);
    } finally {
      agent.kill();
    }
  });
});

describe('ssh -D through the gateway', () => {
  it('opens SOCKS connections to ports in the workspace', async () => {
    // A free port may be taken between probing and ssh binding it (other tests run too): retry.
    // ssh prints "Local forwarding listening" before it binds; its session loop starts once the
    // listener is up, and a failed bind ends ssh instead (sshN's ExitOnForwardFailure).
    const ready = /Local forwarding listening on 127\.0\.0\.1 port (\d+)[\s\S]*Entering interactive session/;
    const dynamic = async () => sshN(['-v', '-D', `127.0.0.1:${await freeLocalPort()}`], ready);
    let ssh = await dynamic();
    for (let i = 0; i < 3 && !ssh.match; i++) ssh = await dynamic();
    try {
      expect(ssh.match, ssh.stderr()).not.toBeNull();
      const socks = Number(ssh.match![1]);
      // Answers once and closes: the helper command in this "workspace" (the host's nc) may not pass a half-close on.
      const once = createServer((c) => c.once('data', (d) => c.end(Buffer.concat([Buffer.from('got '), d]))));
      await new Promise<void>((r) => once.listen(0, '127.0.0.1', () => r()));
      const reply = await socks5(socks, '127.0.0.1', (once.address() as AddressInfo).port, Buffer.from('through socks'), 17).finally(() => once.close());
      expect(reply.toString()).toBe('got through socks');
    } finally {
      ssh.child.kill();
    }
  });
});
