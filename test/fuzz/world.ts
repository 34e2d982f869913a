/**
 * The fuzz suite's world: one real berth server (with its local agent and SSH gateway), an
 * admin, a member and an anonymous caller; raw HTTP with a deadline; the checks every case
 * ends with (a registered error code, the process alive and healthy); and the final census of
 * workspace rows, containers, volumes, LXC containers and QEMU processes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { expect } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/api/errors.js';
import { docker, TestServer } from '../e2e/harness.js';

/** Cases per property: modest by default so CI stays quick; raise it for long local runs. */
export const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 150);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`BERTH_FUZZ_RUNS must be a positive integer, not ${process.env.BERTH_FUZZ_RUNS}`);

/** A request that takes longer than this counts as a hang. */
export const HANG_MS = 15_000;

/** 5xx codes that are true statements about this machine, not bugs: everything else 5xx is a failure. */
const TRUE_5XX: ErrorCode[] = ['PROVIDER_UNAVAILABLE', 'NO_NODE_AVAILABLE', 'NODE_OFFLINE'];

/** Who is calling. */
export type Who = 'admin' | 'member' | 'none' | 'bogus';

/** A raw HTTP answer. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Counts every case run, by family, for the report at the end (and what the cases reached). */
export const counts: Record<string, number> = {};
/** What the cases reached (answers, frames), so a run shows it got past validation. */
export const reached: Record<string, number> = {};
export function countCase(family: string): void {
  counts[family] = (counts[family] ?? 0) + 1;
}
export function countReached(what: string): void {
  reached[what] = (reached[what] ?? 0) + 1;
}

/** What HTTP cases need from a server: a real process (FuzzWorld) or an app in this process. */
export interface HttpTarget {
  readonly knownNames: string[];
  readonly asked: Map<string, string>;
  /** Web UI: the member's browser session (cookie and CSRF header), when the target has one. */
  readonly memberBrowser?: Record<string, string>;
  call(method: string, path: string, who: Who, body?: string | Buffer, headers?: Record<string, string>): Promise<Answer>;
  assertAlive(what: string): Promise<void>;
}

/** The server under test and what the suite made on it. */
export class FuzzWorld implements HttpTarget {
  memberToken = '';
  /** Web UI: the member's browser session as request headers (cookie and CSRF value). */
  memberBrowser: Record<string, string> = {};
  nodeId = '';
  /** The workspace every exec and SSH case aims at. */
  readonly target = 'fuzz-target';
  /** Workspace ids and names the suite asked for (setup and every create that was accepted). */
  readonly asked = new Map<string, string>();
  /** A registered key for the SSH cases, and its owner's workspace. */
  sshKey = '';

  private constructor(readonly server: TestServer) {}

  static async start(): Promise<FuzzWorld> {
    const server = await TestServer.start({ localAgent: true, env: { BERTH_LOG_LEVEL: 'info' } });
    try {
      return await FuzzWorld.prepare(server);
    } catch (err) {
      // A half-made world must not outlive the run (its server, its workspace).
      await server.destroy();
      throw err;
    }
  }

