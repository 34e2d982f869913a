import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from './errors.js';
import { openSqliteStore, type Store } from './open.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-store-errors-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const user = (id: string, name: string) => ({ id, name, role: 'member' as const, email: null, created_at: new Date().toISOString() });

describe('isUniqueViolation', () => {
  it('recognises a duplicate in a unique column by the driver error code', async () => {
    await store.db.insertInto('users').values(user('u1', 'ann')).execute();
    const err = await store.db
      .insertInto('users')
      .values(user('u2', 'ann'))
      .execute()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('does not take other constraint failures or other errors for one', async () => {
    await store.db.insertInto('users').values(user('u1', 'ann')).execute();
    // Same primary key, different name: a primary-key failure, not a taken name.
    const pk = await store.db
      .insertInto('users')
      .values(user('u1', 'bob'))
      .execute()
      .catch((e: unknown) => e);
    expect(isUniqueViolation(pk)).toBe(false);
    // The typed builder would not let a null name through, so this one is written as SQL.
    const notNull = await sql`insert into users (id, name, role, created_at) values ('u3', null, 'member', '')`.execute(store.db).catch((e: unknown) => e);
    expect(notNull).toMatchObject({ code: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(isUniqueViolation(notNull)).toBe(false);
    expect(isUniqueViolation(new Error('UNIQUE constraint failed: users.name'))).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });
});
