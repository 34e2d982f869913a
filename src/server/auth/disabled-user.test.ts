/**
 * A disabled user (migration 0012, `berth user disable`) gets in nowhere: not by API token,
 * SSH key, browser session or sign-in link, and the permission function lets them do nothing;
 * enabled again, all of it works as before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../api/index.js';
import { decide } from '../access/facts.js';
import { UsersService } from '../services/users.js';
import type { WorkspacesService } from '../services/workspaces.js';
import { openSqliteStore, type Store } from '../store/open.js';
import { seedNode, seedUsers, workspaceRow } from '../store/seed.test-support.js';
import { hashSecret } from './secrets.js';
import { parsePublicKey, userForPublicKey } from './ssh-keys.js';
import { userForToken } from './users.js';
import { createSession, mintSignInLink, redeemSignInLink, sessionUser } from './web/sessions.js';

let dir: string;
let store: Store;
const now = new Date().toISOString();
const admin: User = { id: 'uz', name: 'root', email: null, role: 'admin', createdAt: now };
const bob: User = { id: 'ub', name: 'bob', email: null, role: 'member', createdAt: now };
const key = parsePublicKey(ssh2.utils.generateKeyPairSync('ed25519').public);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-disabled-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await seedUsers(store, [admin, bob], now);
  await store.db
    .insertInto('api_tokens')
    .values({
      id: 't1',
      user_id: bob.id,
      name: 'cli',
      token_hash: hashSecret('berth_bobtoken'),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
      expires_at: null,
    })
    .execute();
  await store.db
    .insertInto('ssh_keys')
    .values({ id: 'k1', user_id: bob.id, name: 'laptop', algorithm: key.algorithm, public_key: key.line, fingerprint: key.fingerprint, created_at: now })
    .execute();
  await seedNode(store, 'n1', now);
  await store.db
    .insertInto('workspaces')
    .values(workspaceRow('w1', 'api', bob.id, now))
    .execute();
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a disabled user', () => {
  it('gets in nowhere until enabled again, and may not disable themselves or the last admin', async () => {
    const users = new UsersService(store, {} as WorkspacesService);
    const session = await createSession(store, bob);
    const link = new URL(`http://x${(await mintSignInLink(store, bob, 300)).path}`).searchParams.get('token')!;
    const own = { id: 'w1', ownerId: bob.id, teamId: null };
    const ways = async () => ({
      token: (await userForToken(store, 'berth_bobtoken'))?.name ?? null,
      key: (await userForPublicKey(store, key.algorithm, key.blob))?.name ?? null,
      session: (await sessionUser(store, session.token))?.user.name ?? null,
      ownWorkspace: (await decide(store, bob.id, 'use', own)).allowed,
    });
    expect(await ways()).toEqual({ token: 'bob', key: 'bob', session: 'bob', ownWorkspace: true });

    expect(await users.setDisabled(admin, 'bob', true)).toMatchObject({ name: 'bob', disabled: true });
    expect(await ways()).toEqual({ token: null, key: null, session: null, ownWorkspace: false });
    expect(await redeemSignInLink(store, link)).toBeNull();

    expect((await users.setDisabled(admin, 'bob', false)).disabled).toBeUndefined();
    expect(await ways()).toEqual({ token: 'bob', key: 'bob', session: 'bob', ownWorkspace: true });

    await expect(users.setDisabled(admin, 'root', true)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', field: 'name' });
    await expect(users.setDisabled(admin, 'nobody', true)).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'name' });
  });
});
