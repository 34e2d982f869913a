/**
 * A configuration folder on disk (docs/config.md): one YAML file per resource (server.yaml,
 * nodes/NAME.yaml, templates/NAME.yaml, quotas/NAME.yaml, team-quotas/NAME.yaml, images/NAME.yaml; any other *.yaml or *.yml the admin
 * adds counts too) and `.berth-revision`, the revision it was pulled at. Reading checks every
 * file (all problems of a file at once, located) before anything is sent to the server.
 */
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { BerthError, type ConfigDocument, type ConfigResource, configKey, MAX_CONFIG_RESOURCES } from '../../api/index.js';
import { configFilePath, configToText, parseConfigText } from '../../workspace-spec/config-file.js';

/** The revision marker's file name. */
export const REVISION_FILE = '.berth-revision';
/** How deep a folder's subfolders may nest. */
const MAX_DEPTH = 4;

/** A folder read and checked. */
export interface ConfigFolder {
  /** The revision it was pulled at, or null when it was never pulled. */
  revision: number | null;
  resources: ConfigResource[];
  /** Which file holds each resource (by `Kind/name`). */
  files: Map<string, string>;
}

/** Reads and checks every config file of `dir`. */
export async function readConfigFolder(dir: string): Promise<ConfigFolder> {
  const st = await lstat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new BerthError('NOT_FOUND', `${dir} is not a folder; pull one first with \`berth config pull ${dir}\`.`, { field: 'dir' });
  const paths = await yamlFiles(dir, dir, 0);
  if (paths.length > MAX_CONFIG_RESOURCES)
    throw new BerthError('INVALID_ARGUMENT', `${dir} holds more than ${MAX_CONFIG_RESOURCES} config files; that is not one server's configuration.`, {
      field: 'dir',
    });
  const resources: ConfigResource[] = [];
  const files = new Map<string, string>();
  for (const path of paths.sort()) {
    const shown = join(dir, path);
    const r = parseConfigText(await readFile(join(dir, path), 'utf8'), shown);
    const key = configKey(r);
    const other = files.get(key);
    if (other) throw new BerthError('INVALID_ARGUMENT', `${shown} and ${other} both declare ${key}; keep it in one file.`, { field: 'name' });
    files.set(key, shown);
    resources.push(r);
  }
  return { revision: await readRevision(dir), resources, files };
}

/** The revision recorded in `dir`, or null. */
export async function readRevision(dir: string): Promise<number | null> {
  const text = await readFile(join(dir, REVISION_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  const m = /^revision:\s*(\d{1,15})\s*$/m.exec(text);
  if (!m)
    throw new BerthError('INVALID_ARGUMENT', `${join(dir, REVISION_FILE)} is not a revision marker; pull again with \`berth config pull ${dir}\`.`, {
      field: 'dir',
    });
  return Number(m[1]);
}

/** Records the revision the folder now matches. */
export async function writeRevision(dir: string, revision: number): Promise<void> {
  await writeFile(join(dir, REVISION_FILE), `# The server's config revision this folder was pulled at (berth config push checks it).\nrevision: ${revision}\n`);
}

/**
 * Writes the live configuration into `dir`: a new folder, or one pulled before (its YAML files
 * are replaced, so resources gone from the server go from the folder). A folder that holds
 * other files and was never pulled is refused rather than mixed into.
 */
export async function writeConfigFolder(dir: string, doc: ConfigDocument): Promise<string[]> {
  const st = await lstat(dir).catch(() => null);
  if (st && !st.isDirectory()) throw new BerthError('INVALID_ARGUMENT', `${dir} is a file; give a folder.`, { field: 'dir' });
  if (st) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes(REVISION_FILE)) {
      throw new BerthError('FAILED_PRECONDITION', `${dir} is not empty and was not pulled by berth; pull into a new or empty folder.`, { field: 'dir' });
    }
    for (const old of await yamlFiles(dir, dir, 0)) await rm(join(dir, old));
  }
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const r of doc.resources) {
    const path = join(dir, configFilePath(r));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, configToText(r));
    written.push(path);
  }
  await writeRevision(dir, doc.revision);
  return written;
}

/** The *.yaml / *.yml files under `dir` (relative paths), skipping hidden entries; links are refused. */
async function yamlFiles(root: string, dir: string, depth: number): Promise<string[]> {
  if (depth > MAX_DEPTH)
    throw new BerthError('INVALID_ARGUMENT', `${dir} nests folders more than ${MAX_DEPTH} deep; keep the config folder flat.`, { field: 'dir' });
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(root, full, depth + 1)));
    else if (/\.ya?ml$/.test(e.name)) {
      if (e.isSymbolicLink())
        throw new BerthError('INVALID_ARGUMENT', `${full} is a symbolic link; config files must be plain files in the folder.`, { field: 'dir' });
      out.push(relative(root, full).split(sep).join('/'));
    }
  }
  return out;
}
