/**
 * People: invites and registration, the user list, removing a user (their workspaces are
 * handled the way the admin says), API tokens and SSH keys. Secrets are stored hashed; a
 * member only ever sees and changes their own tokens and keys.
 */
import { randomUUID } from 'node:crypto';
import {
  type ApiToken,
  BerthError,
  type Invite,
  type InvitesPost,
  invitesPostSchema,
  type RegisterPost,
  registerPostSchema,
  type SshKey,
  type TokensPost,
  type User,
  type UserDelete,
  userDeleteSchema,
} from '../../api/index.js';
import { hashSecret, newSecret, SECRET_PREFIX } from '../auth/secrets.js';
import { parsePublicKey } from '../auth/ssh-keys.js';
import { sshKeyToApi, tokenToApi, userToApi } from '../convert/to-api.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import type { WorkspacesService } from './workspaces.js';

const INVITE_PREFIX = 'binv_';

/** Users, invites, tokens and keys. */
export class UsersService {
  constructor(
    private readonly store: Store,
    private readonly workspaces: WorkspacesService,
  ) {}

  /** Every user (admins only reach this). */
  async list(): Promise<User[]> {
    return (await this.store.db.selectFrom('users').selectAll().orderBy('name').execute()).map(userToApi);
  }

  /** A single-use, expiring invite for one email address. */
  async invite(by: User, input: InvitesPost): Promise<Invite> {
    const body = invitesPostSchema.parse(input);
    const code = newSecret(INVITE_PREFIX);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + body.ttlSeconds * 1000).toISOString();
    await this.store.db
      .insertInto('invites')
      .values({
        id: randomUUID(),
        code_hash: hashSecret(code),
        email: body.email,
        role: body.role,
        created_by: by.id,
        created_at: now.toISOString(),
        expires_at: expiresAt,
        used_at: null,
        used_by: null,
      })
      .execute();
    return { code, email: body.email, role: body.role, expiresAt };
  }

  /**
   * Trades an invite for an account and its first API token (and registers an SSH key when
   * given), all in one transaction: a refused registration consumes nothing.
   */
  async register(input: RegisterPost): Promise<{ user: User; token: string }> {
    const body = registerPostSchema.parse(input);
    const key = body.sshPublicKey ? parsePublicKey(body.sshPublicKey) : null;
    const token = newSecret(SECRET_PREFIX.apiToken);
    const userId = randomUUID();
    const now = new Date().toISOString();
    await this.store.db.transaction().execute(async (tx) => {
      const inv = await tx.selectFrom('invites').selectAll().where('code_hash', '=', hashSecret(body.invite)).executeTakeFirst();
      if (!inv) throw new BerthError('UNAUTHENTICATED', 'That invite code is not valid; ask an admin for a new one.', { field: 'invite' });
      if (inv.used_at)
        throw new BerthError('UNAUTHENTICATED', 'That invite was already used; each invite registers one account. Ask an admin for a new one.', {
          field: 'invite',
        });
      if (inv.expires_at <= now) throw new BerthError('UNAUTHENTICATED', 'That invite has expired; ask an admin for a new one.', { field: 'invite' });
      if (await tx.selectFrom('users').select('id').where('name', '=', body.name).executeTakeFirst()) {
        throw new BerthError('ALREADY_EXISTS', `The name ${body.name} is taken; register with another --name.`, { field: 'name' });
      }
      if (key && (await tx.selectFrom('ssh_keys').select('id').where('fingerprint', '=', key.fingerprint).executeTakeFirst())) {
        throw new BerthError('ALREADY_EXISTS', 'That SSH key is already registered to an account; use another key.', { field: 'sshPublicKey' });
      }
      const used = await tx
        .updateTable('invites')
        .set({ used_at: now, used_by: userId })
        .where('id', '=', inv.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1)
        throw new BerthError('UNAUTHENTICATED', 'That invite was already used; ask an admin for a new one.', { field: 'invite' });
      await tx.insertInto('users').values({ id: userId, name: body.name, role: inv.role, email: inv.email, created_at: now }).execute();
      await tx
        .insertInto('api_tokens')
        .values({
          id: randomUUID(),
          user_id: userId,
          name: 'registration',
          token_hash: hashSecret(token),
          created_at: now,
          last_used_at: null,
          revoked_at: null,
          expires_at: null,
        })
        .execute();
      if (key) {
        await tx
          .insertInto('ssh_keys')
          .values({
            id: randomUUID(),
            user_id: userId,
            name: 'registration',
            algorithm: key.algorithm,
            public_key: key.line,
            fingerprint: key.fingerprint,
            created_at: now,
          })
          .execute();
      }
    });
    const row = await this.store.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
    return { user: userToApi(row), token };
  }

  /**
   * Disables (or enables again) a user: while disabled, none of their tokens, SSH keys or browser
   * sessions works and the permission function lets them do nothing, so the caller's recheck
   * ends their live sessions; their workspaces, keys and shares stay for when they are enabled.
   */
  async setDisabled(admin: User, name: string, disabled: boolean): Promise<User> {
    const row = await this.store.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new BerthError('NOT_FOUND', `No user named ${name}; see \`berth user ls\`.`, { field: 'name' });
    if (disabled && row.id === admin.id) throw new BerthError('FAILED_PRECONDITION', 'You cannot disable yourself; ask another admin.', { field: 'name' });
    if (disabled && row.role === 'admin') {
      const active = await this.store.db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled_at', 'is', null).execute();
      if (active.length <= 1) throw new BerthError('FAILED_PRECONDITION', `${name} is the last enabled admin; make another admin first.`, { field: 'name' });
    }
    // Disabling again keeps the first time; enabling clears it.
    const disabledAt = disabled ? (row.disabled_at ?? new Date().toISOString()) : null;
    await this.store.db.updateTable('users').set({ disabled_at: disabledAt }).where('id', '=', row.id).execute();
    return userToApi({ ...row, disabled_at: disabledAt });
  }

  /** Removes a user; their workspaces are refused (default), deleted or transferred, as asked. Their tokens and keys stop working at once. */
  async remove(admin: User, name: string, input: UserDelete): Promise<{ user: User; deletedWorkspaces: string[]; transferredWorkspaces: string[] }> {
    const opts = userDeleteSchema.parse(input);
    const row = await this.store.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new BerthError('NOT_FOUND', `No user named ${name}; see \`berth user ls\`.`, { field: 'name' });
    if (row.role === 'admin') {
      const admins = await this.store.db.selectFrom('users').select('id').where('role', '=', 'admin').execute();
      if (admins.length <= 1) throw new BerthError('FAILED_PRECONDITION', `${name} is the last admin; make another admin first.`, { field: 'name' });
    }
    const owned = await this.store.db.selectFrom('workspaces').select(['id', 'name']).where('owner_id', '=', row.id).orderBy('name').execute();
    const names = owned.map((w) => w.name);
    if (owned.length > 0 && opts.workspaces === 'refuse') {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${name} owns workspaces (${names.join(', ')}); say what happens to them with --workspaces delete or --workspaces transfer --transfer-to USER.`,
        { field: 'workspaces' },
      );
    }
    let heir = admin.id;
    if (opts.workspaces === 'transfer') {
      if (!opts.transferTo) throw new BerthError('INVALID_ARGUMENT', 'Say who receives the workspaces with --transfer-to USER.', { field: 'transferTo' });
      const to = await this.store.db.selectFrom('users').select('id').where('name', '=', opts.transferTo).executeTakeFirst();
      if (!to || to.id === row.id)
        throw new BerthError('NOT_FOUND', `No other user named ${opts.transferTo} to receive the workspaces.`, { field: 'transferTo' });
      heir = to.id;
      // Names are unique per owner: the heir must not have a workspace of the same name already.
      const clash = owned.length
        ? await this.store.db.selectFrom('workspaces').select('name').where('owner_id', '=', heir).where('name', 'in', names).orderBy('name').execute()
        : [];
      if (clash.length > 0) {
        throw new BerthError(
          'ALREADY_EXISTS',
          `${opts.transferTo} already has workspaces named ${clash.map((c) => c.name).join(', ')}; remove or rename one side first, or use --workspaces delete.`,
          { field: 'transferTo' },
        );
      }
    }
    // Workspaces change hands first (to the heir, or to the admin who then deletes them), so the
    // user row can go at once and their access ends now, not when the deletions finish. Ones
    // going to the admin for deletion get the admin's name for them (see heldNames).
    const held = opts.workspaces === 'delete' ? await this.heldNames(admin, owned) : new Map<string, string>();
    await this.store.db.transaction().execute(async (tx) => {
      if (opts.workspaces === 'delete') {
        for (const w of owned)
          await tx
            .updateTable('workspaces')
            .set({ owner_id: heir, name: held.get(w.id)! })
            .where('id', '=', w.id)
            .execute();
      } else if (owned.length) await tx.updateTable('workspaces').set({ owner_id: heir }).where('owner_id', '=', row.id).execute();
      await tx.deleteFrom('users').where('id', '=', row.id).execute();
    });
    if (opts.workspaces === 'delete') for (const w of owned) await this.workspaces.transition(admin, held.get(w.id)!, 'delete').catch(() => {});
    return {
      user: userToApi(row),
      deletedWorkspaces: opts.workspaces === 'delete' ? names : [],
      transferredWorkspaces: opts.workspaces === 'transfer' ? names : [],
    };
  }

  /**
   * Names for workspaces handed to `admin` only to be deleted: their own where the admin has no
   * workspace of that name (names are unique per owner), else NAME-ID8, cut to fit a name.
   */
  private async heldNames(admin: User, owned: Array<{ id: string; name: string }>): Promise<Map<string, string>> {
    const mine = new Set((await this.store.db.selectFrom('workspaces').select('name').where('owner_id', '=', admin.id).execute()).map((r) => r.name));
    const out = new Map<string, string>();
    for (const w of owned) {
      const id8 = w.id
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')
        .slice(0, 8);
      const name = mine.has(w.name) ? `${w.name.slice(0, 54).replace(/-+$/, '')}-${id8}` : w.name;
      mine.add(name);
      out.set(w.id, name);
    }
    return out;
  }

  /** The caller's API tokens. */
  async tokens(user: User): Promise<ApiToken[]> {
    const rows = await this.store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map(tokenToApi);
  }

  /** A new API token for the caller; the secret is returned this once. */
  async createToken(user: User, body: TokensPost): Promise<{ token: string; info: ApiToken }> {
    const token = newSecret(SECRET_PREFIX.apiToken);
    const now = new Date();
    const row = {
      id: randomUUID(),
      user_id: user.id,
      name: body.name,
      token_hash: hashSecret(token),
      created_at: now.toISOString(),
      last_used_at: null,
      revoked_at: null,
      expires_at: body.ttlSeconds ? new Date(now.getTime() + body.ttlSeconds * 1000).toISOString() : null,
    };
    await this.store.db.insertInto('api_tokens').values(row).execute();
    return { token, info: tokenToApi(row) };
  }

  /** Revokes one of the caller's tokens, by id or by name; it stops working with the next request. */
  async revokeToken(user: User, idOrName: string): Promise<ApiToken> {
    const rows = await this.store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .execute();
    if (rows.length === 0) throw new BerthError('NOT_FOUND', `You have no active token ${idOrName}; see \`berth token ls\`.`, { field: 'id' });
    if (rows.length > 1)
      throw new BerthError('INVALID_ARGUMENT', `Several of your tokens are named ${idOrName}; revoke by id (see \`berth token ls\`).`, { field: 'id' });
    await this.store.db.updateTable('api_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', rows[0].id).execute();
    return tokenToApi(rows[0]);
  }

  /** The caller's SSH keys. */
  async sshKeys(user: User): Promise<SshKey[]> {
    return (await this.store.db.selectFrom('ssh_keys').selectAll().where('user_id', '=', user.id).orderBy('created_at').execute()).map(sshKeyToApi);
  }

  /** Registers an SSH public key for the caller. */
  async addSshKey(user: User, name: string, publicKey: string): Promise<SshKey> {
    const key = parsePublicKey(publicKey);
    if (await this.store.db.selectFrom('ssh_keys').select('id').where('fingerprint', '=', key.fingerprint).executeTakeFirst()) {
      throw new BerthError('ALREADY_EXISTS', `The key ${key.fingerprint} is already registered; each key belongs to one account.`, { field: 'publicKey' });
    }
    const row = {
      id: randomUUID(),
      user_id: user.id,
      name,
      algorithm: key.algorithm,
      public_key: key.line,
      fingerprint: key.fingerprint,
      created_at: new Date().toISOString(),
    };
    try {
      await this.store.db.insertInto('ssh_keys').values(row).execute();
    } catch (err) {
      // Two adds of one key can race past the check above; the unique fingerprint decides.
      if (isUniqueViolation(err)) {
        throw new BerthError('ALREADY_EXISTS', `The key ${key.fingerprint} is already registered; each key belongs to one account.`, { field: 'publicKey' });
      }
      throw err;
    }
    return sshKeyToApi(row);
  }

  /** Removes one of the caller's keys, by id, name or fingerprint. */
  async removeSshKey(user: User, ref: string): Promise<SshKey> {
    const rows = await this.store.db
      .selectFrom('ssh_keys')
      .selectAll()
      .where('user_id', '=', user.id)
      .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref), eb('fingerprint', '=', ref)]))
      .execute();
    if (rows.length === 0) throw new BerthError('NOT_FOUND', `You have no SSH key ${ref}; see \`berth ssh-key ls\`.`, { field: 'id' });
    if (rows.length > 1) throw new BerthError('INVALID_ARGUMENT', `Several of your keys match ${ref}; remove by id or fingerprint.`, { field: 'id' });
    await this.store.db.deleteFrom('ssh_keys').where('id', '=', rows[0].id).execute();
    return sshKeyToApi(rows[0]);
  }
}
