/**
 * Prepared-statement reuse for kysely's SQLite driver, which prepares every query afresh: at
 * thousands of agents, preparing cost about as much CPU as running the queries (a profile of
 * a reconnect storm). Statements are kept by their SQL text, the least recently used dropped
 * past a bound (queries with an IN list of varying length each have their own text). SQLite
 * re-prepares a kept statement by itself after a schema change (a migration).
 */
import type Sqlite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** How many distinct statements are kept. */
const MAX_STATEMENTS = 500;

/** `sqlite` as kysely's SqliteDialect wants it, with prepare() served from a bounded cache. */
export function withStatementCache(sqlite: Sqlite.Database, max = MAX_STATEMENTS): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare: (sql: string): SqliteStatement => {
      const kept = cache.get(sql);
      // A statement still being iterated (a streamed query) cannot run twice at once: prepare another.
      if (kept && !kept.busy) {
        cache.delete(sql);
        cache.set(sql, kept);
        return kept as unknown as SqliteStatement;
      }
      const stmt = sqlite.prepare(sql);
      if (!kept) {
        cache.set(sql, stmt);
        if (cache.size > max) cache.delete(cache.keys().next().value!);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}
