/**
 * berth's init inside a virtual machine, in two stages of busybox sh. Stage 1 runs from the
 * initramfs: it loads the virtio modules, configures QEMU's user-mode network, mounts the
 * disks by label (root overlay, home, per-workspace seed) and hands over to stage 2 on the
 * real root. Stage 2 is PID 1 there: it runs sshd with the workspace's host key and
 * authorized key from the seed, reaps orphans, and powers the machine off on SIGTERM or on a
 * press of the ACPI power button (QMP `system_powerdown`). No systemd: a VM workspace must
 * boot in seconds under TCG, and stop on request in well under a second.
 */

/** Disk labels stage 1 looks for; the provider makes the disks with these labels. */
export const DISK_LABELS = { root: 'berth-root', home: 'berth-home', seed: 'berth-seed' } as const;

/** The line stage 2 writes to the console once sshd runs; boot logs are searched for it. */
export const GUEST_READY_LINE = 'berth-guest: ready';

/** Stage 1: /init of the initramfs. */
export const GUEST_INIT = `#!/bin/sh
# berth guest init, stage 1 (initramfs). The seed disk carries this workspace's keys.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
exec >/dev/console 2>&1
fail() { echo "berth-guest: failed: $*"; sync; poweroff -f; }
echo "berth-guest: stage 1"
for m in /modules/*.ko; do insmod "$m" || echo "berth-guest: could not load $m"; done
# virtio disks appear asynchronously, shortly after their driver loads.
disk() {
  n=0
  until d=$(findfs "LABEL=$1" 2>/dev/null); do
    n=$((n + 1)); [ $n -gt 400 ] && fail "no disk labelled $1"
    usleep 25000
  done
  echo "$d"
}
mount -t ext4 -o rw "$(disk ${DISK_LABELS.root})" /newroot || fail "cannot mount the root disk"
mount -t ext4 -o ro "$(disk ${DISK_LABELS.seed})" /seed || fail "cannot mount the seed disk"
mkdir -p /newroot/root /newroot/run /newroot/dev /newroot/proc /newroot/sys
mount -t ext4 -o rw "$(disk ${DISK_LABELS.home})" /newroot/root || fail "cannot mount the home disk"
echo "berth-guest: disks mounted"
# QEMU user-mode networking: fixed guest address, its gateway and its DNS forwarder.
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 || fail "no network card"
echo "nameserver 10.0.2.3" > /newroot/etc/resolv.conf
hostname "$(cat /seed/hostname)"
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mkdir -p /newroot/run/berth /newroot/run/sshd
cp /bin/busybox /stage2 /seed/authorized_keys /seed/ssh_host_ed25519_key /newroot/run/berth/
chmod 600 /newroot/run/berth/authorized_keys /newroot/run/berth/ssh_host_ed25519_key
cat > /newroot/run/berth/sshd_config <<'EOF'
HostKey /run/berth/ssh_host_ed25519_key
AuthorizedKeysFile /run/berth/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 64
MaxStartups 100
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
EOF
umount /seed
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /run/berth/busybox sh /run/berth/stage2
`;

/** Stage 2: PID 1 on the real root, started by switch_root. */
export const GUEST_STAGE2 = `# berth guest init, stage 2: PID 1 on the workspace's root disk.
B=/run/berth/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
exec >/dev/console 2>&1 </dev/null
mkdir -p /dev/pts /dev/shm
$B mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$B mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
off() {
  trap '' TERM USR2 INT
  kill -TERM -1 2>/dev/null; $B usleep 300000; kill -KILL -1 2>/dev/null
  sync; $B umount /root; $B mount -o remount,ro /
  # With -no-reboot QEMU exits on a reset too, should ACPI power-off be missing.
  $B poweroff -f; $B reboot -f
}
trap off TERM USR2 INT
# The ACPI power button is an input device; any event on it is a request to shut down.
for ev in /sys/class/input/event*; do
  [ -e "$ev/device/name" ] && $B grep -q "Power Button" "$ev/device/name" || continue
  ( $B head -c 1 "/dev/input/\${ev##*/}" >/dev/null && kill -USR2 1 ) &
done
/usr/sbin/sshd -D -e -f /run/berth/sshd_config &
echo "${GUEST_READY_LINE}"
# wait also reaps orphans that the kernel hands to PID 1; a trap interrupts it.
while :; do wait; $B sleep 1; done
`;
