/**
 * The login file: which server the user commands talk to and with which token. The token is
 * a secret, so the file is written 0600 in a 0700 directory, atomically, and environment
 * variables (BERTH_SERVER, BERTH_TOKEN; BERTH_CA_FINGERPRINT or BERTH_CA_FILE for an https
 * server) override it for scripts and CI.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../api/index.js';
import type { CliIO } from './context.js';

/** What `berth login` saves. */
export const savedLoginSchema = z.object({
  server: z.string().min(1),
  token: z.string().min(1),
  /** For an https server: the CA pinned at login (`sha256:` fingerprint and PEM). */
  caFingerprint: z.string().max(200).optional(),
  caCert: z
    .string()
    .max(64 * 1024)
    .optional(),
});
export type SavedLogin = z.infer<typeof savedLoginSchema>;

/** Where the login file lives: $BERTH_CONFIG, else $XDG_CONFIG_HOME/berth/config.json, else ~/.config/berth/config.json. */
export function configPath(io: Pick<CliIO, 'env' | 'home'>): string {
  if (io.env.BERTH_CONFIG) return io.env.BERTH_CONFIG;
  const base = io.env.XDG_CONFIG_HOME || join(io.home, '.config');
  return join(base, 'berth', 'config.json');
}

/** Reads the login file; undefined when there is none. A damaged file is an error that says how to fix it. */
export async function readLogin(path: string): Promise<SavedLogin | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BerthError('FAILED_PRECONDITION', `Cannot read ${path}; check its permissions or run \`berth login\` again.`, {
      detail: (err as Error).message,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = savedLoginSchema.safeParse(json);
  if (!parsed.success) {
    throw new BerthError('FAILED_PRECONDITION', `${path} is not a valid berth login file; delete it or run \`berth login URL --token T\` again.`);
  }
  return parsed.data;
}

/** Writes the login file atomically with mode 0600, creating its directory with mode 0700. */
export async function writeLogin(path: string, login: SavedLogin): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory alone; the berth directory is ours, so tighten it. A
  // shared parent given through $BERTH_CONFIG is not ours and stays as it is.
  if (dir.endsWith('/berth')) await chmod(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  // Create the temporary file 0600 from the start so the token is never readable by others.
  await writeFile(temp, JSON.stringify(login, null, 2) + '\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** Deletes the login file; returns whether there was one. */
export async function removeLogin(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * The server and token to use: environment first, then the file. A token from the file is
 * only sent to the server it was saved for, so pointing BERTH_SERVER elsewhere never leaks it.
 */
export function resolveLogin(env: CliIO['env'], saved: SavedLogin | undefined): SavedLogin {
  const server = env.BERTH_SERVER || saved?.server;
  const token = env.BERTH_TOKEN || (saved && saved.server === server ? saved.token : undefined);
  if (!server || !token) {
    throw new BerthError('UNAUTHENTICATED', 'You are not logged in to a berth server: run `berth login URL --token T` or set BERTH_SERVER and BERTH_TOKEN.');
  }
  // The pinned CA belongs to the saved server only, like the token.
  const pinned = saved && saved.server === server && saved.caCert ? { caFingerprint: saved.caFingerprint, caCert: saved.caCert } : {};
  return { server, token, ...pinned };
}
