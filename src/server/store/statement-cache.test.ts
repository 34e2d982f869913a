import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from './statement-cache.js';

describe('withStatementCache', () => {
  it('reuses a statement by its SQL, drops the least recently used past the bound, and never hands out a busy one', () => {
    const sqlite = new Sqlite(':memory:');
    const db = withStatementCache(sqlite, 2);
    sqlite.exec('create table t (x integer); insert into t values (1), (2), (3)');
    const a = db.prepare('select x from t');
    expect(db.prepare('select x from t')).toBe(a);
    db.prepare('select 1');
    db.prepare('select 2'); // 'select x from t' is now the least recently used, and dropped
    expect(db.prepare('select x from t')).not.toBe(a);
    // A statement being iterated is busy: the next prepare gets a separate one that works.
    const kept = db.prepare('select x from t') as unknown as Sqlite.Statement;
    const iter = kept.iterate();
    iter.next();
    const other = db.prepare('select x from t') as unknown as Sqlite.Statement;
    expect(other).not.toBe(kept);
    expect(other.all()).toHaveLength(3);
    iter.return?.();
    db.close();
    expect(sqlite.open).toBe(false);
  });
});
