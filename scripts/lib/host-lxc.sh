# LXC host preparation, sourced by host.sh: the LXC tools (rsync for plain-copy clones), and
# a bridge for workspaces to attach to. Idempotent: running it again changes nothing.
# The bridge gets no NAT and no DHCP: berth gives each workspace a static address, and whether
# containers may reach beyond the node is the operator's choice (docs/providers/lxc.md).

BERTH_APT_PACKAGES="$BERTH_APT_PACKAGES lxc rsync"
BERTH_LXC_BRIDGE="${BERTH_LXC_BRIDGE:-lxcbr0}"
BERTH_LXC_BRIDGE_ADDR="${BERTH_LXC_BRIDGE_ADDR:-10.0.3.1/24}"

ensure_lxc_host() {
  command -v lxc-start >/dev/null 2>&1 || die "LXC is not installed: install it with: apt-get install -y lxc rsync"
  if [ "$(id -u)" != 0 ]; then
    ip -4 -o addr show dev "$BERTH_LXC_BRIDGE" 2>/dev/null | grep -q inet \
      || die "no bridge $BERTH_LXC_BRIDGE for LXC workspaces: create it as root (ip link add $BERTH_LXC_BRIDGE type bridge; ip addr add $BERTH_LXC_BRIDGE_ADDR dev $BERTH_LXC_BRIDGE; ip link set $BERTH_LXC_BRIDGE up)"
    return 0
  fi
  if ! ip link show dev "$BERTH_LXC_BRIDGE" >/dev/null 2>&1; then
    say "creating the LXC bridge $BERTH_LXC_BRIDGE ($BERTH_LXC_BRIDGE_ADDR)"
    ip link add "$BERTH_LXC_BRIDGE" type bridge
  fi
  # An existing bridge (lxc-net's, or one made by hand) keeps the address it has.
  if ! ip -4 -o addr show dev "$BERTH_LXC_BRIDGE" | grep -q inet; then
    ip addr add "$BERTH_LXC_BRIDGE_ADDR" dev "$BERTH_LXC_BRIDGE"
  fi
  ip link set "$BERTH_LXC_BRIDGE" up
  # Limits need the cpu and memory controllers: cgroup2, or the v1 hierarchies.
  local fs
  fs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null || true)
  case "$fs" in
    cgroup2fs) grep -qw memory /sys/fs/cgroup/cgroup.controllers || die "cgroup2 is mounted but has no memory controller: boot with cgroup_enable=memory" ;;
    tmpfs) [ -d /sys/fs/cgroup/cpu ] && [ -d /sys/fs/cgroup/memory ] || die "cgroup v1 is mounted without the cpu and memory hierarchies: mount them under /sys/fs/cgroup" ;;
    *)
      say "mounting cgroup2 on /sys/fs/cgroup (nothing was mounted there)"
      mount -t cgroup2 none /sys/fs/cgroup || die "could not mount cgroups on /sys/fs/cgroup: LXC cannot limit workspaces without them"
      ;;
  esac
  # With AppArmor on, LXC confines containers with its own profiles, which must be loaded
  # (an init system does it at boot; here there may be none).
  if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && command -v apparmor_parser >/dev/null 2>&1 \
    && [ -f /etc/apparmor.d/lxc-containers ] && ! grep -q lxc-container-default /sys/kernel/security/apparmor/profiles 2>/dev/null; then
    say "loading LXC's AppArmor profiles"
    apparmor_parser -r -W /etc/apparmor.d/lxc-containers || die "could not load /etc/apparmor.d/lxc-containers"
  fi
}

BERTH_HOST_HOOKS="$BERTH_HOST_HOOKS ensure_lxc_host"
