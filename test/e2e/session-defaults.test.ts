/**
 * A workspace spec's `user` and `workdir` apply to the sessions people open, as they do to
 * hooks and services: `berth ws exec`, SSH commands, SFTP/scp, the web terminal, the `ssh -A`
 * socket and `ssh -R` listeners run as the spec's user, in its workdir, else in that user's
 * home, and `--workdir` still picks another directory. Two workspaces: busybox (`nobody`, workdir /tmp;
 * no sftp-server, so the gateway serves SFTP itself) and Debian with openssh (`mail`, no
 * workdir, so its home /var/mail; sftp-server and ssh-add there), with the real OpenSSH
 * client and the web terminal's WebSocket.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { execServerFrameSchema } from '../../src/api/index.js';
import { shellArgv } from '../../src/server/ssh-gateway/requests.js';
import { type Gateway, type GatewayAdmin, runProgram, startGatewayWorld, type TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;
let admin: GatewayAdmin;
let dir: string;
const plain = uniqueName('sdplain');
const specd = uniqueName('sdspec');
const deb = uniqueName('sddeb');

/** Creates workspace `name` from a berth.yaml with `yaml`. */
async function createFromSpec(name: string, yaml: string): Promise<void> {
  const spec = join(dir, `${name}.yaml`);
  await writeFile(spec, yaml);
  const r = await server.cli(['ws', 'create', name, '--spec', spec]);
  if (r.code !== 0) throw new Error(`berth ws create --spec exited ${r.code}: ${r.stderr}`);
}

beforeAll(async () => {
  ({ server, gw, admin } = await startGatewayWorld(plain));
  dir = await mkdtemp(join(tmpdir(), 'berth-e2e-session-defaults-'));
  await createFromSpec(specd, 'image: base\nuser: nobody\nworkdir: /tmp\n');
  const build = await server.cli(['image', 'build', 'sshclient', '--from', 'debian:bookworm', '--packages', 'busybox,openssh-server'], { timeoutMs: 900_000 });
  if (build.code !== 0) throw new Error(`berth image build sshclient exited ${build.code}: ${build.stderr}`);
  // Debian's `mail` has a home that exists (/var/mail, group-writable by mail).
  await createFromSpec(deb, 'image: sshclient\nuser: mail\n');
}, 900_000);

afterAll(async () => {
  for (const ws of [specd, deb, plain]) await server?.cli(['ws', 'rm', ws]).catch(() => {});
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (admin) await rm(admin.home, { recursive: true, force: true });
});

/** The OpenSSH options that reach the gateway as the admin. */
const sshOpts = () => [
  '-F',
  '/dev/null',
  '-i',
  admin.key,
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  `UserKnownHostsFile=${admin.knownHosts}`,
  '-o',
  'StrictHostKeyChecking=yes',
];
const ssh = (name: string, command: string, extra: string[] = [], env: Record<string, string> = {}) =>
  runProgram('ssh', [...sshOpts(), '-p', String(gw.port), ...extra, `${name}@${gw.host}`, command], { env });
const scp = (from: string, to: string) => runProgram('scp', [...sshOpts(), '-P', String(gw.port), from, to]);

/**
 * Opens a web terminal (the exec WebSocket with a reattach id, as the web UI does), types
 * `input`, and returns the output once it matches `until`.
 */
