/**
 * The SSH gateway end to end with the real OpenSSH client: a busybox workspace behind a real
 * server and agent, reached with ssh (exec, pty shell, env), scp and sftp (served by the
 * gateway, busybox has no sftp-server), ssh -L to a service inside, config-ssh's ProxyCommand
 * entries, editor links, and the refusals: wrong key, someone else's workspace, garbage.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Gateway, type GatewayAdmin, runCli, runProgram, startGatewayWorld, type TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;
const ws = uniqueName('gw');
/** The admin, on their own laptop: HOME with a registered berth key and a pinned host key. */
let admin: GatewayAdmin;

/** Runs a program to completion (the harness's runner). */
const run = runProgram;

/** OpenSSH options for the gateway: no user config, batch mode, berth's key, the pinned host key. */
function sshOpts(key = admin.key): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${admin.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
  ];
}
const ssh = (target: string, command: string[], o: { key?: string; input?: string; extra?: string[] } = {}) =>
  run('ssh', [...sshOpts(o.key), '-p', String(gw.port), ...(o.extra ?? []), `${target}@${gw.host}`, ...command], { input: o.input });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A person with their own HOME; `register` makes their berth key. */
async function person(name: string) {
  const home = await mkdtemp(join(tmpdir(), `berth-e2e-${name}-`));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json'), BERTH_SERVER: '', BERTH_TOKEN: '' };
  return { home, env, key: join(home, '.ssh', 'berth_ed25519') };
}

/** An ssh2 client logged in as the admin: for requests OpenSSH will not send (window-change on demand, odd channels). */
async function ssh2Client(): Promise<ssh2.Client> {
  const conn = new ssh2.Client();
  const privateKey = await readFile(admin.key);
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', () => resolve()).once('error', reject);
    conn.connect({ host: gw.host, port: gw.port, username: ws, privateKey });
  });
  return conn;
}

