/**
 * Spec errors that point into the file: `berth.yaml:12:5: services.api.depends_on.db: …`.
 * Each file format knows how to find a field's line and column (yaml.ts, devcontainer.ts);
 * this turns zod's issues into one coded error whose message names the first problem and
 * whose detail lists them all, so a user fixes a file in one pass rather than one per run.
 */
import type { z } from 'zod';
import { BerthError } from '../api/index.js';

/** A position in a file, 1-based as editors show it. */
export interface Position {
  line: number;
  col: number;
}

/** Finds a field in the parsed file: the value at `path`, or with `key` the key that holds it. */
export type Locate = (path: ReadonlyArray<PropertyKey>, opts?: { key?: boolean }) => Position | null;

/** One problem, located. */
export interface SpecProblem {
  field: string;
  message: string;
  at: Position | null;
}

/** How many problems one error lists: past this, the file needs more than a few fixes. */
const MAX_LISTED = 20;

/** A key that can stand in a dotted path as it is. */
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * `services.api.ports.0`, as the error's field names it. Any other key (a space, a dot, a
 * colon: whatever a hostile or mistyped file holds) is written `["…"]`, JSON-quoted with
 * whitespace and colons escaped, so `FILE:LINE:COL: FIELD: message` always reads one way.
 */
export function fieldName(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, i) => {
      const text = String(key);
      if (PLAIN_KEY.test(text)) return i === 0 ? text : `.${text}`;
      const quoted = JSON.stringify(text.slice(0, 64)).replace(/[\s:]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return `[${quoted}]`;
    })
    .join('');
}

/**
 * One located problem per zod issue (an unknown-keys issue gives one per key, located at the
 * key; a missing field is located at the key of the object that lacks it), in file order.
 */
export function problemsFromZod(error: z.ZodError, locate: Locate, value: unknown): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push({
          field: fieldName(path),
          message: `unknown field ${JSON.stringify(String(key).slice(0, 64))}: remove it, or check its spelling`,
          at: locate(path, { key: true }),
        });
      }
      continue;
    }
    if (issue.path.length > 0 && valueAt(value, issue.path) === undefined) {
      const parent = issue.path.slice(0, -1);
      out.push({
        field: fieldName(issue.path),
        message: `missing: add ${String(issue.path.at(-1))}`,
        at: (parent.length ? locate(parent, { key: true }) : null) ?? { line: 1, col: 1 },
      });
      continue;
    }
    // A union reports "invalid input" at its own path; its members' messages say what would do.
    const message = issue.code === 'invalid_union' ? unionMessage(issue) : issue.message;
    out.push({ field: fieldName(issue.path), message, at: locate(issue.path) ?? locate(issue.path.slice(0, -1)) });
  }
  return sortProblems(out);
}

/** Problems in file order (unlocated ones last), as an editor lists them. */
export function sortProblems(problems: SpecProblem[]): SpecProblem[] {
  return problems.sort((a, b) => (a.at?.line ?? Infinity) - (b.at?.line ?? Infinity) || (a.at?.col ?? 0) - (b.at?.col ?? 0));
}

/** The value at a path of plain objects and arrays (own properties only). */
function valueAt(value: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = value;
  for (const step of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, step)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[step];
  }
  return v;
}

function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string {
  const inner = issue.errors
    .flat()
    .map((i) => i.message)
    .filter((m) => !/^Invalid input/.test(m));
  return inner.length > 0 ? [...new Set(inner)].slice(0, 3).join('; or ') : issue.message;
}

/** `berth.yaml:12:5: field: message` (the position left out when unknown). */
export function formatProblem(file: string, p: SpecProblem): string {
  const where = p.at ? `${file}:${p.at.line}:${p.at.col}` : file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

/** The coded error for a file with problems: the first in the message, all in the detail. */
export function specError(file: string, problems: SpecProblem[]): BerthError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}; see the detail)` : '';
  const listed = problems.slice(0, MAX_LISTED).map((p) => formatProblem(file, p));
  if (problems.length > MAX_LISTED) listed.push(`… ${problems.length - MAX_LISTED} more`);
  return new BerthError('INVALID_ARGUMENT', `${formatProblem(file, first)}${more}. Fix the file and retry.`, {
    field: first.field || undefined,
    detail: problems.length > 1 ? listed.join('\n') : undefined,
  });
}
