#!/usr/bin/env bash
# berth's main job in one command: installs what is missing (Debian, as root), builds berth,
# starts a server with a local node agent, builds a base image if there is none, creates the
# workspace `demo`, runs a command in it, gives the admin an SSH key and `ssh demo.berth`,
# and prints how to get in. Run again, it reuses what exists: the packages, the build (when
# the sources are unchanged), the running server, the image, the workspace, the key.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/host.sh

LISTEN="${BERTH_LISTEN:-127.0.0.1:7080}"
SSH_LISTEN="${BERTH_SSH_LISTEN:-127.0.0.1:2222}"
URL="http://$LISTEN"
if [ "$(id -u)" = 0 ]; then DATA_DIR="${BERTH_DATA_DIR:-/var/lib/berth}"; else DATA_DIR="${BERTH_DATA_DIR:-$HOME/.local/share/berth}"; fi
BERTH="$PWD/bin/berth"

require_node
# The build needs Go for berth-in (the helper copied into workspaces): that package goes in
# first, as two apt runs cannot overlap.
[ "${BERTH_SKIP_BUILD:-}" = 1 ] || ensure_packages "$BERTH_BUILD_APT_PACKAGES"
# The other Debian packages and berth's own build need nothing from each other: apt runs in the
# background while npm installs and compiles, and its messages are shown once it is done.
apt_log=$(mktemp)
( ensure_packages "$BERTH_APT_PACKAGES openssh-client" ) >"$apt_log" 2>&1 &
apt_pid=$!
finish_apt() {
  local status=0
  wait "$apt_pid" || status=$?
  cat "$apt_log" >&2
  rm -f "$apt_log"
  return "$status"
}
# Should the build fail, apt still finishes (never cut short mid-install) and says what it did.
trap 'finish_apt || true' EXIT
# The test suite runs this script against the build it already made.
[ "${BERTH_SKIP_BUILD:-}" = 1 ] || ensure_build
trap - EXIT
finish_apt
ensure_dockerd
ensure_provider_hosts

# Evaluates a JavaScript expression over the JSON on stdin (as `j`): prints strings, and
# exits 0 for true and 1 for false, so `berth ... --json | json 'EXPR'` works in conditions.
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let j;try{j=JSON.parse(s)}catch{process.exit(1)}const v=eval(process.argv[1]);if(typeof v==="string")console.log(v);process.exit(v===false?1:0)})' "$1"; }

# Whether the server answers its health check. Plain bash on /dev/tcp, as this runs in a
# polling loop and on every rerun; node does it for an IPv6 [address]:port.
healthy() {
  case "$LISTEN" in
    \[*) node -e "fetch('$URL/api/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" ;;
    *) (
      exec 3<>"/dev/tcp/${LISTEN%:*}/${LISTEN##*:}" || exit 1
      printf 'GET /api/v1/health HTTP/1.0\r\nHost: %s\r\n\r\n' "$LISTEN" >&3
      read -r -t 2 _ code _ <&3
      [ "$code" = 200 ]
    ) 2>/dev/null ;;
  esac
}

mkdir -p "$DATA_DIR"
if healthy; then
  say "a berth server already answers at $URL; reusing it"
else
  say "starting berth server with a local agent at $URL (log: $DATA_DIR/server.log)"
  nohup "$BERTH" server --listen "$LISTEN" --ssh-listen "$SSH_LISTEN" --data-dir "$DATA_DIR" --local-agent >>"$DATA_DIR/server.log" 2>&1 &
  echo $! >"$DATA_DIR/server.pid"
  for _ in $(seq 1 100); do healthy && break; sleep 0.2; done
  healthy || die "the server did not come up; see $DATA_DIR/server.log"
fi

[ -r "$DATA_DIR/admin-token" ] || die "no admin token at $DATA_DIR/admin-token: is the server at $URL using another data dir? Set BERTH_DATA_DIR to it."
export BERTH_SERVER="$URL"
export BERTH_TOKEN="$(cat "$DATA_DIR/admin-token")"
"$BERTH" login "$URL" --token "$BERTH_TOKEN" >/dev/null

say "waiting for the local node"
for _ in $(seq 1 100); do
  nodes=$("$BERTH" node ls)
  grep -Eq '^[^ ]+ +online ' <<<"$nodes" && break
  sleep 0.3
done
echo "$nodes"

if "$BERTH" image ls --json | json 'j.images.some(i => i.name === "base")'; then
  say "base image exists; reusing it"
else
  say "building the base image from the host's busybox"
  "$BERTH" image build base --from busybox
fi

if status=$("$BERTH" ws show demo --json 2>/dev/null | json 'j.status'); then
  say "workspace demo exists ($status); reusing it"
  [ "$status" = running ] || "$BERTH" ws start demo
else
  say "creating workspace demo"
  "$BERTH" ws create demo --image base
fi

say "running a command in demo"
"$BERTH" ws exec demo -- sh -c 'echo "hello from $(hostname): $(uname -sr)"'

# SSH for the admin: a key of their own registered with the server, the workspaces in
# ~/.ssh/config, and one real `ssh demo.berth` so the first one a person types just works.
say "setting up ssh demo.berth (key ~/.ssh/berth_ed25519, entries in ~/.ssh/config)"
"$BERTH" ssh-key generate
"$BERTH" config-ssh
say "ssh demo.berth"
# -F names the file config-ssh wrote ($HOME's), which is where ssh looks anyway unless HOME
# was pointed elsewhere (ssh reads the account's home directory, not $HOME).
ssh -F "$HOME/.ssh/config" -o BatchMode=yes demo.berth 'echo "hello over ssh from $(hostname)"'

cat <<MSG

berth is running: server $URL, data in $DATA_DIR, workspace demo is up.
  get a shell:        ssh demo.berth    (or: ./bin/berth ws exec -t demo -- sh)
  run a command:      ./bin/berth ws exec demo -- ls /
  see everything:     ./bin/berth ws ls; ./bin/berth node ls
  stop the server:    kill \$(cat $DATA_DIR/server.pid)
The CLI is logged in (config in ${BERTH_CONFIG:-~/.config/berth/config.json}).
MSG
