#!/bin/sh
# init (pid 1) of the user-mode Linux test host. The root is the host's file system over hostfs; the
# harness passes its work directory as kvmpool_work=DIR on the kernel command line (the kernel hands
# unknown key=value parameters to init as environment). DIR holds `command` (argv, one per line),
# and receives `output` (stdout and stderr of the command) and `status` (its exit code).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
# The test host does not switch the AVX-512 registers between tasks (see uml-xstate.c): keep glibc's
# and OpenSSL's routines off them.
export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD
export OPENSSL_ia32cap=:~0xC0230000
work="$kvmpool_work"
log="$work/boot.log"
{
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t tmpfs -o mode=0755 tmpfs /run
  # The host has no /lib/modules to mount the test host's modules on: modprobe -d reads them elsewhere.
  mkdir -p /run/modroot/lib/modules
  mount --bind /usr/lib/uml/modules /run/modroot/lib/modules
  load() { for m in "$@"; do modprobe -d /run/modroot "$m" || echo "modprobe $m failed"; done; }
  # Modules the kernel loads by itself (the ciphers and hashes of a CIFS mount) come from there too.
  printf '#!/bin/sh\nexec /sbin/modprobe -d /run/modroot "$@"\n' > /run/modprobe
  chmod 755 /run/modprobe
  echo /run/modprobe > /proc/sys/kernel/modprobe
  load overlay
  # Tools write to /etc, /var and /root (LVM backups, wtmp): those writes stay inside the test host.
  mkdir -p /run/overlay
  for d in etc var root; do
    mkdir -p /run/overlay/$d/upper /run/overlay/$d/work
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/overlay/$d/upper,workdir=/run/overlay/$d/work" "/$d"
  done
  load dm-mod dm-thin-pool dm-snapshot dm-mirror dm-raid raid1 loop 8021q bridge veth bonding
  # LVM without udev: its own configuration, nodes made by LVM itself.
  mkdir -p "$work/lvm"
  cat > "$work/lvm/lvm.conf" <<'CONF'
devices {
  scan = [ "/dev" ]
  use_devicesfile = 0
  obtain_device_list_from_udev = 0
}
activation {
  udev_sync = 0
  udev_rules = 0
  verify_udev_operations = 1
  monitoring = 0
}
global {
  use_lvmpolld = 0
}
backup {
  backup = 0
  archive = 0
}
CONF
  export LVM_SYSTEM_DIR="$work/lvm"
  ip link set lo up
} > "$log" 2>&1

# Temporary files of the command stay in the work directory, which the harness removes.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
cd "$work"
# argv of the command, one per line (no shell word splitting of paths).
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < "$work/command"
"$@" > "$work/output" 2>&1
echo $? > "$work/status.tmp"
mv "$work/status.tmp" "$work/status"
sync
halt -f -d
