/** Recognising the database's own refusals by their error codes, never by message text. */

/**
 * True when a write was refused because it would duplicate a unique column (a name taken by
 * a racing insert, say). better-sqlite3 reports it as `SQLITE_CONSTRAINT_UNIQUE` (its extended
 * result code), and kysely passes the driver's error through unchanged.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * True when a write failed because the disk holding the database is full: SQLite says
 * `SQLITE_FULL` (and rolls the transaction back, so the file stays whole); a plain file write
 * says `ENOSPC`.
 */
export function isDiskFull(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}
