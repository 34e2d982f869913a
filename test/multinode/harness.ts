/**
 * Several "machines" on this one host, for fleet tests (docs/fleet.md, "Test harness"):
 *
 * - a bridge of the run's own (in a switch namespace) and one network namespace per machine
 *   (netns.ts), addresses only from 10.77.<run>.0/24; this host has .254 on a veth into the
 *   switch, so this host (and the CLI run here) reaches every machine and the server;
 * - the berth server in a namespace of its own, listening on its namespace address;
 * - per machine, a real sshd on port 22 of its address, started inside a private mount and
 *   UTS namespace where tmpfs covers /opt/berth and /var/lib/berth-agent and the host name is
 *   the machine's: whatever is started through that sshd (the agent `berth node add`
 *   installs, its supervisor) sees the machine's own files, and another machine's are not there.
 *
 * What is shared: the Docker engine (through /var/run/docker.sock) and LXC. berth labels every
 * object it makes with its node's id (`berth.node`), and an agent only ever adopts or reports
 * objects of its own node, so machines do not see each other's workspaces. LXC is in practice
 * unusable inside a namespace (there is no lxcbr0 there); the agent's probe says so and the
 * node reports LXC unusable with that reason.
 *
 * Teardown kills every process in the run's namespaces, deletes them, the bridge, and the
 * temporary directories; a run killed before its teardown is cleaned up when the next starts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintOfPem } from '../../src/client/tls-pin.js';
import { keygen, SFTP_SERVER, SSHD, sshdConfig, waitForBanner } from '../../src/testing/sshd.js';
import { BIN, type CliResult, docker, getJson, Proc, runCli, runProgram, waitFor } from '../e2e/harness.js';
import { allocateRun, cleanStaleRuns, createNamespace, createSwitch, must, type RunRecord, requireHostTools, teardownRun, writeRecord } from './netns.js';

/** Where each machine keeps berth's files; covered by its own tmpfs. */
export const MACHINE_PRIVATE_DIRS = ['/opt/berth', '/var/lib/berth-agent'];

/** One machine to make. */
export interface MachineSpec {
  /** Short name, [a-z0-9]{1,6}; the machine's host name becomes `<name>-<run>`. */
  name: string;
  /** No `node` on this machine's PATH (every node binary on sshd's PATH is covered up in its mount namespace). */
  withoutNode?: boolean;
}

/** One machine: its namespace, address, sshd and the knobs on its link. */
export class Machine {
  constructor(
    readonly name: string,
    readonly hostname: string,
    readonly ns: string,
    readonly address: string,
    /** The switch namespace, where the bridge and the machine's link are. */
    readonly netNs: string,
    /** The veth end on the bridge (in netNs). */
    readonly link: string,
    readonly sshd: ChildProcess,
    readonly hostFingerprint: string,
  ) {}

  /** `ssh://root@ADDRESS`, what `berth node add` takes. */
  get target(): string {
    return `ssh://root@${this.address}`;
  }

  /** Runs a shell command as this machine sees the world: its network, host name and private dirs. */
  run(script: string, timeoutMs = 60_000): Promise<CliResult> {
    return runProgram('nsenter', ['-t', String(this.sshd.pid), '-m', '-u', '-n', '--', 'sh', '-c', script], { timeoutMs });
  }

  /** Takes the machine's link down: the machine is cut off from the server and everyone else. */
  linkDown(): void {
    must('ip', ['-n', this.netNs, 'link', 'set', this.link, 'down']);
  }

  /** Brings the link back up. */
  linkUp(): void {
    must('ip', ['-n', this.netNs, 'link', 'set', this.link, 'up']);
  }

