/**
 * Finds the berth-in build this agent ships: `dist/native/berth-in` and its `.version` file.
 * The agent runs from a checkout (src/ under vitest, dist/ under bin/berth), from the one-file
 * agent bundle (dist/agent-bundle/), or installed on an SSH node (/opt/berth/, where
 * `berth node add` puts the binary in native/ beside the bundle), so the nearest ancestor
 * folder holding `native/berth-in` or `dist/native/berth-in` is the one. It lives with the
 * providers because the Docker provider starts berth-in's exec server itself (exec-server.ts).
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../api/index.js';

/** The binary and the line its `version` prints. */
export interface BerthInBuild {
  path: string;
  binary: Buffer;
  /** What `berth-in version` prints, e.g. "berth-in 0.1.0+0123456789ab". */
  version: string;
}

/** How many folders up from this module the search goes (src/providers → the checkout, with room to spare). */
const MAX_LEVELS = 5;

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The path of the shipped binary: BERTH_IN_BINARY, else the nearest ancestor's native/berth-in; null when there is none. */
export async function findBerthIn(from = dirname(fileURLToPath(import.meta.url))): Promise<string | null> {
  if (process.env.BERTH_IN_BINARY) return process.env.BERTH_IN_BINARY;
  let dir = from;
  for (let i = 0; i <= MAX_LEVELS; i++) {
    // In a checkout, ROOT/native/berth-in is the Go source folder, not a file: isFile skips it.
    for (const candidate of [join(dir, 'native/berth-in'), join(dir, 'dist/native/berth-in')]) {
      if (await isFile(candidate)) return candidate;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** Reads the binary and its version; FAILED_PRECONDITION naming what to do when it is not there. */
export async function loadBerthIn(): Promise<BerthInBuild> {
  const path = await findBerthIn();
  if (!path) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      'This agent has no berth-in binary (dist/native/berth-in): build berth with `npm run build` (it needs Go: apt-get install golang-go), or reinstall the node with `berth node add`.',
    );
  }
  try {
    const [binary, version] = await Promise.all([readFile(path), readFile(`${path}.version`, 'utf8')]);
    return { path, binary, version: version.trim() };
  } catch (err) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Could not read the berth-in build at ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): rebuild berth with \`npm run build\`.`,
      { cause: err },
    );
  }
}

/** Where berth-in lives inside every workspace. */
export const WORKSPACE_BERTH_IN_PATH = '/.berth/bin/berth-in';

/** The install script's exit status when the copied binary is in place but does not run there. */
export const BERTH_IN_DOES_NOT_RUN = 90;

/**
 * Copies stdin to a temporary file beside the target, renames it into place and runs it once
 * (`version`), so copying and checking that it runs there cost one exec, not two.
 */
export const BERTH_IN_INSTALL_SCRIPT =
  'set -e; umask 022; mkdir -p /.berth/bin; t=/.berth/bin/berth-in.new.$$; trap \'rm -f "$t"\' EXIT; cat > "$t"; chmod 755 "$t"; mv -f "$t" ' +
  WORKSPACE_BERTH_IN_PATH +
  '; ' +
  WORKSPACE_BERTH_IN_PATH +
  ' version || exit ' +
  String(BERTH_IN_DOES_NOT_RUN);
