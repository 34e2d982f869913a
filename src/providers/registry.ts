/**
 * The providers and image builder of one node, built once by the agent. Every kind berth
 * knows is registered; whether it is usable here is its probe's business, so a node without
 * (say) LXC still reports LXC as unusable with the reason instead of silently omitting it.
 */
import type { Image, OpContext } from '../api/index.js';
import { defaultCacheDir, ImageStore } from '../images/index.js';
import { LxcImageExporter } from '../images/lxc-images.js';
import { QemuImageExporter } from '../images/qemu-disk.js';
import { LocalTransport } from '../transport/index.js';
import { connectDocker, DockerProvider } from './docker/provider.js';
import { LxcProvider } from './lxc/provider.js';
import { QemuProvider } from './qemu/provider.js';
import type { Provider } from './provider.js';

/** Builds and lists base images on this node. */
export interface ImageBuilder {
  build(req: { name: string; from: string; packages: string[] }, op: OpContext): Promise<Omit<Image, 'nodeName'>>;
  list(): Promise<Omit<Image, 'nodeName'>[]>;
}

/** Everything an agent drives on its node. */
export interface NodeBackends {
  providers: Provider[];
  images: ImageBuilder;
}

/** Options for building a node's backends. */
export interface NodeBackendsOptions {
  nodeId: string;
  /** Docker's socket; defaults to DOCKER_HOST's unix path or /var/run/docker.sock. */
  dockerSocket?: string;
  cacheDir?: string;
  /** The agent's state dir: the QEMU provider keeps its VMs' disks, pid files and QMP sockets there. */
  stateDir?: string;
}

/** Builds the providers for this node. */
export function createNodeBackends(opts: NodeBackendsOptions): NodeBackends {
  const docker = connectDocker(opts.dockerSocket);
  const lxcImages = new LxcImageExporter();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const qemuImages = new QemuImageExporter(cacheDir);
  // BERTH_IMAGE_PULL=off keeps the node from ever asking a registry (air-gapped nodes, tests):
  // only images already in its engine can then be used.
  const pull = process.env.BERTH_IMAGE_PULL !== 'off';
  const images = new ImageStore({ docker, cacheDir, pull, exporters: [lxcImages, qemuImages] });
  const dockerProvider = new DockerProvider({
    nodeId: opts.nodeId,
    socketPath: opts.dockerSocket,
    resolveImage: (image, op) => images.resolveDocker(image, op),
    findImage: (image) => images.findDocker(image),
  });
  const lxcProvider = new LxcProvider({
    nodeId: opts.nodeId,
    transport: new LocalTransport(),
    resolveImage: (image) => lxcImages.resolve(image),
  });
  const qemuProvider = new QemuProvider({ nodeId: opts.nodeId, stateDir: opts.stateDir ?? defaultStateDir(), imageCacheDir: cacheDir });
  return { providers: [dockerProvider, lxcProvider, qemuProvider], images };
}

/** Where VMs live when the caller names no state dir (tests and tools; the agent always names its own). */
function defaultStateDir(): string {
  return process.env.BERTH_STATE_DIR || (process.getuid?.() === 0 ? '/var/lib/berth-agent' : `${process.env.HOME ?? '/tmp'}/.local/share/berth-agent`);
}
