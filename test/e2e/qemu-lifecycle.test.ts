/**
 * A QEMU workspace end to end through the CLI: a VM image built by the image pipeline, then
 * create, exec, stop, start, re-adoption by a restarted agent, `ssh -R`, `ssh -A` and an HTTP
 * preview in that same VM (QEMU under TCG is slow: one VM serves every check), and delete —
 * after which no QEMU process, overlay, QMP socket or forwarded port may be left on the node.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentOp } from '../../src/api/index.js';
import { defaultCacheDir } from '../../src/images/index.js';
import { LxcImageExporter } from '../../src/images/lxc-images.js';
import { vmImageFile } from '../../src/images/qemu-disk.js';
import { docker, type Gateway, type GatewayAdmin, gatewayAdmin, runProgram, TestServer, uniqueName, waitFor } from './harness.js';

const name = uniqueName('vm');
// A fixed name: a rerun replaces the image instead of piling up 300 MB copies of it.
const image = 'e2e-qemu-vm';
let server: TestServer;
let vmDir = '';
let sshPort = 0;
let gw: Gateway;
let admin: GatewayAdmin;
let scratch = '';
/** The developer's laptop service for ssh -R: echoes every byte. */
let echo: Server | undefined;

/** A tiny HTTP server in the VM on perl-base (every Debian has it; the image has no busybox or python). */
const HTTPD =
  'use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die "$!"; ' +
  'while (my $c = $s->accept) { while (<$c>) { last if /^\\r?$/ } my $b = "served by the vm\\n"; ' +
  'print $c "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: " . length($b) . "\\r\\n\\r\\n$b"; close $c }';

