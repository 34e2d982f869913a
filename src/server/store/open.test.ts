import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { openSqliteStore } from './open.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-store-open-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('opening the store', () => {
  it('refuses a path it cannot open with FAILED_PRECONDITION on dataDir', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    const err = await openSqliteStore(join(file, 'berth.db')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toContain('SQLITE_CANTOPEN');
  });

  it('refuses a file that is not a database', async () => {
    const file = join(dir, 'not-a-db');
    await writeFile(file, 'x'.repeat(4096));
    const err = await openSqliteStore(file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toContain('SQLITE_NOTADB');
  });

  it('refuses a database migrated by a newer berth, naming what to do', async () => {
    const file = join(dir, 'future.db');
    const store = await openSqliteStore(file);
    // kysely's own bookkeeping table is not in berth's schema type, so this row is written as SQL.
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', ${new Date().toISOString()})`.execute(store.db);
    await store.close();
    const err = await openSqliteStore(file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toMatch(/could not be brought up to date.*newer berth/);
  });
});