async function webTerminal(name: string, input: string, until: RegExp): Promise<string> {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/workspaces/${encodeURIComponent(name)}/exec`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  let text = '';
  let error = '';
  socket.on('message', (data) => {
    const f = execServerFrameSchema.parse(JSON.parse(data.toString()));
    if (f.type === 'stdout' || f.type === 'stderr') text += Buffer.from(f.data, 'base64').toString();
    if (f.type === 'started') socket.send(JSON.stringify({ type: 'stdin', data: Buffer.from(input).toString('base64') }));
    if (f.type === 'error') error = JSON.stringify(f.error);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  // The web UI's request: the login shell (the same script as the gateway's), with a terminal.
  socket.send(
    JSON.stringify({
      type: 'start',
      request: { cmd: shellArgv(), tty: true, env: { TERM: 'xterm-256color' }, cols: 120, rows: 30 },
      reattach: { id: `t${Date.now().toString(36)}` },
    }),
  );
  try {
    await waitFor(`terminal output matching ${until} (have ${JSON.stringify(text.slice(-300))})`, async () => {
      if (error) throw new Error(`the terminal failed: ${error}`);
      return until.test(text);
    });
    return text;
  } finally {
    socket.close(4000); // EXEC_CLOSE_END: the shell ends with the tab
  }
}

describe('the spec user and workdir in sessions', () => {
  it("runs `berth ws exec` as the spec's user in its workdir; --workdir overrides the directory", async () => {
    const r = await server.cli(['ws', 'exec', specd, '--', 'sh', '-c', 'id -un; pwd']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('nobody\n/tmp\n');
    const w = await server.cli(['ws', 'exec', specd, '--workdir', '/', '--', 'sh', '-c', 'id -un; pwd']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toBe('nobody\n/\n');
    // A workspace without a spec keeps running sessions as root.
    const p = await server.cli(['ws', 'exec', plain, '--', 'id', '-un']);
    expect(p.stdout).toBe('root\n');
  });

  it("runs an SSH command through the gateway as the spec's user, in its workdir or else its home", async () => {
    const r = await ssh(specd, 'id -un; pwd');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('nobody\n/tmp\n');
    const d = await ssh(deb, 'id -un; pwd; echo "$HOME"');
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toBe('mail\n/var/mail\n/var/mail\n');
    expect(await ssh(plain, 'id -un; pwd')).toMatchObject({ code: 0, stdout: 'root\n/root\n' });
  });

  it("copies files in with scp as the spec's user, relative paths from its workdir or home (gateway SFTP and sftp-server)", async () => {
    const local = join(dir, 'upload.txt');
    await writeFile(local, 'uploaded\n');
    for (const [name, where, user] of [
      [specd, '/tmp', 'nobody'],
      [deb, '/var/mail', 'mail'],
    ]) {
      const up = await scp(local, `${name}@${gw.host}:`);
      expect(up.code, up.stderr).toBe(0);
      const owner = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', `stat -c '%U' ${where}/upload.txt; cat ${where}/upload.txt`]);
      expect(owner.stdout, owner.stderr).toBe(`${user}\nuploaded\n`);
      // Root's home is not the spec user's to write.
      const denied = await scp(local, `${name}@${gw.host}:/root/upload.txt`);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/[Pp]ermission denied/);
      const back = join(dir, `back-${name}.txt`);
      const down = await scp(`${name}@${gw.host}:upload.txt`, back);
      expect(down.code, down.stderr).toBe(0);
    }
    // sftp starts where relative paths are.
    const pwd = await runProgram('sftp', [...sshOpts(), '-P', String(gw.port), '-b', '-', `${deb}@${gw.host}`], { input: 'pwd\n' });
    expect(pwd.code, pwd.stderr).toBe(0);
    expect(pwd.stdout).toContain('Remote working directory: /var/mail');
  });

  it("runs the web terminal as the spec's user, in its workdir or else its home", async () => {
    // The typed line echoes as E""ND: only the command's output matches.
    const marker = /(\w+) (\/\S*) END\r?\n/;
    const busy = marker.exec(await webTerminal(specd, 'echo "$(id -un) $(pwd) E""ND"\n', marker));
    expect(busy?.slice(1)).toEqual(['nobody', '/tmp']);
    const debianText = await webTerminal(deb, 'echo "$(id -un) $(pwd) E""ND"\n', marker);
    expect(marker.exec(debianText)?.slice(1)).toEqual(['mail', '/var/mail']);
    // util-linux su keeps the shell on a terminal of its own (--pty): job control works.
    expect(debianText).not.toContain('job control turned off');
    const root = marker.exec(await webTerminal(plain, 'echo "$(id -un) $(pwd) E""ND"\n', marker));
    expect(root?.slice(1)).toEqual(['root', '/root']);
  });

  it("forwards the agent to the spec's user (ssh -A): ssh-add -l lists the caller's key", async () => {
    const sock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor('ssh-agent', async () => (await runProgram('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock } })).code === 1);
      const add = await runProgram('ssh-add', [admin.key], { env: { SSH_AUTH_SOCK: sock } });
      expect(add.code, add.stderr).toBe(0);
      const fp = (await runProgram('ssh-keygen', ['-lf', `${admin.key}.pub`])).stdout.split(' ')[1];
      expect(fp).toMatch(/^SHA256:/);
      const r = await ssh(deb, 'id -un; stat -c "%a %U" "${SSH_AUTH_SOCK%/*}" "$SSH_AUTH_SOCK"; ssh-add -l', ['-A'], { SSH_AUTH_SOCK: sock });
      expect(r.code, r.stderr).toBe(0);
      const [who, dirMode, sockMode, listed] = r.stdout.trim().split('\n');
      expect(who).toBe('mail');
      expect(dirMode).toBe('700 mail');
      expect(sockMode).toBe('600 mail');
      expect(listed).toContain(fp);
      // The relay (run as mail) and its directory go with the session.
      await waitFor('the agent relay to end with the session', async () => {
        const ps = await ssh(deb, 'busybox ps -o args');
        return ps.code === 0 && !ps.stdout.includes('berth-in relay');
      });
      expect((await ssh(deb, 'ls -d /tmp/berth-ssh-* 2>&1; echo done')).stdout).toContain('No such file');
    } finally {
      agent.kill();
    }
  });

  it("binds ssh -R listeners as the spec's user", async () => {
    const echo = createServer((sock) => sock.pipe(sock));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    try {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const r = await ssh(specd, `echo back | nc 127.0.0.1 ${port}; ps -o user,args | grep "[b]erth-in relay tcp"`, [
        '-o',
        'ExitOnForwardFailure=yes',
        '-R',
        `${port}:127.0.0.1:${(echo.address() as AddressInfo).port}`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const [back, relay] = r.stdout.trim().split('\n');
      expect(back).toBe('back');
      expect(relay.trim().split(/\s+/)[0]).toBe('nobody');
    } finally {
      echo.close();
    }
  });
});