/** Runs `command` in the VM workspace through the gateway with the real ssh client. */
function ssh(command: string, extra: string[] = [], env: Record<string, string> = {}) {
  const opts = ['-F', '/dev/null', '-i', admin.key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];
  opts.push('-o', `UserKnownHostsFile=${admin.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(gw.port));
  return runProgram('ssh', [...opts, ...extra, `${name}@${gw.host}`, command], { env, timeoutMs: 120_000 });
}

/** QEMU processes whose command line mentions `needle`. */
async function qemuProcesses(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('qemu-system') && cmdline.includes(needle)) found.push(pid);
  }
  return found;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  // The same Debian build feeds Docker and the VM disk; the rootfs is cached outside the clone.
  const build = await server.cli(['image', 'build', image, '--from', 'debian:bookworm', '--packages', 'linux-image-cloud-amd64,openssh-server'], {
    timeoutMs: 900_000,
  });
  expect(build.code, build.stderr).toBe(0);
  ({ gw, admin } = await gatewayAdmin(server));
  scratch = await mkdtemp(join(tmpdir(), 'berth-e2e-qemu-'));
}, 900_000);

afterAll(async () => {
  echo?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (admin) await rm(admin.home, { recursive: true, force: true });
  await server.cli(['ws', 'rm', name]).catch(() => {});
  await server.destroy();
  // The build made the image for every engine on the node; the cached rootfs and VM disk stay.
  await docker
    .getImage(`berth/${image}:latest`)
    .remove({ force: true })
    .catch(() => {});
  await new LxcImageExporter().remove(image, silentOp()).catch(() => {});
  await rm(vmImageFile(defaultCacheDir(), image), { force: true });
});

describe('QEMU workspace through the CLI', () => {
  it('shows the qemu provider usable in node ls, with its accelerator', async () => {
    const node = await server.waitNodeOnline();
    const qemu = await (async () => {
      for (let i = 0; i < 30; i++) {
        const n = (await server.json<any>(['node', 'ls'])).nodes[0];
        const q = n.providers.find((p: any) => p.kind === 'qemu');
        if (q?.usable) return q;
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error(`qemu provider not usable on ${node.name}`);
    })();
    expect(['kvm', 'tcg']).toContain(qemu.details.accelerator);
    const human = await server.cli(['node', 'ls']);
    expect(human.stdout).toContain(`qemu ✓ (${qemu.details.accelerator})`);
  });

  it('creates a VM workspace and runs commands in it', async () => {
    const r = await server.cli(['ws', 'create', name, '--provider', 'qemu', '--image', image, '--cpus', '1', '--memory', '256m']);
    expect(r.code, r.stderr).toBe(0);
    const ws = await server.json<any>(['ws', 'show', name]);
    expect(ws).toMatchObject({ status: 'running', provider: 'qemu', cpus: 1, memoryBytes: 256 * 1024 ** 2 });
    vmDir = join(server.dataDir, 'local-agent', 'qemu', ws.id);
    sshPort = Number((await readFile(join(vmDir, 'ssh-port'), 'utf8')).trim());
    expect(await qemuProcesses(vmDir)).toHaveLength(1);
    const exec = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo out; echo err >&2; nproc; exit 3']);
    expect(exec.code).toBe(3);
    expect(exec.stdout).toBe('out\n1\n');
    expect(exec.stderr).toContain('err\n');
    const env = await server.cli(['ws', 'exec', name, '-e', 'GREETING=hi there', '-w', '/tmp', '--', 'sh', '-c', 'echo "$GREETING in $(pwd)"']);
    expect(env.stdout).toBe('hi there in /tmp\n');
  });

  it('keeps the home disk across stop and start', async () => {
    expect((await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo kept > /root/marker'])).code).toBe(0);
    const stop = await server.cli(['ws', 'stop', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', name])).status).toBe('stopped');
    expect(await qemuProcesses(vmDir)).toEqual([]);
    const start = await server.cli(['ws', 'start', name]);
    expect(start.code, start.stderr).toBe(0);
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat', '/root/marker']);
    expect(cat).toMatchObject({ code: 0, stdout: 'kept\n' });
    sshPort = Number((await readFile(join(vmDir, 'ssh-port'), 'utf8')).trim());
  });

  it('is re-adopted by a restarted agent, not reaped', async () => {
    const before = await qemuProcesses(vmDir);
    await server.proc?.stop();
    await server.launch();
    await server.waitNodeOnline();
    expect(await qemuProcesses(vmDir)).toEqual(before);
    const cat = await server.cli(['ws', 'exec', name, '--', 'cat', '/root/marker']);
    expect(cat).toMatchObject({ code: 0, stdout: 'kept\n' });
  });

  it('forwards ssh -R from inside the VM to the laptop', async () => {
    echo = createServer((sock) => sock.pipe(sock));
    await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', () => r()));
    const echoPort = (echo.address() as AddressInfo).port;
    const port = 20000 + Math.floor(Math.random() * 20000);
    // Debian has no nc: bash's /dev/tcp is the client. The forward is listening before the command runs.
    const r = await ssh(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; echo through the vm >&3; read -r line <&3; echo "$line"'`, [
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `${port}:127.0.0.1:${echoPort}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('through the vm\n');
  });

  it("lists the laptop agent's key with ssh-add inside the VM (ssh -A)", async () => {
    const sock = join(scratch, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor('ssh-agent', async () => (await runProgram('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock } })).code === 1);
      const add = await runProgram('ssh-add', [admin.key], { env: { SSH_AUTH_SOCK: sock } });
      expect(add.code, add.stderr).toBe(0);
      const fp = (await runProgram('ssh-keygen', ['-lf', `${admin.key}.pub`])).stdout.split(' ')[1];
      const r = await ssh('echo "$SSH_AUTH_SOCK"; ssh-add -l', ['-A'], { SSH_AUTH_SOCK: sock });
      expect(r.code, r.stderr).toBe(0);
      const [path, listed] = r.stdout.trim().split('\n');
      expect(path).toMatch(/^\/tmp\/berth-ssh-[0-9a-f]{12}\/agent\.sock$/);
      expect(listed).toContain(fp);
    } finally {
      agent.kill();
    }
  });

  it('serves an HTTP preview of a port inside the VM', async () => {
    const started = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', `setsid perl -e '${HTTPD}' </dev/null >/dev/null 2>&1 &`]);
    expect(started.code, started.stderr).toBe(0);
    const page = await waitFor(
      'the preview of port 8080 to answer',
      async () => {
        const res = await fetch(`${server.url}/w/${name}/p/8080/`, { headers: { authorization: `Bearer ${server.token}` } });
        return res.status === 200 ? res.text() : null;
      },
      60_000,
      500,
    );
    expect(page).toBe('served by the vm\n');
  });

  it('deletes the workspace leaving no process, overlay, socket or forwarded port', async () => {
    const rm = await server.cli(['ws', 'rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await qemuProcesses(vmDir)).toEqual([]);
    await expect(stat(vmDir)).rejects.toThrow(/ENOENT/);
    expect(await listening(sshPort)).toBe(false);
  });
});
