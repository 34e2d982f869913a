/** Parsing `ws share`'s `--user NAME[:use|admin]`, `--team NAME` and `--expires DURATION`. */
import { BerthError, MAX_SHARE_TTL_SECONDS, nameSchema, parseDuration, type SharesPost } from '../../api/index.js';

/** `bob` or `bob:admin` → the user and role (use when none is given). */
export function parseUserGrant(text: string): { user: string; role: 'use' | 'admin' } {
  const colon = text.lastIndexOf(':');
  const user = colon < 0 ? text : text.slice(0, colon);
  const role = colon < 0 ? 'use' : text.slice(colon + 1);
  if (!nameSchema.safeParse(user).success) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"${JSON.stringify(user.slice(0, 64)).slice(1, -1)}" is not a user name; use --user NAME or --user NAME:use|admin.`,
      { field: 'user' },
    );
  }
  if (role !== 'use' && role !== 'admin') {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Unknown share role "${JSON.stringify(role.slice(0, 32)).slice(1, -1)}": use --user ${user}:use or --user ${user}:admin.`,
      { field: 'user' },
    );
  }
  return { user, role };
}

/** `2h`, `30m`, `7d` → whole seconds, between 1 s and a year. */
export function parseExpires(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000 || ms / 1000 > MAX_SHARE_TTL_SECONDS) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid --expires "${JSON.stringify(text.slice(0, 32)).slice(1, -1)}": use a duration from 1s to 366d, such as 45s, 30m, 2h or 7d.`,
      { field: 'expires' },
    );
  }
  return Math.floor(ms / 1000);
}

/** The body of a share from the command's options: exactly one of --user and --team. */
export function shareBody(opts: { user?: string; team?: string; role?: string; expires?: string }): SharesPost {
  if ((opts.user === undefined) === (opts.team === undefined)) {
    throw new BerthError('INVALID_ARGUMENT', 'Share with one grantee: give --user NAME[:use|admin] or --team NAME, not both or neither.', { field: 'user' });
  }
  const body: SharesPost = opts.user !== undefined ? parseUserGrant(opts.user) : { team: opts.team!, role: 'use' };
  if (opts.team !== undefined && opts.role !== undefined) {
    if (opts.role !== 'use' && opts.role !== 'admin')
      throw new BerthError('INVALID_ARGUMENT', `Unknown share role "${opts.role.slice(0, 32)}": use --role use or --role admin.`, { field: 'role' });
    body.role = opts.role;
  }
  if (opts.team !== undefined && !nameSchema.safeParse(opts.team).success)
    throw new BerthError('INVALID_ARGUMENT', `"${opts.team.slice(0, 64)}" is not a team name.`, { field: 'team' });
  if (opts.expires !== undefined) body.ttlSeconds = parseExpires(opts.expires);
  return body;
}
