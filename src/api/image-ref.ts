/**
 * What a workspace's `image` may be: a berth image name (`base`) or an engine reference in the
 * OCI / Docker reference grammar (`debian:bookworm`, `localhost:5000/team/dev:1.2@sha256:…`).
 * The grammar is transcribed from the distribution project's reference package
 * (reference/regexp.go), which the Docker engine itself parses with; nothing else may reach an
 * engine, because the image string ends up inside Engine API paths, where `../`, `?`, `#` or
 * `//` would change which endpoint is called (or, through a redirect, which host).
 */
import { z } from 'zod';
import { NAME_PATTERN } from './values.js';

/** The longest repository name the reference grammar allows (distribution's NameTotalLengthMax). */
export const MAX_IMAGE_NAME_LENGTH = 255;
/** The longest `image` berth accepts: room for a full name, a 128-character tag and a sha256 digest. */
export const MAX_IMAGE_REF_LENGTH = 512;

// One lowercase path component: alphanumerics joined by `.`, `_`, `__` or runs of `-`.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
// A registry host: DNS labels joined by dots, an IPv4 address, or a bracketed IPv6 address; then an optional port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[[a-fA-F0-9:]+\\]';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/**
 * The whole reference, anchored: `[domain/]path[:tag][@digest]`. The domain is optional and
 * greedy-safe: when the first component is a valid path component as well (`team/dev`), both
 * readings describe the same string, which is all validation needs.
 */
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** An engine reference split into its parts. */
export interface ImageReference {
  /** The registry host[:port], when the reference names one. */
  domain?: string;
  /** The repository path, e.g. `library/debian` or `team/dev`. */
  path: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses an engine reference by the OCI / Docker grammar; null when it is not one. A first
 * component without a dot, colon or uppercase letter and not `localhost` is a path component
 * (as the engine reads `team/dev`), never a registry host.
 */
export function parseImageReference(ref: string): ImageReference | null {
  if (ref.length === 0 || ref.length > MAX_IMAGE_REF_LENGTH) return null;
  const m = REFERENCE.exec(ref);
  if (!m) return null;
  let domain = m[1] as string | undefined;
  let path = m[2];
  // The regex may read a plain first component as a domain; the engine reads it as part of the path.
  if (domain !== undefined && !/[.:A-Z[]/.test(domain) && domain !== 'localhost') {
    if (!new RegExp(`^${PATH_COMPONENT}$`).test(domain)) return null;
    path = `${domain}/${path}`;
    domain = undefined;
  }
  const nameLength = (domain === undefined ? 0 : domain.length + 1) + path.length;
  if (nameLength > MAX_IMAGE_NAME_LENGTH) return null;
  const out: ImageReference = { path };
  if (domain !== undefined) out.domain = domain;
  if (m[3] !== undefined) out.tag = m[3];
  if (m[4] !== undefined) out.digest = m[4];
  return out;
}

/** True for what a user types to name a berth image (`base`): the name rule of workspaces and nodes. */
export function isBerthImageName(image: string): boolean {
  return NAME_PATTERN.test(image);
}

/** True when `image` may be handed to a node: a berth image name or an engine reference. */
export function isValidImage(image: string): boolean {
  return isBerthImageName(image) || parseImageReference(image) !== null;
}

/** The sentence every side shows for an image that is neither. */
export const IMAGE_RULE =
  'use a berth image name such as base, or an engine reference such as debian:bookworm or registry.example:5000/team/dev:1.2 (lowercase repository, no spaces, no ../)';

/** The `image` field of requests: checked at the edge, so no other string can reach a node. */
export const imageRefSchema = z
  .string()
  .max(MAX_IMAGE_REF_LENGTH, `use at most ${MAX_IMAGE_REF_LENGTH} characters`)
  .refine(isValidImage, { message: IMAGE_RULE });
