// The chroot provider: each workspace is a busybox root filesystem in a folder of the plugin's
// state dir, run as a plain process tree in its own PID, network (loopback only) and mount
// namespaces, with cgroup CPU and memory limits. The node runs it as root; a chroot is not a
// security boundary against root inside, so this is an example and a fast sandbox for trusted
// work, not a multi-tenant isolation layer.
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, checkHandle, connectInNetns, hostPortSource, LocalTransport } from 'berth/plugin';
import {
  BUSYBOX,
  busyboxUsable,
  cgroupDirs,
  cgroupProblem,
  HOST_ENV,
  IMAGE,
  INNER_SCRIPT,
  LAUNCH_SCRIPT,
  livePid,
  makeCgroups,
  makeRootfs,
  removeCgroups,
} from './host.mjs';
import { execOnPty } from './tty.mjs';

const KIND = 'chroot';
const HANDLE_VERSION = 1;
const TOOLS = ['unshare', 'nsenter', 'chroot', 'script', 'stty', 'ip', 'setsid', 'mount'];

/** Workspaces as processes in a busybox chroot. */
export class ChrootProvider {
  kind = KIND;
  capabilities = { snapshots: false, pause: false, console: false, gpu: false };

  /** @param {{ nodeId: string, stateDir: string, transport?: import('berth/plugin').Transport }} opts */
  constructor(opts) {
    this.nodeId = opts.nodeId;
    this.root = join(opts.stateDir, 'workspaces');
    this.host = opts.transport ?? new LocalTransport();
  }

  async probe() {
    const details = { stateDir: this.root, busybox: BUSYBOX };
    const no = (reason) => ({ kind: KIND, usable: false, reason, details });
    if (process.getuid?.() !== 0) return no('The chroot provider needs the agent to run as root (it makes namespaces, mounts and cgroups).');
    const missing = [];
    for (const t of TOOLS) if ((await this.host.run({ cmd: ['sh', '-c', `command -v ${t}`], env: HOST_ENV, timeoutMs: 5000 })).code !== 0) missing.push(t);
    if (missing.length) return no(`The chroot provider needs ${missing.join(', ')} on this node: install util-linux and iproute2.`);
    if (!(await busyboxUsable())) return no(`The chroot provider makes its rootfs from ${BUSYBOX}, which is missing: install busybox-static.`);
    const cg = await cgroupProblem();
    if (cg) return no(`The chroot provider cannot set limits here: ${cg}.`);
    return { kind: KIND, usable: true, details };
  }

  async findImage(image) {
    if (image !== IMAGE)
      throw new BerthError(
        'NOT_FOUND',
        `The chroot provider runs only the image "${IMAGE}" (a busybox root filesystem), not "${image}"; pass --image ${IMAGE}.`,
        { field: 'image' },
      );
    return BUSYBOX;
  }

  async create(spec, op) {
    const dir = this.dirOf(spec.id);
    await this.findImage(spec.image);
    op.signal.throwIfAborted();
    op.progress('making the root filesystem', 0.1);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      throw new BerthError('ALREADY_EXISTS', `A chroot workspace with id ${spec.id} already exists on this node.`, { field: 'name', cause: err });
    }
    try {
      const meta = {
        workspaceId: spec.id,
        name: spec.name,
        nodeId: this.nodeId,
        env: spec.env ?? {},
        cpus: spec.cpus ?? null,
        memoryBytes: spec.memoryBytes ?? null,
      };
      await writeFile(join(dir, 'workspace.json'), JSON.stringify(meta, null, 2), { mode: 0o600 });
      await makeRootfs(this.host, join(dir, 'rootfs'));
      op.signal.throwIfAborted();
    } catch (err) {
      // Nothing half-made stays behind.
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    op.progress('made', 1);
    return { workspaceId: spec.id, kind: KIND, version: HANDLE_VERSION, driverState: {} };
  }

