/**
 * A real OpenSSH server for tests: started on a free loopback port with its own host key,
 * client key, authorized_keys and config in a temporary directory, and killed (with every
 * per-connection child it forked) by `stop()`. Missing binaries are an error, never a skip.
 *
 * When the tests run as root, clients log in as a dedicated system user whose shell is
 * /bin/sh (created on first use): sshd runs every command through the login shell, and
 * root's bash would source ~/.bashrc for each one, which on a developer machine can cost
 * more than everything the tests mean to measure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where Debian's OpenSSH server and its SFTP subsystem live. */
export const SSHD = '/usr/sbin/sshd';
export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** A running test sshd and what a client needs to log in to it. */
export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The user clients log in as (see the file comment); sshd lets it in with `privateKey`. */
  readonly username: string;
  /** A directory that user can write, removed by stop(). */
  readonly scratch: string;
  readonly privateKey: Buffer;
  readonly privateKeyPath: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  readonly hostFingerprint: string;
  /** The sshd listener's pid; per-connection processes are its children. */
  readonly pid: number;
  readonly dir: string;
  /** Options for SshTransport that log in to this server and verify its host key. */
  clientOptions(): { host: string; port: number; username: string; privateKey: Buffer; hostFingerprint: string };
  /** sshd's own log (-e), useful in failure messages. */
  log(): Promise<string>;
  /** Kills the per-connection sshd that serves the session whose shell has parent `sessionPpid` (a `$PPID`), dropping that connection. */
  dropConnectionOf(sessionPpid: number): void;
  /** Sends a signal (SIGSTOP to make the connection silent, SIGCONT to wake it) to every process serving that connection. */
  signalConnectionOf(sessionPpid: number, signal: NodeJS.Signals): void;
  /** Kills sshd and every connection it serves, then removes the directory. */
  stop(): Promise<void>;
}

