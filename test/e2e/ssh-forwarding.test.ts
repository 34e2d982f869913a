/**
 * What developers' tools expect of the SSH gateway, with the real OpenSSH client against a
 * real server, agent and Docker workspace: `ssh -R` (a listener inside the workspace that
 * reaches a service on the laptop; two connections at once; cancel through a control socket;
 * refusals), `ssh -A` (ssh-add inside a Debian workspace lists the laptop agent's key) and
 * `ssh -D` (a SOCKS request to a service inside the workspace). After each, no relay process
 * is left in the workspace. The relay path is provider-neutral; an LXC workspace checks -R and
 * -A once more on a second provider.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socks5 } from '../../src/server/ssh-gateway/socks.test-support.js';
import { freePort, type Gateway, type GatewayAdmin, gatewayAdmin, runCli, runProgram, startGatewayWorld, TestServer, uniqueName, waitFor } from './harness.js';

/** A server with its gateway and an admin whose ssh key and pinned host key are ready. */
interface World {
  server: TestServer;
  gw: Gateway;
  admin: GatewayAdmin;
}
let docker: World;
let server: TestServer;
let gw: Gateway;

const ws = uniqueName('fwd');
/** A Debian workspace: it has ssh-add, which busybox lacks. */
const deb = uniqueName('fwddeb');
let echo: Server;
let echoPort: number;
let scratch: string;

function sshOpts(w: World = docker): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    w.admin.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${w.admin.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-p',
    String(w.gw.port),
  ];
}
/** Runs a command in a workspace over ssh. */
const inWs = (name: string, command: string, extra: string[] = [], env: Record<string, string> = {}, w: World = docker) =>
  runProgram('ssh', [...sshOpts(w), ...extra, `${name}@${w.gw.host}`, command], { env });

/** Starts a long-lived ssh; resolves once its stderr matches `ready`, or with no match when it exits first. */
function sshUntil(args: string[], ready: RegExp, w: World = docker): Promise<{ child: ChildProcess; match: RegExpMatchArray | null; output: () => string }> {
  const child = spawn('ssh', [...sshOpts(w), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve) => {
    const done = (match: RegExpMatchArray | null) => {
      clearTimeout(timer);
      resolve({ child, match, output: () => out });
    };
    const timer = setTimeout(() => done(null), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = out.match(ready);
      if (m) done(m);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => done(null));
  });
}

/** berth-in relay processes running in a workspace (busybox ps). */
async function relaysIn(name: string, w: World = docker): Promise<string[]> {
  const r = await inWs(name, 'ps -o pid,args 2>/dev/null || busybox ps -o pid,args', [], {}, w);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l.includes('berth-in relay'));
}

beforeAll(async () => {
  docker = await startGatewayWorld(ws);
  ({ server, gw } = docker);
  scratch = await mkdtemp(join(tmpdir(), 'berth-e2e-fwd-'));
  // The developer's laptop service: echoes every byte and passes a half-close on.
  echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as AddressInfo).port;
});

