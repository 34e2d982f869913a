/**
 * Which CA the CLI trusts for an https server: BERTH_CA_FILE (a PEM), BERTH_CA_FINGERPRINT
 * (checked against the CA the server hands out, or the one saved at login), else the CA
 * pinned by `berth login`/`berth register`. Loaded only for https servers.
 */
import { BerthError, normalizeFingerprint } from '../api/index.js';
import { fetchServerCa, fingerprintMismatch, fingerprintOfPem, type PinnedCa, readCaFile } from '../client/tls-pin.js';
import type { SavedLogin } from './config.js';
import type { CliIO } from './context.js';

/** The pinned CA for `login.server`, or undefined when none is known (the system's roots then decide). */
export async function pinnedCaFor(env: CliIO['env'], login: SavedLogin): Promise<PinnedCa | undefined> {
  const wanted = env.BERTH_CA_FINGERPRINT ? normalizeFingerprint(env.BERTH_CA_FINGERPRINT) : undefined;
  if (wanted === null) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `BERTH_CA_FINGERPRINT "${env.BERTH_CA_FINGERPRINT}" is not a fingerprint; use sha256: followed by 64 hex digits.`,
      { field: 'BERTH_CA_FINGERPRINT' },
    );
  }
  if (env.BERTH_CA_FILE) {
    const ca = await readCaFile(env.BERTH_CA_FILE);
    if (wanted && ca.fingerprint !== wanted) throw fingerprintMismatch(login.server, wanted, ca.fingerprint, 'BERTH_CA_FILE');
    return ca;
  }
  const saved = login.caCert ? { pem: login.caCert, fingerprint: fingerprintOfPem(login.caCert) } : undefined;
  if (saved && login.caFingerprint && saved.fingerprint !== login.caFingerprint) {
    throw new BerthError('FAILED_PRECONDITION', 'The CA saved in your login file does not match its fingerprint; run `berth login` again.', {
      field: 'config',
    });
  }
  if (wanted) {
    if (saved?.fingerprint === wanted) return saved;
    const ca = await fetchServerCa(login.server);
    if (ca.fingerprint !== wanted) throw fingerprintMismatch(login.server, wanted, ca.fingerprint, 'BERTH_CA_FINGERPRINT');
    return ca;
  }
  return saved;
}

/**
 * Pins a server's CA for login or register: the fingerprint given (option or invite code) must
 * match; without one, a terminal user is shown it and asked, and anyone else is refused.
 */
export async function pinForLogin(io: CliIO, server: string, given: string | undefined, field: string): Promise<PinnedCa> {
  const expected = given === undefined ? undefined : normalizeFingerprint(given);
  if (expected === null) throw new BerthError('INVALID_ARGUMENT', `"${given}" is not a fingerprint; use sha256: followed by 64 hex digits.`, { field });
  const ca = await fetchServerCa(server);
  if (expected) {
    if (ca.fingerprint !== expected) throw fingerprintMismatch(server, expected, ca.fingerprint, field);
    return ca;
  }
  if (!io.stdin.isTTY) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `${server} presents CA ${ca.fingerprint}. Check that value with the server's admin (the server logs it at start), then pass it with --fingerprint ${ca.fingerprint}.`,
      { field: 'fingerprint' },
    );
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await rl.question(
      `${server} presents CA fingerprint\n  ${ca.fingerprint}\nCompare it with the one the server's admin gave you. Trust it? [y/N] `,
    );
    if (!/^y(es)?$/i.test(answer.trim())) throw new BerthError('UNAUTHENTICATED', 'Not trusted; nothing was saved.', { field: 'fingerprint' });
  } finally {
    rl.close();
  }
  return ca;
}
