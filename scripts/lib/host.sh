# Host preparation shared by quickstart.sh and test-all.sh: installs what berth needs on
# Debian (when root) and starts the daemons there is no init system to start. Elsewhere it
# says precisely what to install and stops.

# golang-go builds berth-in, the helper berth copies into every workspace (native/berth-in).
BERTH_APT_PACKAGES="docker.io busybox-static debootstrap iproute2 procps ca-certificates golang-go"
# What `npm run build` itself needs (installed before the build, apart from the rest).
BERTH_BUILD_APT_PACKAGES="golang-go"
# What only the test suite needs on top (real peers for the SSH transport tests).
BERTH_TEST_APT_PACKAGES="openssh-server openssh-client"
# Web UI: the real browser its end-to-end test drives (never a downloaded browser build).
BERTH_TEST_APT_PACKAGES="$BERTH_TEST_APT_PACKAGES chromium"
# Functions that prepare a provider's host (bridge, kernel, ...), run after packages are in.
BERTH_HOST_HOOKS=""

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Node.js ≥ 20 is the one thing we do not install: pick your own version manager or package.
require_node() {
  command -v node >/dev/null 2>&1 || die "Node.js 20 or newer is required: install it (e.g. from nodejs.org or your package manager) and run this again."
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $(node --version) is too old: berth needs 20 or newer."
  command -v npm >/dev/null 2>&1 || die "npm is required alongside Node.js: install it and run this again."
}

missing_packages() {
  local missing=""
  for p in $1; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  echo "$missing"
}

# Installs the Debian packages berth needs, or explains what to install when it cannot.
ensure_packages() {
  local want="${1:-$BERTH_APT_PACKAGES}"
  if ! command -v dpkg-query >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
    for c in dockerd busybox debootstrap go; do
      command -v "$c" >/dev/null 2>&1 || die "this is not Debian, so berth cannot install for you: install Docker Engine (dockerd), busybox (static), debootstrap and Go 1.19 or newer (go), then run this again."
    done
    return 0
  fi
  local missing
  missing=$(missing_packages "$want")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    die "missing Debian packages:$missing — install them with: sudo apt-get install -y$missing   (or run this script as root)"
  fi
  say "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q $missing >/dev/null
}

docker_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Starts dockerd when nothing answers on its socket (there may be no init system to do it).
ensure_dockerd() {
  docker_up && return 0
  [ "$(id -u)" = 0 ] || die "the Docker engine is not running: start it (e.g. sudo systemctl start docker) and run this again."
  say "starting dockerd (log: /var/log/berth-dockerd.log)"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    nohup dockerd >/var/log/berth-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker_up && return 0; sleep 0.5; done
  die "dockerd did not come up within 30 s; see /var/log/berth-dockerd.log"
}

# Installs node modules (once per lockfile) and builds berth (tsc + the CLI bundle), skipping
# the build when nothing it reads changed since the last one.
ensure_build() {
  local stamp=node_modules/.berth-lock-stamp
  # The lockfile and which packages may run install scripts (package.json's allowScripts)
  # decide what npm ci makes; either changing means installing again.
  local modules
  modules=$( (cat package-lock.json; node -p 'JSON.stringify(require("./package.json").allowScripts)') | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$modules" ]; then
    say "installing node modules"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$modules" >"$stamp"
  fi
  local want
  want=$(build_inputs_hash)
  if [ -f dist/bundle/berth.js ] && [ -f dist/native/berth-in ] && [ "$(cat dist/.build-stamp 2>/dev/null)" = "$want" ]; then
    say "berth is built and its sources are unchanged; skipping the build"
    return 0
  fi
  say "building berth"
  npm run --silent build
  echo "$want" >dist/.build-stamp
}

# A hash over everything the build reads: sources (TypeScript and berth-in's Go), compiler and
# bundler settings, lockfile.
build_inputs_hash() {
  { find src -type f -name '*.ts' ! -name '*.test.ts' ! -name '*.test-support.ts' -print0 | sort -z | xargs -0 sha1sum
    find native -type f \( -name '*.go' -o -name go.mod \) -print0 | sort -z | xargs -0 sha1sum
    sha1sum tsconfig.json package.json package-lock.json scripts/bundle.mjs scripts/cli-snapshot.mjs scripts/build-native.mjs; } | sha1sum | cut -d' ' -f1
}

# Runs every provider's host preparation (each host-<provider>.sh registers one).
ensure_provider_hosts() {
  local hook
  for hook in $BERTH_HOST_HOOKS; do "$hook"; done
}

# Each provider keeps its host set-up in its own file next to this one.
for _f in "$(dirname "${BASH_SOURCE[0]}")"/host-*.sh; do
  [ -f "$_f" ] && . "$_f"
done
unset _f
