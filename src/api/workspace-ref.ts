/**
 * Workspace references. Names are unique per owner: `NAME` is the caller's own workspace,
 * `OWNER/NAME` is someone else's (or one's own, spelt in full). The SSH gateway's user name and
 * `berth config-ssh` host aliases spell `OWNER/NAME` as `OWNER.NAME`: names and user names never
 * hold a dot, so the form is unambiguous, and scp treats any argument with a `/` before its `:`
 * as a local path (OpenSSH's colon()), so `alice/api@host:file` could never be copied to.
 */
import { z } from 'zod';
import { NAME_PATTERN } from './values.js';

/** A parsed workspace reference: `owner` null means "the caller's own". */
export interface WorkspaceRef {
  owner: string | null;
  name: string;
}

/** The reference grammar as a regular expression (for the OpenAPI document; parseWorkspaceRef is what decides). */
export const WORKSPACE_REF_PATTERN = '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';

/** Longest reference text: two 63-character names and their separator. */
export const MAX_WORKSPACE_REF = 127;

/** Parses `NAME` or `OWNER/NAME` (each a DNS-label style name); null for anything else. */
export function parseWorkspaceRef(text: string): WorkspaceRef | null {
  return splitRef(text, '/');
}

/** Parses an SSH gateway user name: `NAME`, `OWNER.NAME` (the form berth prints) or `OWNER/NAME`; null for anything else. */
export function parseSshUser(text: string): WorkspaceRef | null {
  if (typeof text !== 'string') return null;
  return text.includes('/') ? splitRef(text, '/') : splitRef(text, '.');
}

function splitRef(text: string, sep: '/' | '.'): WorkspaceRef | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_WORKSPACE_REF) return null;
  const parts = text.split(sep);
  if (parts.length === 1) return NAME_PATTERN.test(parts[0]!) ? { owner: null, name: parts[0]! } : null;
  if (parts.length !== 2) return null;
  const [owner, name] = parts as [string, string];
  return NAME_PATTERN.test(owner) && NAME_PATTERN.test(name) ? { owner, name } : null;
}

/** The text of a reference: `NAME` or `OWNER/NAME`. */
export function formatWorkspaceRef(ref: WorkspaceRef): string {
  return ref.owner === null ? ref.name : `${ref.owner}/${ref.name}`;
}

/** The SSH user name of a reference: `NAME` or `OWNER.NAME`. */
export function formatSshUser(ref: WorkspaceRef): string {
  return ref.owner === null ? ref.name : `${ref.owner}.${ref.name}`;
}

/** How `viewer` names a workspace: its bare name when it is theirs, `OWNER/NAME` otherwise. */
export function workspaceRefFor(ws: { name: string; owner: string }, viewer: string): string {
  return ws.owner === viewer ? ws.name : `${ws.owner}/${ws.name}`;
}

/** The SSH user name that reaches a workspace through the gateway, for `viewer`: `NAME` or `OWNER.NAME`. */
export function sshUserFor(ws: { name: string; owner: string }, viewer: string): string {
  return ws.owner === viewer ? ws.name : `${ws.owner}.${ws.name}`;
}

/** A workspace reference from a URL or a command line: `NAME` or `OWNER/NAME`. */
export const workspaceRefSchema = z
  .string()
  .max(MAX_WORKSPACE_REF, `use at most ${MAX_WORKSPACE_REF} characters`)
  .refine((s) => parseWorkspaceRef(s) !== null, "use NAME for your own workspace or OWNER/NAME for another's (1-63 lowercase letters, digits and dashes each)");
