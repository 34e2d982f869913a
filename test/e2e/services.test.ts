/**
 * Workspace specs and services end to end through the CLI: `ws create --spec` with hooks and
 * three services (a TCP server that turns healthy after a delay, an HTTP server that waits for
 * it to be healthy and for a one-shot job to complete), for Docker, LXC and QEMU: start order
 * and health, a killed service restarted per its policy, its port in `berth ports` with the
 * service's name until `svc stop`, `svc logs`. Also: a failing post_create leaves no container
 * and no row, and a bad spec is refused with file:line:column before anything is made.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../src/images/index.js';
import { vmImageFile } from '../../src/images/qemu-disk.js';
import { BIN, docker, dockerLeftovers, getJson, lxcContainersOf, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let dir: string;
let lxcImages: string;
/** A fixed name: a rerun replaces the image instead of piling up copies. */
const VM_IMAGE = 'e2e-services-vm';

/** The two servers' commands: busybox's nc and httpd where the image is busybox. */
const BUSYBOX = {
  db: 'exec nc -ll -p 7001 -e /bin/echo pong',
  web: 'exec httpd -f -p 7002 -h /tmp/www',
  // A listener started by the service's shell, a child in its process group, on a port the spec does not declare.
  side: 'nc -ll -p 7003 -e /bin/echo side & wait',
};
/** The same two servers in perl (Essential in Debian, so in every Debian image): the VM's image has no busybox. */
const PERL = {
  side: `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 7003, Listen => 5, ReuseAddr => 1) or die "listen: $!"; sleep 100000' & wait`,
  db: `exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 7001, Listen => 5, ReuseAddr => 1) or die "listen: $!"; while ($c = $s->accept) { print $c "pong\\n"; close $c }'`,
  web: `exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalPort => 7002, Listen => 5, ReuseAddr => 1) or die "listen: $!"; while ($c = $s->accept) { $r = <$c>; while (($l = <$c>) =~ /\\S/) {} ($p) = $r =~ m{^GET (\\S+)}; $f = "/tmp/www$p"; if ($p !~ /\\.\\./ && -f $f) { open F, $f; local $/; $b = <F>; print $c "HTTP/1.0 200 OK\\r\\nContent-Length: " . length($b) . "\\r\\n\\r\\n$b" } else { print $c "HTTP/1.0 404 Not Found\\r\\n\\r\\n" } close $c }'`,
};

/** The services spec; `image`, `provider` and the servers' commands differ per provider. */
function servicesSpec(provider: string, image: string, servers = BUSYBOX): string {
  return `# services end to end
provider: ${provider}
image: ${image}
env:
  GREETING: hello
workdir: /tmp
hooks:
  post_create: echo "$GREETING from post_create" > /tmp/created
  post_start:
    mark: echo started >> /tmp/started
services:
  db:
    command: ${JSON.stringify(`echo db booting; sleep 2; echo db up; ${servers.db}`)}
    healthcheck:
      tcp: 7001
      interval: 500ms
      start_period: 20s
      start_interval: 200ms
    restart: always
    ports:
      - port: 7001
        label: database
  seed:
    command: echo seeding; sleep 1; echo seeded > /tmp/www/seeded.txt
    depends_on:
      db:
        condition: healthy
  web:
    command: ${JSON.stringify(servers.web)}
    depends_on:
      db:
        condition: healthy
      seed:
        condition: completed
    healthcheck:
      http:
        port: 7002
        path: /seeded.txt
      interval: 500ms
      start_interval: 200ms
    restart: on-failure
    ports:
      - port: 7002
        label: site
  side:
    command: ${JSON.stringify(servers.side)}
`;
}

