/**
 * Public-key authentication, and nothing else. A client first asks whether a key would do
 * (no signature: answered from the key alone) and then proves it holds the private half (a
 * signature over the session id, verified here). Which workspace the user may enter is not
 * decided here: authentication only says who the user is, so a name that does not exist and
 * a name that belongs to someone else fail identically later, at the channel.
 */
import ssh2, { type AuthContext, type PublicKeyAuthContext } from 'ssh2';
import type { User } from '../../api/index.js';
import { fingerprintOf } from '../auth/ssh-keys.js';
import type { GatewayDeps } from './context.js';

/** Failed attempts (beyond the initial `none` probe) before the connection is dropped, like sshd's MaxAuthTries. */
export const MAX_AUTH_TRIES = 6;

/** What one connection's authentication saw, for the audit entry of a refused connection. */
export interface AuthState {
  user: User | null;
  /** The SSH user name of the successful attempt. */
  username: string;
  /** Human-readable record of refused attempts. */
  refused: string[];
  failures: number;
}

/** A fresh state for a new connection. */
export function newAuthState(): AuthState {
  return { user: null, username: '', refused: [], failures: 0 };
}

/** Handles the `authentication` events of one connection; `tooMany` is called when the client should be cut off. */
export function authenticator(deps: Pick<GatewayDeps, 'userForKey' | 'log'>, state: AuthState, tooMany: () => void): (ctx: AuthContext) => void {
  const refuse = (ctx: AuthContext, why: string) => {
    if (ctx.method !== 'none') {
      state.failures++;
      if (state.refused.length < 10) state.refused.push(why);
    }
    ctx.reject(['publickey']);
    if (state.failures >= MAX_AUTH_TRIES) tooMany();
  };
  return (ctx) => {
    if (ctx.method !== 'publickey') return refuse(ctx, `${String(ctx.method).slice(0, 40)} (only public keys are accepted)`);
    void checkKey(deps, ctx)
      .then(
        (result) => {
          if ('refused' in result) return refuse(ctx, result.refused);
          if ('query' in result) return ctx.accept();
          state.user = result.user;
          state.username = ctx.username;
          ctx.accept();
        },
        (err: unknown) => {
          deps.log.error({ err }, 'ssh authentication failed unexpectedly');
          refuse(ctx, 'error while checking the key');
        },
      )
      // Answering a client that has already gone throws inside ssh2; that must not reach the process.
      .catch((err: unknown) => deps.log.debug({ err }, 'could not answer an ssh authentication request'));
  };
}

/** The user when the signature checks out, `query` when the client only asked about the key, or why it was refused. */
async function checkKey(deps: Pick<GatewayDeps, 'userForKey'>, ctx: PublicKeyAuthContext): Promise<{ user: User } | { query: true } | { refused: string }> {
  const blob = ctx.key?.data;
  if (!Buffer.isBuffer(blob) || blob.length === 0 || blob.length > 16 * 1024) return { refused: 'malformed public key' };
  const parsed = ssh2.utils.parseKey(blob);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return { refused: 'unreadable public key' };
  const fingerprint = fingerprintOf(blob);
  const user = await deps.userForKey(ctx.key.algo, blob);
  if (!user) return { refused: `unknown key ${fingerprint}` };
  // Without a signature the client only asks whether this key would be accepted.
  if (!ctx.signature || !ctx.blob) return { query: true };
  if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return { refused: `bad signature for key ${fingerprint}` };
  return { user };
}