  private static async prepare(server: TestServer): Promise<FuzzWorld> {
    const w = new FuzzWorld(server);
    const node = await server.waitNodeOnline(undefined, 60_000);
    w.nodeId = node.id;
    const build = await server.cli(['image', 'build', 'fuzzbox', '--from', 'busybox']);
    if (build.code !== 0) throw new Error(`image build failed: ${build.stderr}`);
    const created = await server.cli(['ws', 'create', w.target, '--image', 'fuzzbox']);
    if (created.code !== 0) throw new Error(`ws create failed: ${created.stderr}`);
    const invite = await w.call('POST', '/api/v1/users/invites', 'admin', JSON.stringify({ email: 'fuzz@example.com' }));
    const reg = await w.call('POST', '/api/v1/register', 'none', JSON.stringify({ invite: JSON.parse(invite.text).code, name: 'fuzz-member' }));
    expect(reg.status, reg.text).toBe(201);
    w.memberToken = JSON.parse(reg.text).token;
    // Web UI: the member signed in in a browser too, so every route is also fuzzed through a session cookie.
    const session = await w.call('POST', '/api/v1/session', 'none', JSON.stringify({ token: w.memberToken }));
    expect(session.status, session.text).toBe(201);
    const setCookie = String(session.headers['set-cookie'] ?? '');
    w.memberBrowser = { cookie: setCookie.split(';')[0]!, 'x-berth-csrf': JSON.parse(session.text).csrf };
    // The admin's SSH key, so gateway cases get past authentication into channel handling.
    const keys = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'fuzz' });
    const pem = keys.private;
    const pub = keys.public;
    // A name no case can generate: keys can be removed by name, and cases remove what they name.
    const added = await w.call('POST', '/api/v1/ssh-keys', 'admin', JSON.stringify({ name: `fixture.${randomBytes(8).toString('hex')}`, publicKey: pub }));
    expect(added.status, added.text).toBe(201);
    w.sshKey = pem;
    for (const r of await w.workspaceRows()) w.asked.set(r.id, r.name);
    return w;
  }

  /** Registered workspace names, for cases that should reach a real workspace. */
  get knownNames(): string[] {
    return [this.target, 'fuzz-member', 'admin'];
  }

  /** The bearer header of a caller. */
  authHeader(who: Who): Record<string, string> {
    if (who === 'admin') return { authorization: `Bearer ${this.server.token}` };
    if (who === 'member') return { authorization: `Bearer ${this.memberToken}` };
    if (who === 'bogus') return { authorization: 'Bearer berth_not_a_real_token' };
    return {};
  }

  /** One raw HTTP request with a deadline: the path goes on the wire exactly as given. */
  call(method: string, path: string, who: Who, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
    const url = new URL(this.server.url);
    const hdrs: Record<string, string> = { ...this.authHeader(who), ...headers };
    if (body !== undefined && !Object.keys(hdrs).some((h) => h.toLowerCase() === 'content-type')) hdrs['content-type'] = 'application/json';
    // Node sends a DELETE body without a length unless told; a well-formed request needs one.
    if (body !== undefined) hdrs['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Answer>((resolve, reject) => {
      // One connection per request, so no case can leave anything behind on a shared one.
      const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: hdrs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        // A streaming answer (operation events) is judged by its status; its body may run long.
        if (String(res.headers['content-type'] ?? '').includes('ndjson')) {
          req.destroy();
          return resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
        }
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(HANG_MS, () => req.destroy(new Error(`HANG: ${method} ${path.slice(0, 200)} took more than ${HANG_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Fails unless the process is alive and /health answers ok. */
  async assertAlive(what: string): Promise<void> {
    const child = this.server.proc!.child;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server died (exit ${child.exitCode}, signal ${child.signalCode}) after ${what}\n${this.server.proc!.output.slice(-4000)}`);
    }
    const h = await this.call('GET', '/api/v1/health', 'none');
    if (h.status !== 200) throw new Error(`/health answered ${h.status} after ${what}: ${h.text}`);
  }

  /**
   * Runs one case. When the server died during it, the failure says so with the end of the
   * server's log (where the crash's stack is), and a fresh process is started on the same data
   * so the remaining properties still run and can find other crash sources.
   */
  async guard(run: () => Promise<void>): Promise<void> {
    const proc = this.server.proc!;
    const mark = proc.output.length;
    try {
      await run();
    } catch (err) {
      await new Promise((r) => setTimeout(r, 200));
      if (proc.child.exitCode === null && proc.child.signalCode === null) throw err;
      const log = proc.output.slice(mark).slice(-6000);
      await this.server.launch();
      throw new Error(
        `THE SERVER DIED (exit ${proc.child.exitCode}, signal ${proc.child.signalCode}) during this case: ${(err as Error).message}\n--- server log ---\n${log}`,
      );
    }
  }

  /** Every workspace row, as the admin sees them. */
  async workspaceRows(): Promise<Array<{ id: string; name: string }>> {
    const r = await this.call('GET', '/api/v1/workspaces', 'admin');
    return JSON.parse(r.text).workspaces;
  }

  /** Everything berth made on this server's node that nobody asked for. */
  async strays(): Promise<string[]> {
    const out: string[] = [];
    const rows = await this.workspaceRows();
    for (const r of rows) if (!this.asked.has(r.id)) out.push(`workspace row ${r.name} (${r.id})`);
    const label = [`berth.node=${this.nodeId}`];
    for (const c of await docker.listContainers({ all: true, filters: { label } })) {
      if (!this.asked.has(c.Labels['berth.workspace'] ?? '')) out.push(`container ${c.Names[0]}`);
    }
    for (const v of (await docker.listVolumes({ filters: { label } })).Volumes ?? []) {
      if (!this.asked.has(v.Labels?.['berth.workspace'] ?? '')) out.push(`volume ${v.Name}`);
    }
    for (const name of await lxcContainersOf(this.nodeId)) {
      if (![...this.asked.keys()].some((id) => name.workspaceId === id)) out.push(`LXC container ${name.name}`);
    }
    for (const p of await qemuProcessesUnder(this.server.dataDir)) out.push(`QEMU process ${p}`);
    return out;
  }
}

/** Checks one HTTP answer: 2xx, or an error body with a registered code whose status it carries, never INTERNAL. */
export function assertRegisteredAnswer(a: Answer, what: string, true5xx: ErrorCode[] = TRUE_5XX): void {
  if (a.status >= 200 && a.status < 300) return;
  let body: { code?: string; message?: string };
  try {
    body = JSON.parse(a.text);
  } catch {
    throw new Error(`${what}: answered ${a.status} with a body that is not JSON: ${a.text.slice(0, 300)}`);
  }
  const code = body.code as ErrorCode;
  if (!(code in ERROR_CODES) || !Object.hasOwn(ERROR_CODES, code))
    throw new Error(`${what}: answered ${a.status} with an unregistered code: ${a.text.slice(0, 300)}`);
  if (ERROR_CODES[code] !== a.status) throw new Error(`${what}: code ${code} came with status ${a.status}, not ${ERROR_CODES[code]}`);
  if (typeof body.message !== 'string' || body.message.length === 0) throw new Error(`${what}: error ${code} has no message`);
  if (code === 'INTERNAL') throw new Error(`${what}: INTERNAL: ${a.text.slice(0, 500)}`);
  if (a.status >= 500 && !true5xx.includes(code)) throw new Error(`${what}: ${a.status} ${code} is not a true 5xx here: ${a.text.slice(0, 300)}`);
}

const pexec = promisify(execFile);

/** LXC containers berth made for `nodeId` (read from each container's berth.json). */
async function lxcContainersOf(nodeId: string): Promise<Array<{ name: string; workspaceId: string }>> {
  let names: string[];
  try {
    names = (await pexec('lxc-ls', ['-1'])).stdout.split('\n').filter((n) => n.startsWith('berth-'));
  } catch (err) {
    throw new Error(`lxc-ls failed; the fuzz suite needs LXC installed to check for stray containers: ${(err as Error).message}`);
  }
  const out: Array<{ name: string; workspaceId: string }> = [];
  for (const name of names) {
    const meta = await readFile(`/var/lib/lxc/${name}/berth.json`, 'utf8').then(
      (t) => JSON.parse(t) as Record<string, string>,
      () => null,
    );
    if (meta && meta['berth.node'] === nodeId) out.push({ name, workspaceId: meta['berth.workspace'] ?? '' });
  }
  return out;
}

/** QEMU processes whose command line points into `dir` (where this server's agent keeps its VMs). */
async function qemuProcessesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('qemu-system') && cmd.includes(dir)) out.push(`${pid}: ${cmd.replace(/\0/g, ' ').slice(0, 200)}`);
  }
  return out;
}
