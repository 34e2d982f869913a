/**
 * Opens the state store. SQLite (a file in the data dir) is the default; the same kysely
 * queries run on PostgreSQL when several server replicas share one database.
 */
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { BerthError } from '../../api/index.js';
import { migrate } from './migrations.js';
import type { Database } from './schema.js';
import { withStatementCache } from './statement-cache.js';

/** The server's handle on its database. */
export interface Store {
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

/** Opens (creating if needed) the SQLite database at `file` and runs migrations. */
export async function openSqliteStore(file: string): Promise<Store> {
  let sqlite: Sqlite.Database | undefined;
  try {
    sqlite = new Sqlite(file);
    // WAL lets readers proceed during a write; a busy timeout rides out brief lock contention.
    sqlite.pragma('journal_mode = WAL');
  } catch (err) {
    sqlite?.close();
    // SQLITE_CANTOPEN (no such folder, no permission), SQLITE_NOTADB (some other file) and the like.
    const code = (err as { code?: unknown }).code ?? (err as Error).message;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Cannot open the database ${file} (${String(code)}); check --data-dir, that this user may write there, and that the file is a berth database.`,
      {
        field: 'dataDir',
        cause: err,
      },
    );
  }
  // In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit; only the
  // last transactions before a power cut can be lost, which the agents' reports then repair.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, close: () => db.destroy() };
}
