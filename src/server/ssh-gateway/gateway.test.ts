/**
 * The whole gateway in-process against the real OpenSSH client, with commands run as local
 * processes instead of through an agent: the raw sftp-server path (this machine has
 * /usr/lib/openssh/sftp-server), forwarding through bash's /dev/tcp and the clear failure
 * when a workspace has no helper, and authentication refusals.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type User } from '../../api/index.js';
import type { AuditRecord } from '../audit/audit.js';
import { fingerprintOf } from '../auth/ssh-keys.js';
import { describeHostKey, generateEd25519OpenSsh } from './host-key.js';
import { LOCAL_WORKSPACE, localHub } from './local-hub.test-support.js';
import { SshGateway } from './server.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-gw-'));
const user: User = { id: 'u1', name: 'tester', email: null, role: 'member', createdAt: '' } as User;
const audits: AuditRecord[] = [];
let gw: SshGateway;
let bare: SshGateway;
let key: string;
let knownHosts: string;

function start(path?: string): Promise<SshGateway> {
  const hub = localHub(dir, 0, path);
  const userKey = ssh2.utils.parseKey(readFileSyncCache.pub) as ssh2.ParsedKey;
  return SshGateway.start({
    host: '127.0.0.1',
    port: 0,
    hostKey: describeHostKey(Buffer.from(readFileSyncCache.host)),
    deps: {
      hub,
      workspaces: {
        forExec: async (_u, name) => {
          if (name !== 'local') throw new BerthError('NOT_FOUND', `No workspace named ${name}; see \`berth ws ls\`.`);
          return LOCAL_WORKSPACE;
        },
      },
      audit: { record: async (e) => void audits.push(e) },
      userForKey: async (_algo, blob) => (fingerprintOf(blob) === fingerprintOf(userKey.getPublicSSH()) ? user : null),
      log: pino({ level: 'silent' }),
    },
  });
}
const readFileSyncCache = { host: generateEd25519OpenSsh('host'), pub: '' };

beforeAll(async () => {
  key = join(dir, 'id');
  await new Promise<void>((r, j) => execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], (e) => (e ? j(e) : r())));
  readFileSyncCache.pub = await readFile(key + '.pub', 'utf8');
  gw = await start();
  bare = await start('/nonexistent');
  knownHosts = join(dir, 'known_hosts');
  const hk = describeHostKey(Buffer.from(readFileSyncCache.host)).publicKey;
  await writeFile(knownHosts, `[127.0.0.1]:${gw.address().port} ${hk}\n[127.0.0.1]:${bare.address().port} ${hk}\n`);
});
afterAll(async () => {
  await gw.close();
  await bare.close();
  await rm(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: dir, timeout: 30_000 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
    child.stdin!.end(input);
  });
}
const opts = (identity = key) => [
  '-F',
  '/dev/null',
  '-i',
  identity,
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  `UserKnownHostsFile=${knownHosts}`,
  '-o',
  'StrictHostKeyChecking=yes',
];

describe('gateway in-process', () => {
  it('runs exec with its exit status', async () => {
    const r = await run('ssh', [...opts(), '-p', String(gw.address().port), 'local@127.0.0.1', 'echo hi; exit 3']);
    expect(r.out).toBe('hi\n');
    expect(r.code).toBe(3);
  });

  // Metrics: berth_gateway_sessions_open reads sessionCount.
  it('asks for OWNER.NAME (or OWNER/NAME) as OWNER/NAME, audits it so, and refuses a third part', async () => {
    const port = String(gw.address().port);
    for (const login of ['someone.other', 'someone/other']) {
      const r = await run('ssh', [...opts(), '-p', port, `${login}@127.0.0.1`, 'true']);
      expect(r.code).toBe(255);
      expect(r.err).toContain('berth: No workspace named someone/other');
    }
    expect(audits.filter((a) => a.action === 'ssh.session.start' && a.outcome === 'denied').map((a) => a.target)).toContain('workspace/someone/other');
    const bad = await run('ssh', [...opts(), '-p', port, 'a.b.c@127.0.0.1', 'true']);
    expect(bad.code).toBe(255);
    expect(bad.err).toContain('"a.b.c" is not a workspace name');
  });

  it('counts a session channel while it is open, and not after', async () => {
    expect(gw.sessionCount).toBe(0);
    const pending = run('ssh', [...opts(), '-p', String(gw.address().port), 'local@127.0.0.1', 'sleep 1.5']);
    const deadline = Date.now() + 10_000;
    while (gw.sessionCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gw.sessionCount).toBe(1);
    expect((await pending).code).toBe(0);
    const after = Date.now() + 5_000;
    while (gw.sessionCount !== 0 && Date.now() < after) await new Promise((r) => setTimeout(r, 20));
    expect(gw.sessionCount).toBe(0);

    // A client killed mid-session closes no channel: the connection's end lets its sessions go.
    const child = execFile('ssh', [...opts(), '-p', String(gw.address().port), 'local@127.0.0.1', 'sleep 30'], { cwd: dir });
    const until = Date.now() + 10_000;
    while (gw.sessionCount === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(gw.sessionCount).toBe(1);
    child.kill('SIGKILL');
    const gone = Date.now() + 10_000;
    while (gw.sessionCount !== 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    expect(gw.sessionCount).toBe(0);
  });

  it("pipes sftp to the workspace's own sftp-server when it has one", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    await writeFile(join(dir, 'src.bin'), data);
    const r = await run('sftp', [...opts(), '-P', String(gw.address().port), '-b', '-', 'local@127.0.0.1'], 'put src.bin copy.bin\nget copy.bin back.bin\n');
    expect(r.code, r.err).toBe(0);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await readFile(join(dir, 'back.bin')))).toBe(sha(data));
    expect(audits.some((a) => a.action === 'ssh.session.end' && a.detail === 'sftp: exit 0')).toBe(true);
  });

  it('forwards through bash /dev/tcp when there is no nc, and says so when there is neither', async () => {
    // Answers one line and closes: bash's /dev/tcp cannot pass on a half-close, so the service ends the exchange.
    const echo = createServer((s) => s.once('data', (d) => s.end(d)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const port = (echo.address() as AddressInfo).port;
    try {
      const ok = await run('ssh', [...opts(), '-p', String(gw.address().port), '-W', `127.0.0.1:${port}`, 'local@127.0.0.1'], 'ping\n');
      expect(ok.out).toBe('ping\n');
      const none = await run('ssh', [...opts(), '-p', String(bare.address().port), '-W', `127.0.0.1:${port}`, 'local@127.0.0.1'], 'ping\n');
      expect(none.code).toBe(255);
      expect(none.err).toContain('neither nc nor bash');
    } finally {
      echo.close();
    }
  });

  it('refuses other auth methods and unknown keys, and audits the refusal', async () => {
    const otherKey = join(dir, 'other');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const r = await run('ssh', [
      ...opts(otherKey),
      '-o',
      'PreferredAuthentications=publickey,password',
      '-p',
      String(gw.address().port),
      'local@127.0.0.1',
      'true',
    ]);
    expect(r.code).toBe(255);
    expect(r.err).toContain('Permission denied (publickey)');
    await new Promise((res) => setTimeout(res, 200));
    expect(audits.find((a) => a.action === 'ssh.auth')).toMatchObject({ outcome: 'denied', actorId: null });
  });
});
