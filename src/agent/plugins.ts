/**
 * Loading provider plugins named by `berth agent --plugin`: a path (a module file, or a folder
 * with a package.json) or an npm package name. Importing runs the plugin's code, so every
 * failure — not found, a throw at import, an import that hangs — is caught and kept as the
 * reason the provider is unusable; the agent itself always starts.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { BerthError, builtinProviderKindSchema, pluginKindSchema } from '../api/index.js';
import type { LoadedPlugin } from '../providers/registry.js';

/** At most this many plugins per agent: each is probed in every heartbeat. */
export const MAX_PLUGINS = 16;
/** An import that has not settled by then is given up on (the module may still be running). */
const IMPORT_TIMEOUT_MS = 15_000;

/** One --plugin value: a path or a package name, bounded. */
export const pluginSourceSchema = z
  .string()
  .trim()
  .min(1)
  .max(1024)
  .refine((s) => !s.includes('\0'), 'no NUL bytes');

/** Checks the --plugin list at the edge: bounded count, each a plausible path or package name. */
export function checkPluginSources(sources: string[]): string[] {
  if (sources.length > MAX_PLUGINS)
    throw new BerthError('INVALID_ARGUMENT', `${sources.length} plugins were named; an agent loads at most ${MAX_PLUGINS}.`, { field: 'plugin' });
  return sources.map((s) => {
    const parsed = pluginSourceSchema.safeParse(s);
    if (!parsed.success)
      throw new BerthError('INVALID_ARGUMENT', `Invalid --plugin ${JSON.stringify(s.slice(0, 80))}: give a module path or an npm package name.`, {
        field: 'plugin',
      });
    return parsed.data;
  });
}

/** Imports each plugin; never throws. */
export async function loadPlugins(sources: string[], cwd = process.cwd()): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const source of sources) {
    const fallbackKind = kindFromSource(source);
    try {
      const mod = (await withTimeout(import(await resolveSource(source, cwd)), source)) as { default?: unknown; plugin?: unknown };
      out.push({ source, fallbackKind, definition: mod.default ?? mod.plugin });
    } catch (err) {
      out.push({ source, fallbackKind, error: oneLine(err) });
    }
  }
  return out;
}

/** True when the value can only name a file or folder (an existing relative path like examples/x also counts, see resolveSource). */
function isPath(source: string): boolean {
  return source.startsWith('.') || isAbsolute(source) || source.includes('\\');
}

/** The URL or specifier to import for a --plugin value. */
async function resolveSource(source: string, cwd: string): Promise<string> {
  const path = resolve(cwd, source);
  const st = source.startsWith('@') ? null : await stat(path).catch(() => null);
  if (!st && !isPath(source)) {
    // A package next to berth's own (global installs) is found by a bare import; else look from the current folder.
    try {
      return import.meta.resolve(source);
    } catch {
      return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(source)).href;
    }
  }
  if (!st) throw new Error(`no such file or folder ${path}`);
  return pathToFileURL(st.isDirectory() ? await folderEntry(path) : path).href;
}

/** The module a plugin folder names in its package.json (exports `.` or main), else its index.mjs or index.js. */
async function folderEntry(dir: string): Promise<string> {
  const pkg = await readFile(join(dir, 'package.json'), 'utf8').then(
    (t) => JSON.parse(t) as { exports?: unknown; main?: unknown },
    () => null,
  );
  const dot = pkg && typeof pkg.exports === 'object' && pkg.exports !== null ? (pkg.exports as Record<string, unknown>)['.'] : pkg?.exports;
  const entry =
    typeof dot === 'string'
      ? dot
      : typeof dot === 'object' && dot !== null
        ? ((dot as Record<string, unknown>).import ?? (dot as Record<string, unknown>).default)
        : pkg?.main;
  if (typeof entry === 'string') return join(dir, entry);
  for (const name of ['index.mjs', 'index.js']) if (await stat(join(dir, name)).catch(() => null)) return join(dir, name);
  throw new Error(`the folder ${dir} has no package.json entry and no index.mjs or index.js`);
}

/**
 * The kind to report a plugin under when it cannot say (it failed to import): its package or
 * file name made into a kind, `plugin-` in front when that would be a built-in's name.
 */
export function kindFromSource(source: string): string {
  const file = /\.[cm]?js$/.test(source);
  let name = file ? basename(source, extname(source)) : (source.split('/').pop() ?? source);
  if (file && name === 'index') name = basename(dirname(source));
  name = name
    .replace(/^berth-provider-/, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  if (!pluginKindSchema.safeParse(name).success) return 'plugin';
  return builtinProviderKindSchema.safeParse(name).success ? `plugin-${name}`.slice(0, 32) : name;
}

function withTimeout<T>(p: Promise<T>, source: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`importing ${source} did not finish within ${IMPORT_TIMEOUT_MS / 1000} s`)), IMPORT_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** An error as one bounded line, for a reason string. */
function oneLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m
    .replace(/\s+/g, ' ')
    .replace(/[.\s]+$/, '')
    .slice(0, 300);
}
