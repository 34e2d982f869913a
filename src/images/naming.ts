/**
 * How berth names, labels and validates its base images. Pure functions only, so the rules
 * can be unit-tested without an engine and shared by the build, list and resolve paths.
 */
import { createHash } from 'node:crypto';
import { BerthError, imageSourceSchema, imagesPostSchema, MAX_PACKAGES, NAME_PATTERN, packageNameSchema } from '../api/index.js';

/** Labels carried by every image berth builds; `managed` is shared with workspaces. */
export const IMAGE_LABELS = {
  image: 'berth.image',
  from: 'berth.image.from',
  packages: 'berth.image.packages',
  managed: 'berth.managed',
} as const;

/** PATH baked into every berth image, so `sh -c` finds the same tools in busybox and Debian images. */
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a berth image is built from, once parsed. */
export type ImageSource = { kind: 'busybox' } | { kind: 'debian'; suite: string };

/** What a build was asked for, after validation. */
export interface ImageRequest {
  name: string;
  source: ImageSource;
  /** Sorted and free of duplicates, so equal requests produce equal labels and cache keys. */
  packages: string[];
}

/** The Docker reference of the berth image NAME. */
export function berthImageRef(name: string): string {
  return `berth/${name}:latest`;
}

/** Is this what a user types for a berth image (a bare name), rather than an engine reference? */
export function isPlainImageName(image: string): boolean {
  return NAME_PATTERN.test(image);
}

/** Parses `busybox` or `debian:SUITE`; anything else is INVALID_ARGUMENT on field `from`. */
export function parseImageSource(from: string): ImageSource {
  const parsed = imageSourceSchema.safeParse(from);
  if (!parsed.success) {
    throw new BerthError('INVALID_ARGUMENT', `Cannot build from "${from}": use busybox or debian:<suite>, for example debian:bookworm.`, {
      field: 'from',
    });
  }
  if (from === 'busybox') return { kind: 'busybox' };
  return { kind: 'debian', suite: from.slice('debian:'.length) };
}

/** Formats a source back into the `from` string users typed. */
export function formatImageSource(source: ImageSource): string {
  return source.kind === 'busybox' ? 'busybox' : `debian:${source.suite}`;
}

/** Validates a whole build request; every problem is INVALID_ARGUMENT naming its field. */
export function validateImageRequest(req: { name: string; from: string; packages: string[] }): ImageRequest {
  if (!NAME_PATTERN.test(req.name)) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `Invalid image name "${req.name}": use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit.`,
      { field: 'name' },
    );
  }
  const source = parseImageSource(req.from);
  const checked = imagesPostSchema.shape.packages.safeParse(req.packages);
  if (!checked.success) {
    const bad = req.packages.find((p) => !packageNameSchema.safeParse(p).success);
    const what =
      bad === undefined ? `give at most ${MAX_PACKAGES} packages` : `"${JSON.stringify(String(bad).slice(0, 80)).slice(1, -1)}" is not a Debian package name`;
    throw new BerthError('INVALID_ARGUMENT', `Invalid packages: ${what}.`, { field: 'packages' });
  }
  const packages = [...new Set(req.packages)].sort();
  if (source.kind === 'busybox' && packages.length > 0) {
    throw new BerthError('INVALID_ARGUMENT', 'A busybox image cannot have packages: build --from debian:bookworm to add Debian packages.', {
      field: 'packages',
    });
  }
  return { name: req.name, source, packages };
}

/** The labels an image built for this request carries. */
export function imageLabels(req: ImageRequest): Record<string, string> {
  return {
    [IMAGE_LABELS.image]: req.name,
    [IMAGE_LABELS.from]: formatImageSource(req.source),
    [IMAGE_LABELS.packages]: req.packages.join(','),
    [IMAGE_LABELS.managed]: 'true',
  };
}

/** Dockerfile-style instructions applied on import: the importer has no config of its own. */
export function importChanges(labels: Record<string, string>): string[] {
  const labelArgs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [`ENV PATH=${IMAGE_PATH}`, 'CMD ["/bin/sh"]', `LABEL ${labelArgs.join(' ')}`];
}

/** Reads the labels of an engine image back into the parts of an api Image it determines. */
export function parseImageLabels(labels: Record<string, string> | null | undefined): { name: string; from: string; packages: string[] } | null {
  if (labels?.[IMAGE_LABELS.managed] !== 'true') return null;
  const name = labels[IMAGE_LABELS.image];
  if (!name) return null;
  const packages = (labels[IMAGE_LABELS.packages] ?? '').split(',').filter(Boolean);
  return { name, from: labels[IMAGE_LABELS.from] ?? 'unknown', packages };
}

/**
 * The cache directory name of a Debian rootfs. Packages are hashed because a long list would
 * not fit in a file name; the suite stays readable so an operator can tell entries apart.
 */
export function rootfsCacheKey(suite: string, packages: string[]): string {
  const sorted = [...new Set(packages)].sort();
  if (sorted.length === 0) return `debian-${suite}-minbase`;
  const digest = createHash('sha256').update(sorted.join(',')).digest('hex').slice(0, 16);
  return `debian-${suite}-minbase-${digest}`;
}