afterAll(async () => {
  echo?.close();
  await server?.cli(['ws', 'rm', ws]).catch(() => {});
  await server?.cli(['ws', 'rm', deb]).catch(() => {});
  await server?.destroy();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('ssh -R into a Docker workspace', () => {
  it('listens inside the workspace and reaches the laptop, two connections at once; the end of the connection stops the relay', async () => {
    const fwd = await sshUntil(
      ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`],
      /Allocated port (\d+) for remote forward/,
    );
    try {
      expect(fwd.match, fwd.output()).not.toBeNull();
      const port = fwd.match![1];
      // busybox nc sends its input, half-closes, and prints what comes back until the end.
      const r = await inWs(
        ws,
        `(echo one | nc 127.0.0.1 ${port} > /tmp/a) & (seq 1 20000 | nc 127.0.0.1 ${port} > /tmp/b) & wait; cat /tmp/a; wc -l < /tmp/b; seq 1 20000 | md5sum; md5sum < /tmp/b`,
      );
      expect(r.code, r.stderr).toBe(0);
      const [a, lines, want, got] = r.stdout.trim().split('\n');
      expect(a).toBe('one');
      expect(lines.trim()).toBe('20000');
      expect(got).toBe(want);
      expect(await relaysIn(ws)).toHaveLength(1);
    } finally {
      fwd.child.kill('SIGTERM');
    }
    await waitFor('the relay to end with the connection', async () => (await relaysIn(ws)).length === 0, 15_000);
  });

  it('works through `berth ssh`, the forward ready for the command it runs', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const r = await runCli(['ssh', ws, '-o', `RemoteForward=${port} 127.0.0.1:${echoPort}`, '--', `echo via berth ssh | nc 127.0.0.1 ${port}`], {
      env: docker.admin.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('via berth ssh\n');
    await waitFor('the relay to end with the connection', async () => (await relaysIn(ws)).length === 0, 15_000);
  });

  it('cancels a forward from a control socket, keeping the connection', async () => {
    const ctl = join(scratch, 'ctl');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const master = await sshUntil(['-M', '-S', ctl, '-N', '-v', `${ws}@${gw.host}`], /Entering interactive session|pledge: /);
    try {
      expect(master.match, master.output()).not.toBeNull();
      const add = await runProgram('ssh', [...sshOpts(), '-S', ctl, '-O', 'forward', '-R', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`]);
      expect(add.code, add.stderr).toBe(0);
      let r = await inWs(ws, `echo before | nc 127.0.0.1 ${port}`);
      expect(r.stdout).toBe('before\n');
      const cancel = await runProgram('ssh', [...sshOpts(), '-S', ctl, '-O', 'cancel', '-R', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`]);
      expect(cancel.code, cancel.stderr).toBe(0);
      await waitFor('the relay to end on cancel', async () => (await relaysIn(ws)).length === 0, 15_000);
      r = await inWs(ws, `echo after | nc 127.0.0.1 ${port}; echo "status $?"`);
      expect(r.stdout).not.toContain('after');
      // The connection is still there: a new forward works on it.
      const again = await runProgram('ssh', [...sshOpts(), '-S', ctl, '-O', 'forward', '-R', `127.0.0.1:${port}:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`]);
      expect(again.code, again.stderr).toBe(0);
      r = await inWs(ws, `echo again | nc 127.0.0.1 ${port}`);
      expect(r.stdout).toBe('again\n');
    } finally {
      await runProgram('ssh', [...sshOpts(), '-S', ctl, '-O', 'exit', `${ws}@${gw.host}`]).catch(() => {});
      master.child.kill();
    }
    await waitFor('no relay left', async () => (await relaysIn(ws)).length === 0, 15_000);
  });

  it('refuses a host-name bind and a port taken in the workspace, as "remote port forwarding failed"', async () => {
    const name = await runProgram(
      'ssh',
      [...sshOpts(), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `example.com:0:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`],
      { timeoutMs: 30_000 },
    );
    expect(name.code).toBe(255);
    expect(name.stderr).toContain('remote port forwarding failed');
    const busy = 20000 + Math.floor(Math.random() * 20000);
    const holder = await sshUntil([`${ws}@${gw.host}`, `echo listening; nc -l -p ${busy}`], /listening/);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const taken = await runProgram(
        'ssh',
        [...sshOpts(), '-N', '-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${busy}:127.0.0.1:${echoPort}`, `${ws}@${gw.host}`],
        { timeoutMs: 30_000 },
      );
      expect(taken.code).toBe(255);
      expect(taken.stderr).toContain(`remote port forwarding failed for listen port ${busy}`);
    } finally {
      holder.child.kill();
    }
    const audit = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries as any[];
    expect(audit.some((e) => e.action === 'ssh.forward.remote' && e.outcome === 'error' && String(e.detail).includes('address already in use'))).toBe(true);
    expect(await relaysIn(ws)).toHaveLength(0);
  });
});

describe('ssh -D into a Docker workspace', () => {
  it('connects a SOCKS request to a service inside the workspace', async () => {
    const r = await inWs(ws, 'mkdir -p /tmp/www && echo "inside the workspace" > /tmp/www/index.html && httpd -p 127.0.0.1:8080 -h /tmp/www && echo started');
    expect(r.stdout, r.stderr).toContain('started');
    const local = await freePort();
    // ssh prints "Local forwarding listening" before it binds (a SOCKS connect right after it was
    // refused now and then on a loaded machine); its session loop starts after the listener is
    // up, and a failed bind ends ssh instead (ExitOnForwardFailure).
    const d = await sshUntil(
      ['-N', '-v', '-o', 'ExitOnForwardFailure=yes', '-D', `127.0.0.1:${local}`, `${ws}@${gw.host}`],
      /Local forwarding listening on 127\.0\.0\.1 port[\s\S]*Entering interactive session/,
    );
    try {
      expect(d.match, d.output()).not.toBeNull();
      const reply = (await socks5(local, 'localhost', 8080, Buffer.from('GET /index.html HTTP/1.0\r\n\r\n'), 1e9)).toString();
      expect(reply).toMatch(/^HTTP\/1\.[01] 200/);
      expect(reply).toContain('inside the workspace');
    } finally {
      d.child.kill();
    }
  });
});

describe('ssh -A into a Debian workspace', () => {
  it("lists the laptop agent's key with ssh-add inside, on a private socket removed with the session", async () => {
    await agentCheck(docker, deb, 'sshclient', []);
  });
});