  /**
   * Adds netem on the link in both directions, e.g. `['delay', '20ms']`. Fails with the reason
   * when the kernel has no netem (CONFIG_NET_SCH_NETEM), as on some VM kernels; for loss alone,
   * dropPackets works everywhere.
   */
  netem(args: string[]): void {
    const r = spawnSync('ip', ['netns', 'exec', this.netNs, 'tc', 'qdisc', 'replace', 'dev', this.link, 'root', 'netem', ...args], { encoding: 'utf8' });
    if (r.status !== 0) {
      const why = /unknown/i.test(r.stderr)
        ? 'this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set); run on a kernel with sch_netem'
        : r.stderr.trim();
      throw new Error(`tc netem on ${this.name}'s link failed: ${why}`);
    }
    must('ip', ['netns', 'exec', this.ns, 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', ...args]);
  }

  /** Removes netem from the link. */
  clearNetem(): void {
    spawnSync('ip', ['netns', 'exec', this.netNs, 'tc', 'qdisc', 'del', 'dev', this.link, 'root']);
    spawnSync('ip', ['netns', 'exec', this.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
  }

  /**
   * Drops this fraction (0-1] of the packets going to and from the machine, chosen at random:
   * iptables' statistic match on the bridge port, in the switch namespace's own tables (the
   * host's firewall is not touched). Works where netem is missing.
   */
  dropPackets(probability: number): void {
    this.clearDrops();
    for (const dir of ['--physdev-in', '--physdev-out']) {
      must('ip', [
        'netns',
        'exec',
        this.netNs,
        'iptables',
        '-A',
        'FORWARD',
        '-m',
        'physdev',
        dir,
        this.link,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        String(probability),
        '-m',
        'comment',
        '--comment',
        `berth-drop-${this.name}`,
        '-j',
        'DROP',
      ]);
    }
  }

  /** Stops dropping packets. */
  clearDrops(): void {
    const rules = spawnSync('ip', ['netns', 'exec', this.netNs, 'iptables', '-S', 'FORWARD'], { encoding: 'utf8' }).stdout.split('\n');
    for (const rule of rules.filter((r) => r.includes(`berth-drop-${this.name} `) || r.endsWith(`berth-drop-${this.name}`))) {
      must('sh', ['-c', `ip netns exec ${this.netNs} iptables ${rule.replace(/^-A /, '-D ')}`]);
    }
  }
}

/**
 * The berth server in its own namespace, and the CLI (on this host) pointed at it as admin.
 * On its namespace address (not loopback) it serves HTTPS with its own CA, as in production;
 * the CLI trusts exactly that CA (BERTH_CA_FILE).
 */
export class NsServer {
  token = '';
  /** The server's CA (PEM) as written to its data dir, and its `sha256:` fingerprint. */
  caPem = '';
  caFingerprint = '';
  constructor(
    /** The running server process; replaced by restart(). */
    public proc: Proc,
    readonly url: string,
    readonly dataDir: string,
    /** Starts the server process again on the same data dir and waits for its health. */
    private readonly relaunch: () => Promise<Proc>,
  ) {}

  /** Kills the server (SIGKILL by default: a crash) and starts it again on the same data dir. */
  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc.stop(signal);
    this.proc = await this.relaunch();
  }

  /** The server's own CA (it serves TLS on its namespace address, as on any non-loopback one). */
  get caFile(): string {
    return join(this.dataDir, 'tls', 'ca.pem');
  }

  /** Environment that points the CLI at this server as admin, pinning its CA. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { BERTH_SERVER: this.url, BERTH_TOKEN: this.token, BERTH_CA_FILE: this.caFile, BERTH_CONFIG: join(this.dataDir, 'cli-config.json'), ...extra };
  }

  /** Runs the CLI on this host against the server. */
  cli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
    return runCli(args, { ...opts, env: this.env(opts.env) });
  }

  /** Runs the CLI with --json and parses stdout; throws with the output when it fails. */
  async json<T = any>(args: string[]): Promise<T> {
    const r = await this.cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  /** The node of that name as `node ls` shows it, or undefined. */
  async node(name: string): Promise<any> {
    return (await this.json<{ nodes: any[] }>(['node', 'ls'])).nodes.find((n) => n.name === name);
  }

  /** Waits until the node of that name is online. */
  waitNodeOnline(name: string, timeoutMs = 30_000): Promise<any> {
    return waitFor(
      `node ${name} online`,
      async () => {
        const n = await this.node(name);
        return n?.status === 'online' ? n : undefined;
      },
      timeoutMs,
    );
  }
}

/** A run: the bridge, the server, the machines, and the client key every machine lets in. */
export class MultiNodeWorld {
  private constructor(
    readonly runId: string,
    readonly subnet: string,
    readonly record: RunRecord,
    readonly dir: string,
    readonly server: NsServer,
    readonly machines: Machine[],
    /** The private key whose public half every machine's root accepts. */
    readonly identity: string,
  ) {}

  /** The machine of that name. */
  machine(name: string): Machine {
    const m = this.machines.find((x) => x.name === name);
    if (!m) throw new Error(`no machine ${name} in this run`);
    return m;
  }

  /** Makes the bridge, the server namespace and one namespace with an sshd per machine. */
  static async create(
    specs: MachineSpec[],
    opts: {
      serverEnv?: Record<string, string> /** More `berth server` arguments, after the harness's own. */;
      serverArgs?: string[] /** Run the SSH gateway on port 2222 of the server's address (default: off). */;
      sshGateway?: boolean;
    } = {},
  ): Promise<MultiNodeWorld> {
    requireHostTools();
    for (const [path, pkg] of [
      [SSHD, 'openssh-server'],
      [SFTP_SERVER, 'openssh-server'],
    ]) {
      if (spawnSync('test', ['-x', path!]).status !== 0)
        throw new Error(`${path} is missing; the multi-node harness runs a real sshd per machine: apt-get install -y ${pkg}`);
    }
    // sshd insists on its privilege separation directory even when run by hand.
    must('mkdir', ['-p', '-m', '755', '/run/sshd']);
    const stale = cleanStaleRuns();
    if (stale.length) console.log(`multinode: cleaned up after killed runs ${stale.join(', ')}`);
    const { runId, subnet } = allocateRun();
    const bridge = `bt${runId}`;
    const nsName = (n: string) => `berth-${runId}-${n}`;
    const netNs = nsName('net');
    const record: RunRecord = {
      runId,
      ownerPid: process.pid,
      hostLink: `bt${runId}h`,
      namespaces: [netNs, nsName('srv'), ...specs.map((s) => nsName(s.name))],
      pids: [],
    };
    // Recorded before anything exists, so a crash halfway is cleaned up too.
    writeRecord(record);
    const dir = await mkdtemp(join(tmpdir(), `berth-multinode-${runId}-`));
    try {
      createSwitch(netNs, bridge, record.hostLink, subnet);
      const serverAddress = `${subnet}.1`;
      createNamespace(nsName('srv'), netNs, bridge, `bt${runId}s`, serverAddress);
      const server = await startServer(nsName('srv'), serverAddress, join(dir, 'server'), opts.serverEnv ?? {}, [
        ...(opts.sshGateway ? ['--ssh-listen', `${serverAddress}:2222`] : []),
        ...(opts.serverArgs ?? []),
      ]);
      record.pids.push(server.proc.child.pid!);
      writeRecord(record);
      keygen(join(dir, 'id_ed25519'));
      const machines: Machine[] = [];
      for (const [i, spec] of specs.entries()) {
        if (!/^[a-z0-9]{1,6}$/.test(spec.name)) throw new Error(`machine name ${spec.name} must be 1-6 lowercase letters or digits`);
        const address = `${subnet}.${10 + i}`;
        const link = createNamespace(nsName(spec.name), netNs, bridge, `bt${runId}${i}`, address);
        machines.push(await startMachine(spec, `${spec.name}-${runId}`, nsName(spec.name), address, netNs, link, join(dir, spec.name)));
      }
      return new MultiNodeWorld(runId, subnet, record, dir, server, machines, join(dir, 'id_ed25519'));
    } catch (err) {
      teardownRun(record);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `berth node add` for a machine with the run's identity; returns the CLI result and the time it took. */
  async nodeAdd(m: Machine, args: string[] = [], opts: { env?: Record<string, string> } = {}): Promise<CliResult & { seconds: number }> {
    const started = Date.now();
    const r = await this.server.cli(['node', 'add', m.target, '--identity', this.identity, ...args], { ...opts, timeoutMs: 180_000 });
    return { ...r, seconds: (Date.now() - started) / 1000 };
  }

  /**
   * Removes every workspace through berth (so nothing stays in the shared Docker engine),
   * then everything the run made. Safe to call after a failed create or twice.
   */
  async destroy(): Promise<void> {
    const server = this.server;
    if (server.proc.child.exitCode === null) {
      const list = await server.cli(['ws', 'ls', '--json']).catch(() => null);
      const names: string[] = list && list.code === 0 ? JSON.parse(list.stdout).workspaces.map((w: { name: string }) => w.name) : [];
      for (const name of names) {
        const r = await server.cli(['ws', 'rm', name]);
        if (r.code !== 0) console.error(`multinode cleanup: berth ws rm ${name} failed: ${r.stderr}`);
      }
      const nodes: Array<{ id: string }> = await server.json<{ nodes: Array<{ id: string }> }>(['node', 'ls']).then(
        (r) => r.nodes,
        () => [],
      );
      await server.proc.stop();
      // Whatever a failed rm left in the shared engine goes by its node label.
      for (const n of nodes) await removeDockerObjectsOf(n.id);
    }
    teardownRun(this.record);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Containers and volumes labelled for a node (berth.node), removed from the shared engine. */
export async function removeDockerObjectsOf(nodeId: string): Promise<void> {
  const filters = { label: [`berth.node=${nodeId}`] };
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
}

/**
 * Starts `berth server` inside `ns`, listening on its address (so serving HTTPS with the CA it
 * makes), and waits until it answers this host over TLS verified against that CA.
 */
async function startServer(ns: string, address: string, dataDir: string, env: Record<string, string>, args: string[]): Promise<NsServer> {
  await rm(dataDir, { recursive: true, force: true });
  // A non-loopback listen serves HTTPS with the server's own CA, made on this first start.
  const url = `https://${address}:7080`;
  let server: NsServer | null = null;
  const launch = async (): Promise<Proc> => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, BIN, 'server', '--listen', `${address}:7080`, '--data-dir', dataDir, '--ssh-listen', 'off', ...args],
      {
        // Short liveness bounds so tests see a dead node quickly; a test can pass the defaults back.
        env: { ...process.env, BERTH_HEARTBEAT_MS: '1000', BERTH_NODE_TTL_MS: '3000', BERTH_NODE_GRACE_MS: '2000', BERTH_LOG_LEVEL: 'debug', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const proc = new Proc(child);
    const caFile = join(dataDir, 'tls', 'ca.pem');
    await waitFor(`server health at ${url}`, async () => {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${proc.output}`);
      const ca = await readFile(caFile, 'utf8').catch(() => undefined);
      if (ca === undefined || (await getJson(`${url}/api/v1/health`, ca)).status !== 200) return false;
      if (server) server.caPem = ca;
      return true;
    });
    return proc;
  };
  server = new NsServer(await launch(), url, dataDir, launch);
  server.caPem = await readFile(server.caFile, 'utf8');
  server.caFingerprint = fingerprintOfPem(server.caPem);
  server.token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return server;
}

/** Every `node` on the PATH sshd gives sessions (its compiled-in default). */
function nodeBinaries(): string[] {
  return ['/usr/local/bin/node', '/usr/bin/node', '/bin/node'].filter((p) => spawnSync('test', ['-x', p]).status === 0);
}

/**
 * Starts the machine's sshd in its namespace, inside a private mount and UTS namespace: tmpfs
 * over berth's dirs, the machine's host name, and (withoutNode) /dev/null over each node
 * binary, which no shell then finds as a program.
 */
async function startMachine(spec: MachineSpec, hostname: string, ns: string, address: string, netNs: string, link: string, dir: string): Promise<Machine> {
  await rm(dir, { recursive: true, force: true });
  must('mkdir', ['-p', '-m', '755', dir]);
  keygen(join(dir, 'host_ed25519'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, '..', 'id_ed25519.pub')), { mode: 0o644 });
  const config = join(dir, 'sshd_config');
  await writeFile(config, sshdConfig(dir, 22, {}, address).join('\n') + '\n');
  const fingerprint = must('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')]).split(' ')[1]!;
  const setup = [
    ...MACHINE_PRIVATE_DIRS.map((d) => `mkdir -p ${d} && mount -t tmpfs -o mode=0755,size=512m berth-machine ${d}`),
    ...(spec.withoutNode ? nodeBinaries().map((b) => `mount --bind /dev/null ${b}`) : []),
    `hostname ${hostname}`,
    `exec ${SSHD} -D -e -f ${config}`,
  ].join(' && ');
  const logPath = join(dir, 'sshd.log');
  const logFd = openSync(logPath, 'a');
  // ip netns exec, unshare (without --fork) and sh's exec all replace themselves: the child is sshd.
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', setup], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  await waitForBanner(22, child, logPath, address);
  return new Machine(spec.name, hostname, ns, address, netNs, link, child, fingerprint);
}
