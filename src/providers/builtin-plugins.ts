/**
 * The three built-in providers as plugin definitions: the agent builds them through
 * instantiatePlugin exactly as it builds a plugin from outside. They share the node's image
 * store and Docker connection, which the registry makes once and hands in here.
 */
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import type { ImageStore } from '../images/index.js';
import type { LxcImageExporter } from '../images/lxc-images.js';
import { LocalTransport } from '../transport/index.js';
import { DockerProvider } from './docker/provider.js';
import { LxcProvider } from './lxc/provider.js';
import { definePlugin, PLUGIN_API_VERSION, type ProviderPlugin } from './plugin-api.js';
import { QemuProvider } from './qemu/provider.js';

/** What the built-ins share on one node. */
export interface BuiltinShared {
  docker: Dockerode;
  dockerSocket?: string;
  images: ImageStore;
  lxcImages: LxcImageExporter;
  /** The agent's state dir (the QEMU provider keeps its VMs under it, as before plugins). */
  agentStateDir: string;
}

/** The built-in providers' plugin definitions, in the order nodes report them. */
export function builtinPlugins(shared: BuiltinShared): ProviderPlugin[] {
  return [
    definePlugin({
      apiVersion: PLUGIN_API_VERSION,
      kind: 'docker',
      create: (ctx) =>
        new DockerProvider({
          nodeId: ctx.nodeId,
          socketPath: shared.dockerSocket,
          resolveImage: (image, op) => shared.images.resolveDocker(image, op),
          findImage: (image) => shared.images.findDocker(image),
          // The berth-in that workspaces mount must outlive rebuilds of the agent's own files.
          berthInDir: join(ctx.stateDir, 'berth-in'),
        }),
    }),
    definePlugin({
      apiVersion: PLUGIN_API_VERSION,
      kind: 'lxc',
      create: (ctx) => new LxcProvider({ nodeId: ctx.nodeId, transport: new LocalTransport(), resolveImage: (image) => shared.lxcImages.resolve(image) }),
    }),
    definePlugin({
      apiVersion: PLUGIN_API_VERSION,
      kind: 'qemu',
      create: (ctx) => new QemuProvider({ nodeId: ctx.nodeId, stateDir: shared.agentStateDir, imageCacheDir: ctx.cacheDir }),
    }),
  ];
}
