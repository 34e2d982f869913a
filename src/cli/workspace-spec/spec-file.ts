/**
 * Finding and reading a project's spec file: a path to a file, or a directory searched for
 * `berth.yaml`, `berth.yml`, `.devcontainer/devcontainer.json` and `.devcontainer.json` in that
 * order (berth's own file first: a project that has both means berth.yaml for berth).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BerthError } from '../../api/index.js';
import { type LoadedSpec, loadSpecText, MAX_SPEC_BYTES } from '../../workspace-spec/load.js';

/** The names a directory is searched for, in order. */
export const SPEC_FILE_NAMES = ['berth.yaml', 'berth.yml', '.devcontainer/devcontainer.json', '.devcontainer.json'];

/** The spec file a path names (a file, or the first known name in a directory). */
export async function findSpecFile(given: string, field = 'spec'): Promise<string> {
  const info = await stat(given).catch(() => null);
  if (!info)
    throw new BerthError('NOT_FOUND', `${given} does not exist; give a berth.yaml or devcontainer.json, or a project directory that has one.`, { field });
  if (!info.isDirectory()) return given;
  for (const name of SPEC_FILE_NAMES) {
    const candidate = path.join(given, name);
    if ((await stat(candidate).catch(() => null))?.isFile()) return candidate;
  }
  throw new BerthError(
    'NOT_FOUND',
    `${given} has no ${SPEC_FILE_NAMES.join(', ')}; write a berth.yaml there (\`berth schema workspace\` prints its schema) or give the file's path.`,
    { field },
  );
}

/** Reads and validates the spec a path names. */
export async function readSpec(given: string, field = 'spec'): Promise<LoadedSpec> {
  const file = await findSpecFile(given, field);
  const info = await stat(file);
  if (!info.isFile()) throw new BerthError('INVALID_ARGUMENT', `${file} is not a regular file; give a berth.yaml or devcontainer.json.`, { field });
  if (info.size > MAX_SPEC_BYTES)
    throw new BerthError('INVALID_ARGUMENT', `${file} is ${info.size} bytes; a spec is at most ${MAX_SPEC_BYTES / 1024} KiB. Check the file name.`, { field });
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new BerthError('PERMISSION_DENIED', `Cannot read ${file} (${err.code ?? err.message}); check its permissions.`, { field });
  });
  return loadSpecText(text, file);
}
