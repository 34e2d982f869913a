/**
 * Dotfiles per user: a git repository cloned inside each new workspace, or a folder the CLI
 * uploads (a tar archive), applied at create and again on `berth dotfiles apply NAME`.
 * Everything here ends up as an argument of a command in the workspace, so each value is
 * checked against a narrow pattern at the edge (see docs/config.md#dotfiles).
 */
import { z } from 'zod';

/** Largest uploaded dotfiles folder, as its tar archive: dotfiles are text, not a project (and its base64 must fit the server's 1 MiB request limit). */
export const MAX_DOTFILES_ARCHIVE_BYTES = 512 * 1024;
/** Most files an uploaded folder may hold. */
export const MAX_DOTFILES_FILES = 1000;

/**
 * Git URLs berth clones: https://, ssh://, git://, scp-style `user@host:path`, and file://
 * (a path inside the workspace itself, such as a repository the image or a volume holds).
 * Plain http:// is refused (no integrity), and so is every other transport: git's `ext::`
 * runs commands, and `-` first would read as an option.
 */
export const DOTFILES_URL_PATTERN =
  /^(?:(?:https|ssh|git):\/\/[A-Za-z0-9._~%@:[\]-]+(?:\/[A-Za-z0-9._~%+@:=/-]*)?|file:\/\/\/[A-Za-z0-9._~%+@=/-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~%+@=/-]+)$/;

/** A git URL of an allowed scheme. */
export const dotfilesUrlSchema = z
  .string()
  .max(2048, 'use a URL of at most 2048 characters')
  .regex(DOTFILES_URL_PATTERN, 'use a git URL with https://, ssh://, git:// or file:/// (or user@host:path); other transports are refused');

/** A branch or tag to check out: git's ref characters, never starting with `-` or holding `..`. */
export const dotfilesRefSchema = z
  .string()
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/, 'use a branch or tag name (letters, digits, ., _, / and -, not starting with -)');

/**
 * The install script: a path relative to the dotfiles' top folder, run with `sh`. Not a shell
 * command line: berth never hands user text to a shell, only argv.
 */
export const dotfilesInstallSchema = z
  .string()
  .max(255)
  .regex(
    /^(?![/-])(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]{1,255}$/,
    'use the path of a script inside the dotfiles, such as install.sh or scripts/setup (no leading / or -, no ..)',
  );

/** Body of PUT /dotfiles. */
export const dotfilesPutSchema = z.strictObject({
  source: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('repo'), url: dotfilesUrlSchema, ref: dotfilesRefSchema.optional() }),
    z.strictObject({
      type: z.literal('dir'),
      /** base64 of a tar archive of regular files and folders (no links, no `..`). */
      archive: z
        .string()
        .max(Math.ceil(MAX_DOTFILES_ARCHIVE_BYTES / 3) * 4, `upload at most ${MAX_DOTFILES_ARCHIVE_BYTES / 1024} KiB of dotfiles`)
        .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'send the archive as base64'),
    }),
  ]),
  install: dotfilesInstallSchema.optional(),
});
export type DotfilesPut = z.input<typeof dotfilesPutSchema>;

/** A user's dotfiles as the API shows them. */
export const dotfilesSchema = z.object({
  source: z.enum(['repo', 'dir']),
  url: z.string().nullable(),
  ref: z.string().nullable(),
  files: z.number().int().nullable(),
  bytes: z.number().int().nullable(),
  /** sha256 of what is applied (for a repo: its URL, ref and install; the commit is the workspace's). */
  digest: z.string(),
  install: z.string().nullable(),
  updatedAt: z.string(),
});
export type Dotfiles = z.infer<typeof dotfilesSchema>;

/** GET /dotfiles: null when none are set. */
export const dotfilesGetSchema = z.object({ dotfiles: dotfilesSchema.nullable() });

/** What applying dotfiles in a workspace did. */
export const dotfilesApplySchema = z.object({
  workspace: z.string(),
  /** False when the workspace already had exactly these dotfiles applied. */
  changed: z.boolean(),
  /** What the apply printed (clone, install script), cut to a readable size. */
  log: z.array(z.string()),
});
export type DotfilesApply = z.infer<typeof dotfilesApplySchema>;