/** Builds the Debian image with ssh-add, makes workspace `name` of it, and checks ssh -A there. */
async function agentCheck(w: World, name: string, image: string, createArgs: string[]): Promise<void> {
  // git too: test/e2e/dotfiles-git.test.ts builds the same package list, so the suite caches one Debian rootfs for both.
  const build = await w.server.cli(['image', 'build', image, '--from', 'debian:bookworm', '--packages', 'busybox,openssh-server,git'], { timeoutMs: 900_000 });
  expect(build.code, build.stderr).toBe(0);
  const create = await w.server.cli(['ws', 'create', name, '--image', image, ...createArgs]);
  expect(create.code, create.stderr).toBe(0);
  const sock = join(scratch, `agent-${name}.sock`);
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    await waitFor('ssh-agent', async () => (await runProgram('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock } })).code === 1);
    const add = await runProgram('ssh-add', [w.admin.key], { env: { SSH_AUTH_SOCK: sock } });
    expect(add.code, add.stderr).toBe(0);
    const fp = (await runProgram('ssh-keygen', ['-lf', `${w.admin.key}.pub`])).stdout.split(' ')[1];
    expect(fp).toMatch(/^SHA256:/);
    const r = await inWs(name, 'echo "$SSH_AUTH_SOCK"; busybox stat -c "%a %U" "${SSH_AUTH_SOCK%/*}"; ssh-add -l', ['-A'], { SSH_AUTH_SOCK: sock }, w);
    expect(r.code, r.stderr).toBe(0);
    const [path, mode, listed] = r.stdout.trim().split('\n');
    expect(path).toMatch(/^\/tmp\/berth-ssh-[0-9a-f]{12}\/agent\.sock$/);
    expect(mode).toBe('700 root');
    expect(listed).toContain(fp);
    // The same through `berth ssh`.
    const cli = await runCli(['ssh', name, '-o', 'ForwardAgent=yes', '--', 'ssh-add -l'], { env: { ...w.admin.env, SSH_AUTH_SOCK: sock } });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(fp);
    // Without -A there is no agent.
    const none = await inWs(name, 'echo "[$SSH_AUTH_SOCK]"', ['-a'], { SSH_AUTH_SOCK: sock }, w);
    expect(none.stdout).toBe('[]\n');
    await waitFor('the agent relay to end with the session', async () => (await relaysIn(name, w)).length === 0, 15_000);
    const left = await inWs(name, `ls -d ${path.replace('/agent.sock', '')} 2>&1; echo done`, [], {}, w);
    expect(left.stdout).toContain('No such file');
  } finally {
    agent.kill();
  }
}

describe('ssh -R and -A into an LXC workspace', () => {
  let lxc: World;
  let imagesDir = '';
  const busy = uniqueName('fwdlxc');
  const debLxc = uniqueName('fwdlxcdeb');

  beforeAll(async () => {
    // The test's LXC images stay in a directory of its own, removed afterwards.
    imagesDir = await mkdtemp('/var/tmp/berth-e2e-fwd-lxc-');
    const s = await TestServer.start({ localAgent: true, env: { BERTH_LXC_IMAGES_DIR: imagesDir } });
    lxc = { server: s, ...(await gatewayAdmin(s)) };
    await s.waitNodeOnline();
    for (const args of [
      ['image', 'build', 'lxcbase', '--from', 'busybox'],
      ['ws', 'create', busy, '--provider', 'lxc', '--image', 'lxcbase'],
    ]) {
      const r = await s.cli(args);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    try {
      await lxc?.server.cli(['ws', 'rm', busy]).catch(() => {});
      await lxc?.server.cli(['ws', 'rm', debLxc]).catch(() => {});
      await lxc?.server.destroy();
    } finally {
      if (imagesDir) await rm(imagesDir, { recursive: true, force: true });
    }
  });

  it('forwards a port from inside the LXC container to the laptop, and stops the relay with the connection', async () => {
    const fwd = await sshUntil(
      ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${echoPort}`, `${busy}@${lxc.gw.host}`],
      /Allocated port (\d+) for remote forward/,
      lxc,
    );
    try {
      expect(fwd.match, fwd.output()).not.toBeNull();
      const r = await inWs(busy, `seq 1 5000 | nc 127.0.0.1 ${fwd.match![1]} | md5sum; seq 1 5000 | md5sum`, [], {}, lxc);
      expect(r.code, r.stderr).toBe(0);
      const [got, want] = r.stdout.trim().split('\n');
      expect(got).toBe(want);
      expect(await relaysIn(busy, lxc)).toHaveLength(1);
    } finally {
      fwd.child.kill('SIGTERM');
    }
    await waitFor('the relay to end with the connection', async () => (await relaysIn(busy, lxc)).length === 0, 15_000);
  });

  it("lists the laptop agent's key with ssh-add inside a Debian LXC container", async () => {
    // An image name of its own: rebuilding the Docker world's tag would pull it from under that workspace.
    await agentCheck(lxc, debLxc, 'sshclientlxc', ['--provider', 'lxc']);
  });
});
