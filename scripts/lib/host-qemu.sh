# QEMU host preparation, sourced by host.sh: QEMU, its disk tool, and e2fsprogs to make VM
# disks without mounting anything. Idempotent. Nothing else is needed on the node: VMs use
# QEMU's user-mode network (loopback port forwards only), and berth decides between KVM and
# TCG by itself at run time (docs/providers/qemu.md).

BERTH_APT_PACKAGES="$BERTH_APT_PACKAGES qemu-system-x86 qemu-utils e2fsprogs"

ensure_qemu_host() {
  local tool
  for tool in qemu-system-x86_64 qemu-img mke2fs; do
    command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1 \
      || die "$tool is missing: install it with: apt-get install -y qemu-system-x86 qemu-utils e2fsprogs"
  done
  # VM images are made from a Debian rootfs with a kernel and sshd, and boot with berth's
  # initramfs built around the host's static busybox.
  [ -x /bin/busybox ] || die "busybox is missing: install it with: apt-get install -y busybox-static"
  if [ -e /dev/kvm ] && [ ! -w /dev/kvm ]; then
    say "note: /dev/kvm is not writable by $(id -un); VMs will run under TCG (add the user to the kvm group for KVM)"
  fi
}

BERTH_HOST_HOOKS="$BERTH_HOST_HOOKS ensure_qemu_host"