/** Options for the test server. */
export interface TestSshdOptions {
  /** Log in as this existing user instead of the default (see the file comment). */
  user?: string;
  /** sshd's MaxSessions (channels per connection); OpenSSH's default is 10. */
  maxSessions?: number;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

/** Starts a private sshd on 127.0.0.1; throws with an install hint when OpenSSH is missing. */
export async function startTestSshd(options: TestSshdOptions = {}): Promise<TestSshd> {
  for (const [bin, pkg] of [
    [SSHD, 'openssh-server'],
    [SFTP_SERVER, 'openssh-server'],
  ] as const) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing; install it with: apt-get install -y ${pkg}`);
  }
  if (spawnSync('ssh-keygen', ['-?']).error) throw new Error('ssh-keygen is missing; install it with: apt-get install -y openssh-client');
  // sshd insists on its privilege separation directory even when run by hand.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const username = options.user ?? defaultLoginUser();
  const dir = await mkdtemp(join(tmpdir(), 'berth-sshd-'));
  // sshd reads authorized_keys as the login user, and that user's commands write to scratch.
  chmodSync(dir, 0o755);
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  const account = lookupUser(username);
  chownSync(scratch, account.uid, account.gid);
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'id_ed25519'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'id_ed25519.pub')), { mode: 0o644 });
  const fingerprintLine = spawnSync('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).stdout;
  const hostFingerprint = fingerprintLine.split(' ')[1];

  let lastError: unknown;
  // Another process can take the free port between our probe and sshd's bind; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, `sshd_config.${port}`);
    await writeFile(config, sshdConfig(dir, port, options).join('\n') + '\n');
    const logPath = join(dir, `sshd.${port}.log`);
    const logFd = openSync(logPath, 'a');
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    try {
      await waitForBanner(port, child, logPath);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    return makeHandle({ dir, scratch, username, port, child, logPath, hostFingerprint });
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

function makeHandle(h: {
  dir: string;
  scratch: string;
  username: string;
  port: number;
  child: ChildProcess;
  logPath: string;
  hostFingerprint: string;
}): TestSshd {
  const { dir, scratch, username, port, child, logPath, hostFingerprint } = h;
  const pid = child.pid!;
  return {
    host: '127.0.0.1',
    port,
    username,
    scratch,
    privateKey: readFileSync(join(dir, 'id_ed25519')),
    privateKeyPath: join(dir, 'id_ed25519'),
    hostFingerprint,
    pid,
    dir,
    clientOptions() {
      return { host: '127.0.0.1', port, username, privateKey: readFileSync(join(dir, 'id_ed25519')), hostFingerprint };
    },
    log: () => readFile(logPath, 'utf8'),
    dropConnectionOf(sessionPpid: number) {
      for (const p of connectionProcesses(pid, sessionPpid)) tryKill(p);
    },
    signalConnectionOf(sessionPpid: number, signal: NodeJS.Signals) {
      for (const p of connectionProcesses(pid, sessionPpid)) process.kill(p, signal);
    },
    async stop() {
      for (const p of descendants(pid)) tryKill(p);
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      tryKill(pid);
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Every process serving one connection: walking up from the session's sshd to the listener's
 * direct child (the privilege-separation monitor) finds the connection's root process.
 */
function connectionProcesses(listenerPid: number, sessionPpid: number): number[] {
  let current = sessionPpid;
  for (;;) {
    const parent = parentPid(current);
    if (parent === listenerPid) break;
    if (parent === undefined || parent <= 1) throw new Error(`pid ${sessionPpid} is not served by the test sshd ${listenerPid}`);
    current = parent;
  }
  return [...descendants(current), current];
}

/** The test sshd's config lines: its own host key and authorized_keys in `dir`, keys only, verbose log; `listen` defaults to 127.0.0.1. */
export function sshdConfig(dir: string, port: number, options: TestSshdOptions, listen = '127.0.0.1'): string[] {
  return [
    `Port ${port}`,
    `ListenAddress ${listen}`,
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, `sshd.${port}.pid`)}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    // Benchmarks and concurrency tests open many connections at once; OpenSSH's default
    // (10:30:100) starts dropping unauthenticated connections at 10.
    'MaxStartups 200',
    `MaxSessions ${options.maxSessions ?? 10}`,
    `Subsystem sftp ${SFTP_SERVER}`,
    'LogLevel VERBOSE',
    ...(options.extraConfig ?? []),
  ];
}

/** The dedicated test user when running as root (created if missing), else whoever runs the tests. */
function defaultLoginUser(): string {
  if (process.getuid?.() !== 0) return userInfo().username;
  const name = 'berth-ssh-test';
  const home = '/var/lib/berth-ssh-test';
  // Several suites may start fixtures at once; useradd fails for all but one of them,
  // so success is judged by whether the user exists afterwards.
  for (let attempt = 0; attempt < 5 && lookupUserOrUndefined(name) === undefined; attempt++) {
    // Password '*' (no password) rather than useradd's '!' (locked): without PAM, sshd refuses
    // every login to a locked account, keys included.
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', home, '--shell', '/bin/sh', '--password', '*', name], {
      encoding: 'utf8',
    });
    if (r.error) throw new Error(`useradd is missing (${r.error.message}); install the passwd package or pass { user } to startTestSshd`);
    if (r.status !== 0 && lookupUserOrUndefined(name) === undefined) spawnSync('sleep', ['0.2']);
  }
  const account = lookupUser(name);
  // sshd changes to the home directory and complains on stderr when it is missing.
  mkdirSync(home, { recursive: true });
  chownSync(home, account.uid, account.gid);
  return name;
}

function lookupUserOrUndefined(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const fields = r.stdout.trim().split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function lookupUser(name: string): { uid: number; gid: number } {
  const account = lookupUserOrUndefined(name);
  if (!account) throw new Error(`user ${name} does not exist; create it or pass another { user } to startTestSshd`);
  return account;
}

/** Makes an ed25519 key pair without a passphrase at `path` and `path`.pub. */
export function keygen(path: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test', '-f', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed for ${path}: ${r.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once sshd answers with its SSH banner; rejects with its log if it exits or stays silent. */
export async function waitForBanner(port: number, child: ChildProcess, logPath: string, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${await readFile(logPath, 'utf8')}`);
    const banner = await new Promise<string>((resolve) => {
      const socket = connect(port, host);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString());
      });
      socket.once('error', () => resolve(''));
    });
    if (banner.startsWith('SSH-')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on ${host}:${port} within 10 s: ${await readFile(logPath, 'utf8')}`);
}

function parentPid(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses, so parse after the last ')'.
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** Every process below `root`, children before their parents' parents (a snapshot of /proc). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentPid(pid);
    if (ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      visit(c);
      out.push(c);
    }
  };
  visit(root);
  return out;
}

/** SIGKILLs a process that may already be gone. */
export function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone: nothing to do.
  }
}
