/**
 * The script that applies dotfiles inside a workspace. It is a constant: everything that
 * comes from a user (URL, ref, install path, digest) reaches it as a positional argument of
 * an argv exec (`sh -c SCRIPT berth-dotfiles MODE DIGEST INSTALL URL REF`), never as shell
 * text, and each was checked against a narrow pattern at the API's edge (api/dotfiles.ts).
 *
 * Idempotent: the workspace keeps what it last applied in ~/.berth/dotfiles.applied (the
 * digest, and for a repository the commit); the same again prints `dotfiles: unchanged` and
 * touches nothing. A repository already cloned from the same URL is fetched and reset, never
 * cloned twice. Without an install script the dotfiles' top-level dot-files are linked into
 * $HOME (as Coder and DevPod do), an existing file kept once as NAME.berth-backup.
 */

/** The last line the script prints when it changed nothing. */
export const UNCHANGED_LINE = 'dotfiles: unchanged';
/** The last line the script prints when it applied. */
export const APPLIED_LINE = 'dotfiles: applied';
/** Exit status when git is missing from the workspace. */
export const EXIT_NO_GIT = 3;
/** Exit status when the named install script is not in the dotfiles. */
export const EXIT_NO_INSTALL = 4;

/** Scripts run by default, in this order, when no install script is named (Coder's list). */
export const DEFAULT_INSTALL_SCRIPTS = ['install.sh', 'install', 'bootstrap.sh', 'bootstrap', 'script/bootstrap', 'setup.sh', 'setup', 'script/setup'];

/** The script itself (POSIX sh: busybox's sh runs it too). */
export const APPLY_SCRIPT = `set -eu
mode=$1; digest=$2; install=$3; url=$4; ref=$5
: "\${HOME:=/root}"
root="$HOME/.berth"; dir="$root/dotfiles"; mark="$root/dotfiles.applied"
say() { printf 'dotfiles: %s\\n' "$*"; }
mkdir -p "$root"
if [ "$mode" = dir ]; then
  new="$root/dotfiles.new"
  rm -rf "$new"; mkdir -p "$new"
  tar -x -f - -C "$new"
  state="$digest"
  if [ -f "$mark" ] && [ "$(cat "$mark")" = "$state" ] && [ -d "$dir" ]; then rm -rf "$new"; say unchanged; exit 0; fi
  rm -rf "$dir"; mv "$new" "$dir"
  say "unpacked into $dir"
else
  if ! command -v git >/dev/null 2>&1; then
    echo "dotfiles: git is not installed in this workspace; add it to the image, or upload a folder with berth dotfiles set DIR" >&2; exit ${EXIT_NO_GIT}
  fi
  if [ -d "$dir/.git" ] && [ "$(git -C "$dir" config --get remote.origin.url || true)" = "$url" ]; then
    if [ -n "$ref" ]; then git -C "$dir" fetch --quiet --depth 1 origin "$ref"; else git -C "$dir" fetch --quiet --depth 1 origin; fi
    git -C "$dir" reset --quiet --hard FETCH_HEAD
    say "fetched $url"
  else
    rm -rf "$dir"
    if [ -n "$ref" ]; then git clone --quiet --depth 1 --branch "$ref" -- "$url" "$dir"; else git clone --quiet --depth 1 -- "$url" "$dir"; fi
    say "cloned $url"
  fi
  state="$digest $(git -C "$dir" rev-parse HEAD)"
  if [ -f "$mark" ] && [ "$(cat "$mark")" = "$state" ]; then say unchanged; exit 0; fi
fi
cd "$dir"
if [ -n "$install" ]; then
  if [ ! -f "$install" ]; then echo "dotfiles: the install script $install is not in the dotfiles" >&2; exit ${EXIT_NO_INSTALL}; fi
  say "running $install"; sh "./$install"
else
  ran=
  for s in ${DEFAULT_INSTALL_SCRIPTS.join(' ')}; do
    if [ -f "$s" ]; then say "running $s"; sh "./$s"; ran=1; break; fi
  done
  if [ -z "$ran" ]; then
    for f in .[!.]* ..?*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      [ "$f" = .git ] && continue
      target="$HOME/$f"
      if [ -e "$target" ] && [ ! -L "$target" ]; then
        if [ -e "$target.berth-backup" ]; then say "left ~/$f alone: it is not a link and ~/$f.berth-backup exists"; continue; fi
        mv "$target" "$target.berth-backup"; say "kept the old ~/$f as ~/$f.berth-backup"
      fi
      ln -sfn "$dir/$f" "$target"
      say "linked ~/$f"
    done
  fi
fi
printf '%s\\n' "$state" > "$mark"
say applied
`;

/** The argv that runs the script, as the workspace's user (the spec's `user`; root when none). */
export function applyArgv(a: {
  mode: 'dir' | 'repo';
  digest: string;
  install: string | null;
  url: string | null;
  ref: string | null;
  user?: string | null;
}): string[] {
  const argv = ['sh', '-c', APPLY_SCRIPT, 'berth-dotfiles', a.mode, a.digest, a.install ?? '', a.url ?? '', a.ref ?? ''];
  // The exec path runs as root. Another user is reached the way the node runs the spec's
  // hooks (agent/runtime/spec/hooks.ts): through `su`, which busybox and Debian both have, with
  // every word quoted, so su's shell sees the same argv. The user name passed the spec's
  // Linux-user pattern; su sets HOME to that user's.
  if (!a.user || a.user === 'root') return argv;
  return ['su', '-s', '/bin/sh', '-c', argv.map(shellWord).join(' '), a.user];
}

/** One word for sh: as it is when plain, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
