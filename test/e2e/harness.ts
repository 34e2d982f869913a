/**
 * End-to-end harness: starts real `berth server` and `berth agent` processes on loopback with
 * throwaway data dirs, and runs the real CLI (`bin/berth`) against them. Nothing is mocked;
 * every test talks to the real Docker engine through the real agent.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { gatewayGetSchema } from '../../src/api/index.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/berth');
export const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** What a CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A started process with its collected output, for assertions and debugging. */
export class Proc {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d) => (this.output += d));
    child.stderr?.on('data', (d) => (this.output += d));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }
  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Options for a test server. */
export interface ServerOptions {
  localAgent?: boolean;
  heartbeatMs?: number;
  env?: Record<string, string>;
  /** `--ssh-listen`; by default a free loopback port, so servers of parallel runs never collide. */
  sshListen?: string;
  /** `--tls`: serve HTTPS with the server's own CA (on loopback too). */
  tls?: boolean;
  /** The listen host (default 127.0.0.1); tests still connect only to 127.0.0.1. */
  listenHost?: string;
  /** More `berth server` arguments (e.g. --insecure-http, --advertise). */
  extraArgs?: string[];
  /** The data dir (default: a new temporary one). */
  dataDir?: string;
}

/** A real berth server (and optionally its in-process agent) in a temp data dir. */
export class TestServer {
  proc: Proc | null = null;
  url = '';
  token = '';
  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly opts: ServerOptions,
  ) {}

  static async start(opts: ServerOptions = {}): Promise<TestServer> {
    const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-e2e-server-')));
    const s = new TestServer(dataDir, await freePort(), { ...opts, sshListen: opts.sshListen ?? `127.0.0.1:${await freePort()}` });
    await s.launch();
    return s;
  }

  /** Starts (or restarts) the server process on the same port and data dir. */
  async launch(): Promise<void> {
    const args = ['server', '--listen', `${this.opts.listenHost ?? '127.0.0.1'}:${this.port}`, '--data-dir', this.dataDir];
    if (this.opts.localAgent) args.push('--local-agent');
    if (this.opts.sshListen) args.push('--ssh-listen', this.opts.sshListen);
    if (this.opts.tls) args.push('--tls');
    args.push(...(this.opts.extraArgs ?? []));
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        BERTH_HEARTBEAT_MS: String(this.opts.heartbeatMs ?? 1000),
        // Failure detection scaled to the short test heartbeat: offline after three missed
        // intervals plus one of grace (the server refuses a TTL under three intervals).
        BERTH_NODE_TTL_MS: String(3 * (this.opts.heartbeatMs ?? 1000)),
        BERTH_NODE_GRACE_MS: String(this.opts.heartbeatMs ?? 1000),
        BERTH_LOG_LEVEL: 'debug',
        ...this.opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = new Proc(child);
    this.url = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    await waitFor(`server health at ${this.url}\n${this.proc.output}`, async () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${this.proc!.output}`);
      if (!this.opts.tls) return (await fetch(`${this.url}/api/v1/health`)).ok;
      return (await getJson(`${this.url}/api/v1/health`, await this.caPem())).status === 200;
    });
    this.token = (await readFile(join(this.dataDir, 'admin-token'), 'utf8')).trim();
  }

  /** Environment that points the CLI at this server as admin (trusting its CA file, when it serves TLS). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const ca: Record<string, string> = this.opts.tls ? { BERTH_CA_FILE: join(this.dataDir, 'tls', 'ca.pem') } : {};
    return { BERTH_SERVER: this.url, BERTH_TOKEN: this.token, BERTH_CONFIG: join(this.dataDir, 'cli-config.json'), ...ca, ...extra };
  }

  /** The server's own CA (PEM), as written to its data dir. */
  caPem(): Promise<string> {
    return readFile(join(this.dataDir, 'tls', 'ca.pem'), 'utf8');
  }

  /** Runs the CLI against this server. */
  cli(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(args, { ...opts, env: this.env(opts.env) });
  }

  /** Runs the CLI with --json and parses stdout; throws with the output when it fails. */
  async json<T = any>(args: string[]): Promise<T> {
    const r = await this.cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Waits until a node of that name is online. */
  async waitNodeOnline(name?: string, timeoutMs = 30_000): Promise<any> {
    return waitFor(
      `node ${name ?? '(any)'} online`,
      async () => {
        const nodes = await this.json<any>(['node', 'ls']).then((r) => r.nodes as any[]);
        return nodes.find((n) => (name ? n.name === name : true) && n.status === 'online');
      },
      timeoutMs,
    );
  }

  /** Stops the server and removes its data dir. */
  async destroy(): Promise<void> {
    // Every workspace goes first, through berth itself, so no test leaves containers, VMs or
    // volumes behind on the machine (and a failing delete shows up in the test's output).
    if (this.proc && this.proc.child.exitCode === null) {
      const list = await this.cli(['ws', 'ls', '--json']).catch(() => null);
      // `ref`: the admin names other users' workspaces OWNER/NAME (names are unique per owner).
      const names: string[] = list && list.code === 0 ? JSON.parse(list.stdout).workspaces.map((w: { name: string; ref?: string }) => w.ref ?? w.name) : [];
      for (const name of names) {
        const r = await this.cli(['ws', 'rm', name]);
        if (r.code !== 0) console.error(`cleanup: berth ws rm ${name} failed: ${r.stderr}`);
      }
    }
    await this.proc?.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** GET a JSON URL over http or https (trusting only `ca` for https); never throws on a status. */
export async function getJson(url: string, ca?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, ...(ca ? { ca } : {}) }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: any = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs a program to completion with optional input; never throws on a non-zero exit. */
export function runProgram(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ')} timed out; stdout: ${stdout} stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input);
  });
}

/** Runs `bin/berth` with arguments, as a person types it (so from the CLI snapshot); never throws on a non-zero exit. */
export function runCli(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return runProgram(BIN, args, { ...opts, env: { NO_COLOR: '1', ...opts.env }, timeoutMs: opts.timeoutMs ?? 240_000 });
}

/** A separate `berth agent` process joined to `server`. */
export async function startAgent(
  server: TestServer,
  opts: {
    name: string;
    stateDir?: string;
    joinToken?: string;
    env?: Record<string, string> /** Leave out --server (a one-string token names it). */;
    noServerFlag?: boolean /** More `berth agent` arguments (e.g. --metrics-listen). */;
    extraArgs?: string[];
  },
): Promise<{ proc: Proc; stateDir: string }> {
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'berth-e2e-agent-')));
  let token = opts.joinToken;
  if (!token && !opts.stateDir) token = (await server.json<{ token: string }>(['node', 'join-token', '--ttl', '5m'])).token;
  const args = ['agent', ...(opts.noServerFlag ? [] : ['--server', server.url]), '--state-dir', stateDir, '--name', opts.name];
  if (token) args.push('--join-token', token);
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BERTH_LOG_LEVEL: 'debug', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { proc: new Proc(child), stateDir };
}

/** Containers and volumes berth labelled for a workspace id, or for every workspace of a node. */
export async function dockerLeftovers(scope: string | { node: string }): Promise<string[]> {
  const label = typeof scope === 'string' ? `berth.workspace=${scope}` : `berth.node=${scope.node}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  const volumes = (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [];
  return [...containers.map((c) => `container ${c.Names[0]}`), ...volumes.map((v) => `volume ${v.Name}`)];
}

/** A unique workspace name for a test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Where LXC keeps containers on this machine (the default lxcpath). */
export const LXC_PATH = '/var/lib/lxc';

/** berth containers in the default lxcpath labelled for a workspace id. */
export async function lxcContainersOf(workspaceId: string): Promise<string[]> {
  const ls = spawnSync('lxc-ls', ['-1'], { encoding: 'utf8' });
  if (ls.status !== 0) throw new Error(`lxc-ls failed: ${ls.stderr}`);
  const out: string[] = [];
  for (const name of ls.stdout.split('\n').filter(Boolean)) {
    const meta = await readFile(join(LXC_PATH, name, 'berth.json'), 'utf8').catch(() => '');
    if (meta.includes(`"${workspaceId}"`)) out.push(name);
  }
  return out;
}

/** The SSH gateway as the server announces it. */
export type Gateway = { host: string; port: number; hostKey: string };
/** The admin on their own laptop: a HOME with a registered berth key and the gateway's host key pinned. */
export type GatewayAdmin = { home: string; env: Record<string, string>; key: string; knownHosts: string };

/**
 * A server with its local agent, the busybox `base` image, a running workspace and an admin
 * ready to use plain ssh through the gateway — what every SSH gateway test starts from.
 */
export async function startGatewayWorld(workspace: string): Promise<{ server: TestServer; gw: Gateway; admin: GatewayAdmin }> {
  const server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  for (const args of [
    ['image', 'build', 'base', '--from', 'busybox'],
    ['ws', 'create', workspace],
  ]) {
    const r = await server.cli(args);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  }
  return { server, ...(await gatewayAdmin(server)) };
}

/** Gives `server` an admin with a registered berth key and the gateway's host key pinned. */
export async function gatewayAdmin(server: TestServer): Promise<{ gw: Gateway; admin: GatewayAdmin }> {
  const home = await mkdtemp(join(tmpdir(), 'berth-e2e-admin-'));
  const admin = { home, env: server.env({ HOME: home }), key: join(home, '.ssh', 'berth_ed25519'), knownHosts: join(home, 'known_hosts') };
  const gen = await runCli(['ssh-key', 'generate'], { env: admin.env });
  if (gen.code !== 0) throw new Error(`berth ssh-key generate exited ${gen.code}: ${gen.stderr}`);
  const res = await fetch(`${server.url}/api/v1/gateway`, { headers: { authorization: `Bearer ${server.token}` } });
  const gw = gatewayGetSchema.parse(await res.json()).ssh;
  if (!gw) throw new Error('The test server reports no SSH gateway; it should start one on a free port.');
  await writeFile(admin.knownHosts, `[${gw.host}]:${gw.port} ${gw.hostKey}\n`);
  return { gw, admin };
}
