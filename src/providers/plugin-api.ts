/**
 * The provider plugin contract: how a provider, built in or not, is described and built. The
 * agent builds every provider through instantiatePlugin, so a plugin is held to exactly what
 * the built-ins are. A definition whose API version, kind or factory is wrong, or whose factory
 * throws, becomes an unusable provider that says why: nothing a plugin does crashes the agent.
 */
import { BerthError, type ProviderInfo, type ProviderKind, pluginKindSchema } from '../api/index.js';
import type { Provider } from './provider.js';

/**
 * The plugin API's major version. It changes only when the Provider interface or the plugin
 * context changes in a way an existing plugin would break on; additions keep it.
 */
export const PLUGIN_API_VERSION = 1;

/** What the agent hands a plugin's factory. */
export interface PluginContext {
  /** This node's id: a provider labels what it makes with it, and lists only its own. */
  readonly nodeId: string;
  /** A directory of this provider's own (created by the agent) for its state: handles, disks, rootfs. */
  readonly stateDir: string;
  /** The node's image cache directory, shared by every provider. */
  readonly cacheDir: string;
  /** Log lines for the agent's log (one object of facts, then a message). */
  readonly log: PluginLog;
}

/** The agent's logger, as a plugin sees it. */
export interface PluginLog {
  info(facts: Record<string, unknown>, message: string): void;
  warn(facts: Record<string, unknown>, message: string): void;
}

/** A provider plugin: the default export of a plugin module (see docs/plugins.md). */
export interface ProviderPlugin {
  /** The PLUGIN_API_VERSION the plugin was written against. */
  readonly apiVersion: number;
  /** The provider kind it adds: `docker`, `lxc`, `qemu` for the built-ins, else 2-32 of a-z, 0-9 and `-`. */
  readonly kind: ProviderKind;
  /** Builds the provider for this node; may throw, which makes the provider unusable with the reason. */
  create(ctx: PluginContext): Provider | Promise<Provider>;
}

/** Declares a provider plugin; typed identity, so a plugin's mistakes show in its editor. */
export function definePlugin(plugin: ProviderPlugin): ProviderPlugin {
  return plugin;
}

/** Where a plugin came from, for reasons and `node show`. */
export interface PluginOrigin {
  /** The path or package name it was loaded from; absent for built-ins. */
  source?: string;
}

/** Checks a definition's shape and API version; the reason it cannot be used, or null. */
export function pluginProblem(def: unknown): string | null {
  if (typeof def !== 'object' || def === null) return 'its module does not export a plugin (export default definePlugin({ apiVersion, kind, create }))';
  const d = def as Partial<ProviderPlugin>;
  if (typeof d.apiVersion !== 'number') return 'it declares no apiVersion; set apiVersion: PLUGIN_API_VERSION from berth/plugin';
  if (d.apiVersion !== PLUGIN_API_VERSION) {
    return `it was written for plugin API ${d.apiVersion} and this agent speaks plugin API ${PLUGIN_API_VERSION}; use a plugin release for API ${PLUGIN_API_VERSION} or an agent that speaks ${d.apiVersion}`;
  }
  if (!pluginKindSchema.safeParse(d.kind).success)
    return `its kind ${JSON.stringify(d.kind)} is not a provider kind (2-32 of a-z, 0-9 and -, starting with a letter)`;
  if (typeof d.create !== 'function') return 'it has no create(ctx) function';
  return null;
}

/** Builds a plugin's provider; an unusable provider of `fallbackKind` (with the reason) when it cannot. */
export async function instantiatePlugin(def: unknown, ctx: PluginContext, fallbackKind: ProviderKind, origin: PluginOrigin = {}): Promise<Provider> {
  const problem = pluginProblem(def);
  const kind = problem ? fallbackKind : (def as ProviderPlugin).kind;
  if (problem) return unusableProvider(kind, `The ${kind} plugin${from(origin)} cannot be used: ${problem}.`, origin);
  try {
    const provider = await (def as ProviderPlugin).create(ctx);
    if (!provider || typeof provider.probe !== 'function' || provider.kind !== kind) {
      return unusableProvider(kind, `The ${kind} plugin${from(origin)} cannot be used: create() did not return a provider of kind ${kind}.`, origin);
    }
    return origin.source ? guardedProvider(provider, origin) : provider;
  } catch (err) {
    return unusableProvider(kind, `The ${kind} plugin${from(origin)} failed to start: ${messageOf(err)}.`, origin);
  }
}

/** A provider that cannot be used: its probe says why, every operation refuses with that reason. */
export function unusableProvider(kind: ProviderKind, reason: string, origin: PluginOrigin = {}): Provider {
  const refuse = async (): Promise<never> => {
    throw new BerthError('PROVIDER_UNAVAILABLE', reason, { field: 'provider' });
  };
  return {
    kind,
    capabilities: { snapshots: false, pause: false, console: false, gpu: false },
    probe: async () => ({ kind, usable: false, reason, details: details(origin) }),
    create: refuse,
    start: refuse,
    stop: refuse,
    destroy: refuse,
    inspect: refuse,
    recover: refuse,
    exec: refuse,
    // Nothing of this kind can be found while it is unusable; its workspaces are left alone.
    list: async () => [],
  };
}

/**
 * A plugin's provider with the calls the agent makes on its own (probe, list) made safe: a
 * probe that throws reports the provider unusable with the reason, a list that throws finds
 * nothing (the reaper then removes nothing of it).
 */
function guardedProvider(p: Provider, origin: PluginOrigin): Provider {
  const probe = async (): Promise<ProviderInfo> => {
    try {
      const info = await p.probe();
      return { ...info, kind: p.kind, details: { ...details(origin), ...(info.details ?? {}) } };
    } catch (err) {
      return { kind: p.kind, usable: false, reason: `The ${p.kind} plugin${from(origin)} failed its probe: ${messageOf(err)}.`, details: details(origin) };
    }
  };
  const list = async () => p.list().catch(() => []);
  // A Proxy keeps the plugin's own methods (and their `this`) for everything else.
  return new Proxy(p, {
    get(target, key, receiver) {
      if (key === 'probe') return probe;
      if (key === 'list') return list;
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The facts `node show` prints for a plugin. */
function details(origin: PluginOrigin): Record<string, string> {
  return origin.source ? { plugin: origin.source, pluginApi: String(PLUGIN_API_VERSION) } : {};
}

function from(origin: PluginOrigin): string {
  return origin.source ? ` (${origin.source})` : '';
}

/** An error's message, bounded: a plugin's error text ends up in the server's database. */
function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m
    .replace(/\s+/g, ' ')
    .replace(/[.\s]+$/, '')
    .slice(0, 300);
}