async function auditEntries(): Promise<any[]> {
  return (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
}

beforeAll(async () => {
  ({ server, gw, admin } = await startGatewayWorld(ws));
  expect(gw.port).toBeGreaterThan(0);
});

afterAll(async () => {
  await server.cli(['ws', 'rm', ws]).catch(() => {});
  await server.destroy();
});

describe('ssh gateway sessions', () => {
  it('runs a command with its exit status, separate stderr and env requests', async () => {
    const r = await ssh(ws, ['echo out; echo err >&2; echo "GREETING=$GREETING"; pwd; exit 7'], { extra: ['-o', 'SetEnv=GREETING=hello'] });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe('out\nGREETING=hello\n/root\n');
    expect(r.stderr).toBe('err\n');
    const cat = await ssh(ws, ['cat'], { input: 'through stdin\n' });
    expect(cat.stdout).toBe('through stdin\n');
  });

  it('gives an interactive shell a pty and passes its exit status', async () => {
    const child = spawn('ssh', [...sshOpts(), '-tt', '-p', String(gw.port), `${ws}@${gw.host}`], { env: { ...process.env, TERM: 'xterm-256color' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await waitFor('a prompt', async () => out.includes('# '), 20_000, 50);
    child.stdin.write('echo "answer=$((6*7)) term=$TERM tty=$(tty)"; stty size\n');
    await waitFor(
      `the answer in ${JSON.stringify(out)}`,
      async () => /answer=42 term=xterm-256color tty=\/dev\/pts\/\d+/.test(out) && /\r\n24 80\r\n/.test(out),
      20_000,
      50,
    );
    child.stdin.write('exit 3\n');
    expect(await exited).toBe(3);
  });

  it('applies window-change to the pty and clamps absurd sizes without failing', async () => {
    const conn = await ssh2Client();
    const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      conn.shell({ rows: 4294967295, cols: 4294967295, term: 'vt100' }, (err, s) => (err ? reject(err) : resolve(s))),
    );
    let out = '';
    stream.on('data', (d: Buffer) => (out += d));
    stream.write('stty size\n');
    await waitFor(`the clamped size in ${JSON.stringify(out)}`, async () => out.includes('10000 10000'), 20_000, 50);
    stream.setWindow(50, 132, 0, 0);
    await new Promise((r) => setTimeout(r, 300));
    stream.write('stty size; exit\n');
    await waitFor(`the new size in ${JSON.stringify(out)}`, async () => out.includes('50 132'), 20_000, 50);
    conn.end();
  });

  it('copies 5 MiB in and back out with scp byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-scp-'));
    const data = randomBytes(5 * 1024 * 1024);
    await writeFile(join(dir, 'in.bin'), data);
    const scp = (args: string[]) => run('scp', [...sshOpts(), '-P', String(gw.port), ...args], { cwd: dir });
    const up = await scp(['in.bin', `${ws}@${gw.host}:/tmp/in.bin`]);
    expect(up.code, up.stderr).toBe(0);
    const remote = await ssh(ws, ['sha256sum /tmp/in.bin']);
    expect(remote.stdout.split(' ')[0]).toBe(sha256(data));
    const down = await scp([`${ws}@${gw.host}:/tmp/in.bin`, 'out.bin']);
    expect(down.code, down.stderr).toBe(0);
    expect(sha256(await readFile(join(dir, 'out.bin')))).toBe(sha256(data));
  });

  it('serves sftp: mkdir, put, ls, get, rename, rm', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-sftp-'));
    await writeFile(join(dir, 'note.txt'), 'a note\n');
    const batch = [
      'mkdir proj',
      'put note.txt proj/note.txt',
      'ls -l proj',
      'rename proj/note.txt proj/renamed.txt',
      'get proj/renamed.txt back.txt',
      'rm proj/renamed.txt',
      'rmdir proj',
      'pwd',
    ].join('\n');
    const r = await run('sftp', [...sshOpts(), '-P', String(gw.port), '-b', '-', `${ws}@${gw.host}`], { input: batch + '\n', cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-rw-r--r-- .* 7 .* note\.txt/);
    expect(r.stdout).toContain('Remote working directory: /root');
    expect(await readFile(join(dir, 'back.txt'), 'utf8')).toBe('a note\n');
    expect((await ssh(ws, ['test -e /root/proj || echo gone'])).stdout).toBe('gone\n');
  });

  it('forwards ssh -L to a TCP service inside the workspace', async () => {
    const started = await server.cli([
      'ws',
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'mkdir -p /tmp/www && echo "hello from inside" > /tmp/www/index.html && httpd -p 8080 -h /tmp/www',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const local = await freePort();
    const tunnel = spawn('ssh', [...sshOpts(), '-N', '-p', String(gw.port), '-L', `${local}:127.0.0.1:8080`, `${ws}@${gw.host}`], { stdio: 'ignore' });
    try {
      const body = await waitFor('the page through the tunnel', async () => (await fetch(`http://127.0.0.1:${local}/index.html`)).text(), 20_000, 200);
      expect(body).toBe('hello from inside\n');
      const again = await fetch(`http://127.0.0.1:${local}/index.html`);
      expect(again.status).toBe(200);
    } finally {
      tunnel.kill();
    }
  });

  it('opens loopback forwards from the node: bytes arrive intact, and a port nobody listens on is refused at open', async () => {
    const made = await server.cli([
      'ws',
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'mkdir -p /tmp/big && head -c 3000000 /dev/urandom > /tmp/big/blob && httpd -p 127.0.0.1:8081 -h /tmp/big && sha256sum /tmp/big/blob',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const want = made.stdout.split(' ')[0];
    const local = await freePort();
    const refusedLocal = await freePort();
    const tunnel = spawn(
      'ssh',
      [...sshOpts(), '-N', '-p', String(gw.port), '-L', `${local}:localhost:8081`, '-L', `${refusedLocal}:127.0.0.1:9`, `${ws}@${gw.host}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let sshErr = '';
    tunnel.stderr.on('data', (d) => (sshErr += d));
    try {
      const blob = await waitFor(
        'the blob through the tunnel',
        async () => Buffer.from(await (await fetch(`http://127.0.0.1:${local}/blob`)).arrayBuffer()),
        20_000,
        200,
      );
      expect(blob.length).toBe(3_000_000);
      expect(createHash('sha256').update(blob).digest('hex')).toBe(want);
      // The node opens the connection before the channel is confirmed, so nothing listening is
      // a refused channel with berth's reason, not a connection that closes without a word.
      await new Promise<void>((resolve) =>
        connect(refusedLocal, '127.0.0.1')
          .on('close', () => resolve())
          .on('error', () => resolve()),
      );
      await waitFor('the refusal on ssh stderr', async () => sshErr.includes('Nothing listens on port 9'), 10_000, 100);
      expect(sshErr).toMatch(/open failed: connect failed: berth: Nothing listens on port 9 in workspace/);
    } finally {
      tunnel.kill();
    }
  });

  it('records session starts and ends with the command and exit status', async () => {
    const entries = await auditEntries();
    const end = entries.find((e) => e.action === 'ssh.session.end' && e.detail?.includes('exit 7'));
    expect(end).toMatchObject({ actor: 'admin', target: `workspace/admin/${ws}`, outcome: 'ok' });
    expect(end.sourceIp).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(entries.some((e) => e.action === 'ssh.session.start' && e.detail === 'sftp')).toBe(true);
    expect(entries.some((e) => e.action === 'ssh.session.start' && e.detail === 'shell')).toBe(true);
    expect(entries.some((e) => e.action === 'ssh.forward.start' && e.detail === 'forward 127.0.0.1:8080')).toBe(true);
  });
});

describe('ssh gateway refusals', () => {
  it('refuses a key nobody registered, and audits it', async () => {
    const stranger = await person('stranger');
    const gen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(stranger.home, 'id')]);
    expect(gen.code).toBe(0);
    const r = await ssh(ws, ['true'], { key: join(stranger.home, 'id') });
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('Permission denied (publickey)');
    const denied = await waitFor('the denial in the audit log', async () =>
      (await auditEntries()).find((e) => e.action === 'ssh.auth' && e.outcome === 'denied'),
    );
    expect(denied.detail).toMatch(/unknown key SHA256:/);
  });

  it("keeps a member out of someone else's workspace by ssh and by -L, like a missing one", async () => {
    const alice = await person('alice');
    const invite = await server.json<{ code: string }>(['user', 'invite', 'alice@example.com']);
    const reg = await runCli(['register', server.url, '--invite', invite.code, '--name', 'alice'], { env: alice.env });
    expect(reg.code, reg.stderr).toBe(0);

    // Names are unique per owner: the admin's workspace is admin.NAME to anyone else.
    const theirs = await ssh(`admin.${ws}`, ['true'], { key: alice.key });
    const missing = await ssh('admin.no-such-ws', ['true'], { key: alice.key });
    expect(theirs.code).toBe(255);
    expect(theirs.stderr).toContain(`berth: No workspace named admin/${ws}`);
    expect(missing.stderr.replace('admin/no-such-ws', 'X')).toBe(theirs.stderr.replace(`admin/${ws}`, 'X'));

    const fwd = await ssh(`admin.${ws}`, ['-N'], { key: alice.key, extra: ['-o', 'ExitOnForwardFailure=yes', '-W', '127.0.0.1:8080'] });
    expect(fwd.code).toBe(255);
    expect(fwd.stderr).toContain('administratively prohibited');

    const denials = (await auditEntries()).filter((e) => e.actor === 'alice' && e.outcome === 'denied');
    expect(denials.map((e) => e.action)).toEqual(expect.arrayContaining(['ssh.session.start', 'ssh.forward.start']));
    expect(denials.every((e) => e.target === `workspace/admin/${ws}` || e.target === 'workspace/admin/no-such-ws')).toBe(true);
  });

  it('survives garbage, bad user names and unknown channel types, then serves a normal ssh', async () => {
    // A version line then garbage is refused at once; bare garbage waits for the login deadline.
    const garbage = (data: Buffer) =>
      new Promise<boolean>((resolve) => {
        const s = connect(gw.port, gw.host, () => s.end(data));
        s.resume();
        s.on('error', () => {});
        s.on('close', () => resolve(true));
        setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 3000);
      });
    expect(await garbage(Buffer.concat([Buffer.from('SSH-2.0-garbage\r\n'), randomBytes(70_000)]))).toBe(true);
    await garbage(randomBytes(4096));
    const bad = await ssh('../../etc', ['true']);
    expect(bad.code).toBe(255);
    expect(bad.stderr).toContain('is not a workspace name');

    const conn = await ssh2Client();
    const refused = await new Promise<Error | undefined>((resolve) => conn.openssh_forwardOutStreamLocal('/var/run/docker.sock', (err) => resolve(err)));
    expect(refused?.message).toBeTruthy();
    const subsystem = await new Promise<Error | undefined>((resolve) => conn.subsys('not-a-subsystem', (err) => resolve(err)));
    expect(subsystem).toBeTruthy();
    conn.end();

    const ok = await ssh(ws, ['echo still here']);
    expect(ok.stdout).toBe('still here\n');
  });
});

describe('ssh client commands', () => {
  it('berth ssh runs a command with its exit status', async () => {
    const r = await runCli(['ssh', ws, '--', 'echo "$((40+2))"; exit 9'], { env: admin.env });
    expect(r.code, r.stderr).toBe(9);
    expect(r.stdout).toBe('42\n');
    const argv = await runCli(['ssh', ws, '--', 'printf', '%s|', 'a b', "it's"], { env: admin.env });
    expect(argv.stdout).toBe("a b|it's|");
  });

  it('config-ssh keeps the user lines, and ssh NAME.berth works through berth ssh --stdio', async () => {
    const config = join(admin.home, '.ssh', 'config');
    const mine = 'Host example\n  User me\n  Port 2200\n';
    await writeFile(config, mine);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['config-ssh'], { env: admin.env });
      expect(r.code, r.stderr).toBe(0);
    }
    const text = await readFile(config, 'utf8');
    expect(text.endsWith(mine)).toBe(true);
    expect(text.match(/# --- BEGIN berth managed ---/g)).toHaveLength(1);
    expect(text).toContain(`Host ${ws}.berth`);
    const r = await run('ssh', ['-F', config, '-o', 'BatchMode=yes', `${ws}.berth`, 'echo via proxy; exit 4'], { env: admin.env });
    expect(r.stdout, r.stderr).toBe('via proxy\n');
    expect(r.code).toBe(4);
  });

  it('berth open prints each editor link, and workspace views carry them', async () => {
    const link = async (editor: string, extra: string[] = []) => (await runCli(['open', ws, '--editor', editor, ...extra], { env: admin.env })).stdout.trim();
    expect(await link('vscode')).toBe(`vscode://vscode-remote/ssh-remote+${ws}.berth/root`);
    expect(await link('cursor', ['--path', '/root/my project'])).toBe(`cursor://vscode-remote/ssh-remote+${ws}.berth/root/my%20project`);
    expect(await link('windsurf')).toBe(`windsurf://vscode-remote/ssh-remote+${ws}.berth/root`);
    expect(await link('jetbrains')).toBe(`jetbrains-gateway://connect#type=ssh&deploy=false&host=${gw.host}&port=${gw.port}&user=${ws}&projectPath=%2Froot`);
    const view = await server.json<any>(['ws', 'show', ws]);
    expect(view.links.vscode).toBe(`vscode://vscode-remote/ssh-remote+${ws}.berth/root`);
    // A PATH with node (bin/berth needs it) and no opener on it.
    const onlyNode = await mkdtemp(join(tmpdir(), 'berth-path-'));
    await symlink(process.execPath, join(onlyNode, 'node'));
    const launch = await runCli(['open', ws, '--launch'], { env: { ...admin.env, PATH: onlyNode } });
    await rm(onlyNode, { recursive: true, force: true });
    expect(launch.code).toBe(5);
    expect(launch.stderr).toContain('Neither xdg-open nor open');
  });
});
