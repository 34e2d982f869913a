/**
 * The providers and image builder of one node, built once by the agent. Every kind berth
 * knows is registered; whether it is usable here is its probe's business, so a node without
 * (say) LXC still reports LXC as unusable with the reason instead of silently omitting it.
 */
import type { Image } from '../api/index.js';
import { ImageStore } from '../images/index.js';
import { LxcImageExporter } from '../images/lxc-images.js';
import { LocalTransport } from '../transport/index.js';
import { connectDocker, DockerProvider } from './docker/provider.js';
import { LxcProvider } from './lxc/provider.js';
import type { OpContext, Provider } from './provider.js';

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
}

/** Builds the providers for this node. */
export function createNodeBackends(opts: NodeBackendsOptions): NodeBackends {
  const docker = connectDocker(opts.dockerSocket);
  const lxcImages = new LxcImageExporter();
  const images = new ImageStore({ docker, cacheDir: opts.cacheDir, exporters: [lxcImages] });
  const dockerProvider = new DockerProvider({
    nodeId: opts.nodeId,
    socketPath: opts.dockerSocket,
    resolveImage: (image, op) => images.resolveDocker(image, op),
  });
  const lxcProvider = new LxcProvider({
    nodeId: opts.nodeId,
    transport: new LocalTransport(),
    resolveImage: (image) => lxcImages.resolve(image),
  });
  return { providers: [dockerProvider, lxcProvider], images };
}
