/**
 * The providers and image builder of one node, built once by the agent. Every built-in kind
 * is registered, through the same plugin API as the plugins the agent was told to load;
 * whether it is usable here is its probe's business, so a node without (say) LXC still
 * reports LXC as unusable with the reason instead of silently omitting it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Image, type OpContext, type ProviderKind, pluginKindSchema } from '../api/index.js';
import { defaultCacheDir, ImageStore } from '../images/index.js';
import { LxcImageExporter } from '../images/lxc-images.js';
import { QemuImageExporter } from '../images/qemu-disk.js';
import { builtinPlugins } from './builtin-plugins.js';
import { connectDocker } from './docker/provider.js';
import { instantiatePlugin, type PluginContext, type PluginLog, type ProviderPlugin, unusableProvider } from './plugin-api.js';
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
  // --- provider plugins (docs/plugins.md) ---
  /** Plugins from outside berth, already imported by the agent (or failed to import). */
  plugins?: LoadedPlugin[];
  /** Where the agent's log goes; plugins log there too. */
  log?: PluginLog;
  // --- end provider plugins ---
}

/** A plugin module the agent tried to import: its definition, or why the import failed. */
export interface LoadedPlugin {
  /** The path or package name it was named by. */
  source: string;
  /** The kind to report it under when its definition cannot say (the import failed). */
  fallbackKind: ProviderKind;
  definition?: unknown;
  /** Why it could not be imported. */
  error?: string;
}

/** Builds the providers for this node: the built-ins, then each plugin, all through the plugin API. */
export async function createNodeBackends(opts: NodeBackendsOptions): Promise<NodeBackends> {
  const docker = connectDocker(opts.dockerSocket);
  const lxcImages = new LxcImageExporter();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const qemuImages = new QemuImageExporter(cacheDir);
  // BERTH_IMAGE_PULL=off keeps the node from ever asking a registry (air-gapped nodes, tests):
  // only images already in its engine can then be used.
  const pull = process.env.BERTH_IMAGE_PULL !== 'off';
  const images = new ImageStore({ docker, cacheDir, pull, exporters: [lxcImages, qemuImages] });
  const stateDir = opts.stateDir ?? defaultStateDir();
  const log = opts.log ?? { info: () => {}, warn: () => {} };
  const ctx = (kind: string) => ({ nodeId: opts.nodeId, stateDir: join(stateDir, 'providers', kind), cacheDir, log });
  const providers: Provider[] = [];
  for (const def of builtinPlugins({ docker, dockerSocket: opts.dockerSocket, images, lxcImages, agentStateDir: stateDir })) {
    providers.push(await instantiatePlugin(def, ctx(def.kind), def.kind));
  }
  for (const p of opts.plugins ?? []) {
    const provider = await buildPlugin(p, ctx, log);
    if (providers.some((x) => x.kind === provider.kind)) {
      log.warn({ plugin: p.source, kind: provider.kind }, `plugin ${p.source} adds provider kind ${provider.kind}, which this node already has; it is ignored`);
      continue;
    }
    providers.push(provider);
  }
  return { providers, images };
}

/** One outside plugin's provider (an unusable one when it failed to import or to start). */
async function buildPlugin(p: LoadedPlugin, ctx: (kind: string) => PluginContext, log: PluginLog): Promise<Provider> {
  if (p.error !== undefined) return unusableProvider(p.fallbackKind, `The plugin ${p.source} failed to load: ${p.error}.`, { source: p.source });
  const def = p.definition as Partial<ProviderPlugin> | undefined;
  const kind = pluginKindSchema.safeParse(def?.kind).success ? (def!.kind as string) : p.fallbackKind;
  const dir = ctx(kind);
  // The plugin's own state dir exists before its create() runs.
  await mkdir(dir.stateDir, { recursive: true, mode: 0o700 }).catch(() => {});
  const provider = await instantiatePlugin(def, dir, kind, { source: p.source });
  const info = await provider.probe();
  log.info({ plugin: p.source, kind: provider.kind, usable: info.usable, reason: info.reason }, `loaded provider plugin ${p.source}`);
  return provider;
}

/** Where VMs live when the caller names no state dir (tests and tools; the agent always names its own). */
function defaultStateDir(): string {
  return process.env.BERTH_STATE_DIR || (process.getuid?.() === 0 ? '/var/lib/berth-agent' : `${process.env.HOME ?? '/tmp'}/.local/share/berth-agent`);
}