interface Svc {
  name: string;
  state: string | null;
  pid: number | null;
  restarts: number;
  startedAt: string | null;
  health: string | null;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-e2e-services-'));
  lxcImages = await mkdtemp('/var/tmp/berth-e2e-svc-lxc-images-');
  server = await TestServer.start({ localAgent: true, env: { BERTH_LXC_IMAGES_DIR: lxcImages } });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  try {
    await server?.destroy();
  } finally {
    // The VM build made the image for every engine on the node; the cached rootfs stays.
    await docker
      .getImage(`berth/${VM_IMAGE}:latest`)
      .remove({ force: true })
      .catch(() => {});
    await rm(vmImageFile(defaultCacheDir(), VM_IMAGE), { force: true });
    await rm(dir, { recursive: true, force: true });
    if (lxcImages) await rm(lxcImages, { recursive: true, force: true });
  }
}, 600_000);

describe('spec checks and hooks', () => {
  it('refuses a bad spec with file:line:column before anything is made', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'services:\n  api:\n    command: run\n    depends_on: [db]\n');
    const name = uniqueName('bad');
    const r = await server.cli(['ws', 'create', name, '--spec', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${file}:4:`);
    expect(r.stderr).toContain('services.api.depends_on.db');
    expect((await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name)).not.toContain(name);
  });

  it('fails a create whose post_create fails, saying which hook, its exit code and last output, and leaves no container and no row', async () => {
    const file = join(dir, 'failing.yaml');
    await writeFile(file, 'hooks:\n  post_create:\n    setup: echo preparing; echo it broke >&2; exit 3\n');
    const name = uniqueName('hookfail');
    const r = await server.cli(['ws', 'create', name, '--spec', file]);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('FAILED_PRECONDITION');
    expect(r.stderr).toContain('post_create.setup hook exited with code 3');
    expect(r.stderr).toContain('it broke');
    expect((await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name)).not.toContain(name);
    const containers = await docker.listContainers({ all: true, filters: { name: [`berth-${name}-`] } });
    expect(containers.map((c) => c.Names[0])).toEqual([]);
  });

  it('takes the name and values from the spec, runs post_create once and post_start at every start, and shows the spec', async () => {
    const name = uniqueName('hooks');
    const file = join(dir, 'hooks.yaml');
    await writeFile(
      file,
      `name: ${name}\nenv:\n  GREETING: hi\nworkdir: /tmp\nports:\n  - port: 9000\n    label: docs\nhooks:\n  post_create: echo "$GREETING from $(pwd)" > /tmp/created\n  post_start: echo start >> /tmp/starts\n`,
    );
    const created = await server.cli(['ws', 'create', '--spec', file]);
    expect(created.code, created.stderr).toBe(0);
    const show = await server.json<any>(['ws', 'show', name]);
    expect(show.spec).toMatchObject({ name, env: { GREETING: 'hi' }, ports: [{ port: 9000, label: 'docs' }] });
    const human = await server.cli(['ws', 'show', name]);
    expect(human.stdout).toMatch(/Ports:\s+9000\/tcp \(docs\)/);
    expect(human.stdout).toMatch(/Hooks:\s+post_create, post_start/);
    expect((await server.cli(['ws', 'restart', name])).code).toBe(0);
    const files = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'cat /tmp/created; cat /tmp/starts']);
    expect(files.stdout).toBe('hi from /tmp\nstart\nstart\n');
    expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
  });
});

/** The services scenario on one provider. */
async function servicesScenario(provider: 'docker' | 'lxc' | 'qemu', image: string, servers = BUSYBOX): Promise<void> {
  const name = uniqueName(`svc-${provider}`);
  const file = join(dir, `${provider}.yaml`);
  // The web root must exist before seed writes into it: post_create makes it.
  await writeFile(file, servicesSpec(provider, image, servers).replace('post_create: echo', 'post_create: mkdir -p /tmp/www; echo'));
  const created = await server.cli(['ws', 'create', name, '--spec', file], { timeoutMs: 600_000 });
  expect(created.code, created.stderr).toBe(0);
  const id = (await server.json<any>(['ws', 'show', name])).id as string;
  try {
    const ls = () => server.json<{ services: Svc[] }>(['svc', 'ls', name]).then((r) => new Map(r.services.map((s) => [s.name, s])));
    let seen: unknown = null;
    const settled = await waitFor(
      'db healthy, seed completed, web healthy',
      async () => {
        const m = await ls();
        seen = [...m.values()];
        return m.get('db')?.state === 'healthy' && m.get('seed')?.state === 'completed' && m.get('web')?.state === 'healthy' ? m : null;
      },
      60_000,
      300,
    ).catch(async (err: Error) => {
      const logs = await Promise.all(['db', 'seed', 'web'].map((s) => server.cli(['svc', 'logs', name, s]).then((r) => `${s}: ${r.stdout}${r.stderr}`)));
      throw new Error(`${err.message}\nlast svc ls: ${JSON.stringify(seen)}\n${logs.join('\n')}`);
    });
    // Start order: db first; seed only once db was healthy (db needs 2 s); web after seed completed (1 s more).
    const at = (s: string) => Date.parse(settled.get(s)!.startedAt!);
    expect(at('seed') - at('db')).toBeGreaterThanOrEqual(1500);
    expect(at('web') - at('seed')).toBeGreaterThanOrEqual(800);
    expect(settled.get('db')!.health).toBe('healthy');

    // Ports: each service's port with its name and label.
    const ports = await waitFor(
      'both ports in berth ports',
      async () => {
        const r = await server.json<any>(['ports', name]);
        return r.ports.some((p: any) => p.port === 7001) && r.ports.some((p: any) => p.port === 7002) ? r.ports : null;
        // Generous for a VM on a loaded machine: how fast ports appear is a benchmark's job (bench/ports.mjs).
      },
      60_000,
      200,
    );
    expect(ports.find((p: any) => p.port === 7001)).toMatchObject({ service: 'db', label: 'database' });
    expect(ports.find((p: any) => p.port === 7002)).toMatchObject({ service: 'web', label: 'site' });
    const human = await server.cli(['ports', name]);
    expect(human.stdout).toMatch(/7002\s+tcp.*web\s+site/);
    // A port the spec does not declare, opened by a child of a service: that service, by process
    // group, with pids as the workspace sees them (a container's scan reads the node's /proc).
    const side = (await ls()).get('side')!;
    const child = await waitFor(
      'the side listener in berth ports',
      async () => (await server.json<any>(['ports', name])).ports.find((p: any) => p.port === 7003) ?? null,
      60_000,
      200,
    );
    expect(child, JSON.stringify(side)).toMatchObject({ service: 'side' });
    expect(child.process.pid).not.toBe(side.pid);
    expect(child.process.group).toBe(side.pid);

    // Logs.
    const logs = await server.cli(['svc', 'logs', name, 'db']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('db up');
    const tail = await server.cli(['svc', 'logs', name, 'seed', '--tail', '1']);
    expect(tail.stdout.trim().split('\n')).toHaveLength(1);

    // A killed db (restart: always) comes back and turns healthy again; `svc logs -f` follows it.
    // --tail 0: only what comes after the stream connected (db's restart prints "db up" 3 s after the kill).
    const follow = spawn(BIN, ['svc', 'logs', name, 'db', '-f', '--tail', '0'], {
      env: { ...process.env, ...server.env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    let followErr = '';
    follow.stdout.on('data', (d) => (followed += d));
    follow.stderr.on('data', (d) => (followErr += d));
    const pid = settled.get('db')!.pid!;
    expect((await server.cli(['ws', 'exec', name, '--', 'kill', '-9', String(pid)])).code).toBe(0);
    const back = await waitFor(
      'db restarted and healthy',
      async () => {
        const db = (await ls()).get('db')!;
        return db.restarts >= 1 && db.state === 'healthy' && db.pid !== pid ? db : null;
      },
      60_000,
      300,
    );
    expect(back.restarts).toBeGreaterThanOrEqual(1);
    await waitFor(
      `the restart in the followed logs (so far: ${JSON.stringify(followed)} ${followErr})`,
      async () => followed.includes('db up') || followErr,
      15_000,
      100,
    ).finally(() => follow.kill('SIGINT'));
    expect(followErr).toBe('');
    expect(followed).toContain('db up');

    // svc stop: the port goes away; svc start brings it back.
    const stop = await server.cli(['svc', 'stop', name, 'web']);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await ls()).get('web')!.state).toBe('stopped');
    await waitFor('port 7002 gone', async () => !(await server.json<any>(['ports', name])).ports.some((p: any) => p.port === 7002), 15_000, 200);
    expect((await server.cli(['svc', 'start', name, 'web'])).code).toBe(0);
    await waitFor('web healthy again', async () => (await ls()).get('web')!.state === 'healthy', 30_000, 300);

    // A service the spec does not declare is NOT_FOUND, before anything runs in the workspace.
    const unknown = await server.cli(['svc', 'restart', name, 'nosuch']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('(field: service)');
  } finally {
    await server.cli(['ws', 'rm', name]);
  }
  if (provider === 'docker') expect(await dockerLeftovers(id)).toEqual([]);
  if (provider === 'lxc') expect(await lxcContainersOf(id)).toEqual([]);
}

describe('services', () => {
  it('run in order, with health, restarts, ports and logs, on Docker', async () => {
    await servicesScenario('docker', 'base');
  }, 300_000);

  it('keep running through a restart of the server and its agent, which watches them again', async () => {
    const name = uniqueName('svc-adopt');
    const file = join(dir, 'adopt.yaml');
    await writeFile(file, 'services:\n  ticker:\n    command: while true; do echo tick; sleep 1; done\n    restart: always\n');
    const created = await server.cli(['ws', 'create', name, '--spec', file]);
    expect(created.code, created.stderr).toBe(0);
    try {
      const ticker = () => server.json<{ observedAt: string | null; services: Svc[] }>(['svc', 'ls', name]);
      const before = await waitFor(
        'ticker running',
        async () => ((await ticker()).services[0]?.state === 'running' ? (await ticker()).services[0] : null),
        30_000,
        200,
      );
      await server.proc!.stop();
      await server.launch();
      await server.waitNodeOnline();
      // The same process, never restarted, reported again by the new agent's watch.
      const after = await waitFor(
        'the state reported again',
        async () => {
          const r = await ticker();
          return r.observedAt !== null ? r.services[0] : null;
        },
        30_000,
        200,
      );
      expect(after).toMatchObject({ state: 'running', pid: before.pid, restarts: 0 });
      // And the watch follows changes again.
      expect((await server.cli(['svc', 'restart', name, 'ticker'])).code).toBe(0);
      await waitFor(
        'the restart seen',
        async () => {
          const t = (await ticker()).services[0];
          return t.pid !== before.pid && t.state === 'running';
        },
        30_000,
        200,
      );
    } finally {
      await server.cli(['ws', 'rm', name]);
    }
  }, 300_000);

  it('run the same on LXC', async () => {
    await servicesScenario('lxc', 'base');
  }, 600_000);

  it('run the same on QEMU', async () => {
    // The Debian build the QEMU lifecycle test uses (its rootfs is cached), under a name of this test's.
    // Started with --no-wait and polled: the build's event stream is not what this test is about.
    const started = await server.json<any>([
      'image',
      'build',
      VM_IMAGE,
      '--from',
      'debian:bookworm',
      '--packages',
      'linux-image-cloud-amd64,openssh-server',
      '--no-wait',
    ]);
    const op = await waitFor(
      'the VM image build',
      async () => {
        const r = await getJson(`${server.url}/api/v1/operations/${started.operation.id}`, undefined, { authorization: `Bearer ${server.token}` });
        return r.body.status !== 'running' ? r.body : null;
      },
      900_000,
      2000,
    );
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    await servicesScenario('qemu', VM_IMAGE, PERL);
  }, 1_200_000);
});