  async start(h, op) {
    const { dir, meta } = await this.open(h);
    if (await this.pid(h)) return;
    op.progress('starting', 0.2);
    const cg = await makeCgroups(h.workspaceId, meta.cpus, meta.memoryBytes);
    const pidFile = join(dir, 'init.pid');
    await rm(pidFile, { force: true });
    const r = await this.host.run({
      cmd: ['setsid', '-f', 'sh', '-c', LAUNCH_SCRIPT, 'sh', join(dir, 'rootfs'), cg.cpu, cg.memory, pidFile, INNER_SCRIPT],
      env: HOST_ENV,
      timeoutMs: 10_000,
    });
    if (r.code !== 0) throw new BerthError('INTERNAL', `Could not start chroot workspace ${meta.name}: ${r.stderr.trim().slice(0, 300)}`);
    for (let i = 0; i < 200; i++) {
      if (await this.pid(h)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    await removeCgroups(h.workspaceId).catch(() => {});
    throw new BerthError('INTERNAL', `Chroot workspace ${meta.name} did not come up within 10 s; see the agent's log.`);
  }

  async stop(h, opts) {
    await this.open(h);
    const pid = await this.pid(h);
    if (pid) {
      // The init leaves on SIGTERM, and the kernel then ends every process in its PID namespace.
      this.signal(pid, opts.force ? 'SIGKILL' : 'SIGTERM');
      if (!(await this.gone(h, opts.force ? 5000 : Math.max(opts.timeoutMs, 100)))) {
        this.signal(pid, 'SIGKILL');
        await this.gone(h, 5000);
      }
    }
    await rm(join(this.dirOf(h.workspaceId), 'init.pid'), { force: true });
    await removeCgroups(h.workspaceId);
  }

  async destroy(h, op) {
    checkHandle(h, KIND, HANDLE_VERSION);
    const dir = this.dirOf(h.workspaceId);
    if (await this.exists(dir)) await this.stop(h, { timeoutMs: 0, force: true }, op);
    await removeCgroups(h.workspaceId);
    await rm(dir, { recursive: true, force: true });
  }

  async inspect(h) {
    checkHandle(h, KIND, HANDLE_VERSION);
    if (!(await this.exists(join(this.dirOf(h.workspaceId), 'workspace.json')))) return 'missing';
    return (await this.pid(h)) ? 'running' : 'stopped';
  }

  /** Nothing to re-adopt: the init runs detached from the agent and is found by its pid file. */
  recover(h) {
    return this.inspect(h);
  }

  async exec(h, req) {
    const { meta } = await this.open(h);
    const pid = await this.pid(h);
    if (!pid) throw new BerthError('FAILED_PRECONDITION', `Workspace ${meta.name} is not running; start it and retry.`, { field: 'name' });
    const cg = cgroupDirs(h.workspaceId);
    const env = { HOME: '/root', PATH: '/bin:/sbin:/usr/bin:/usr/sbin', ...(req.tty ? { TERM: 'xterm' } : {}), ...meta.env, ...req.env };
    // Joins the workspace's cgroups on the node, then its namespaces and root; inside, a clean environment and the cwd.
    const argv = [
      'sh',
      '-c',
      'echo $$ > "$1/cgroup.procs" && echo $$ > "$2/cgroup.procs" && shift 2 && exec "$@"',
      'sh',
      cg.cpu,
      cg.memory,
      'nsenter',
      '-t',
      String(pid),
      '-p',
      '-n',
      '-m',
      '-r',
      '-w',
      '--',
      '/bin/env',
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      '/bin/sh',
      '-c',
      'cd "$1" || exit 1; shift; exec "$@"',
      'sh',
      req.cwd ?? '/root',
      ...req.cmd,
    ];
    if (req.tty) return execOnPty(this.host, argv, req.cols ?? 80, req.rows ?? 24);
    return this.host.exec({ cmd: argv, env: { ...HOST_ENV } });
  }

  async connect(h, port) {
    const { meta } = await this.open(h);
    return connectInNetns(this.host, { pid: (await this.pid(h)) ?? 0, workspace: meta.name }, port);
  }

  async portSource(h) {
    const { meta } = await this.open(h);
    const pid = await this.pid(h);
    if (!pid) throw new BerthError('FAILED_PRECONDITION', `Workspace ${meta.name} is not running; start it and retry.`, { field: 'name' });
    return hostPortSource(this.host, pid);
  }

  async list() {
    const ids = await readdir(this.root).catch(() => []);
    const out = [];
    for (const id of ids) {
      const meta = await readFile(join(this.root, id, 'workspace.json'), 'utf8').then(JSON.parse, () => null);
      if (meta?.nodeId === this.nodeId && meta.workspaceId === id) out.push({ workspaceId: id, kind: KIND, version: HANDLE_VERSION, driverState: {} });
    }
    return out;
  }

  /** The workspace's folder; the id is checked, as handles come back from disk. */
  dirOf(workspaceId) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(workspaceId))
      throw new BerthError('INVALID_ARGUMENT', `Workspace id ${JSON.stringify(String(workspaceId).slice(0, 64))} is not a berth id.`, { field: 'id' });
    return join(this.root, workspaceId);
  }

  /** The workspace's folder and metadata; NOT_FOUND when it is gone. */
  async open(h) {
    checkHandle(h, KIND, HANDLE_VERSION);
    const dir = this.dirOf(h.workspaceId);
    const meta = await readFile(join(dir, 'workspace.json'), 'utf8').then(JSON.parse, () => null);
    if (!meta) throw new BerthError('NOT_FOUND', `Chroot workspace ${h.workspaceId} does not exist on this node.`, { field: 'name' });
    return { dir, meta };
  }

  /** The init's PID while it runs. */
  pid(h) {
    const dir = this.dirOf(h.workspaceId);
    return livePid(join(dir, 'init.pid'), join(dir, 'rootfs'));
  }

  /** Waits up to `ms` for the init to be gone. */
  async gone(h, ms) {
    const until = Date.now() + ms;
    do {
      if (!(await this.pid(h))) return true;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < until);
    return false;
  }

  signal(pid, sig) {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }

  exists(path) {
    return stat(path).then(
      () => true,
      () => false,
    );
  }
}
