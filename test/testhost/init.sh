#!/bin/sh
# init (pid 1) of the user-mode Linux test host. The root is the host's file system over hostfs; the
# harness passes its work directory as kvmpool_work=DIR on the kernel command line (the kernel hands
# unknown key=value parameters to init as environment). DIR holds `command` (argv, one per line),
# and receives `output` (stdout and stderr of the command) and `status` (its exit code).
# With kvmpool_loop=1 it runs shell scripts instead, one after another, until it is told to halt:
# DIR/q/cmd.N (N from 1), answered by out.N and rc.N; DIR/q/halt ends it. With
# kvmpool_lock=ID:NAME it is a host of a shared VG: LVM uses lvmlockd, and wdmd (on softdog), sanlock
# (host name NAME) and lvmlockd (host_id ID, lockspace io_timeout kvmpool_io_timeout, default 2 s) run.
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
  locking=0
  [ -n "$kvmpool_lock" ] && locking=1
  cat > "$work/lvm/lvm.conf" <<CONF
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
  use_lvmlockd = $locking
}
backup {
  backup = 0
  archive = 0
}
CONF
  export LVM_SYSTEM_DIR="$work/lvm"
  ip link set lo up
  if [ -n "$kvmpool_lock" ]; then
    printf 'local {\n  host_id = %s\n}\n' "${kvmpool_lock%%:*}" > "$work/lvm/lvmlocal.conf"
    # wdmd keeps its state in /dev/shm; softdog only logs when it would fire (soft_noboot).
    mkdir -p /dev/shm /run/lvm /run/sanlock /run/wdmd
    mount -t tmpfs tmpfs /dev/shm
    modprobe -d /run/modroot softdog soft_noboot=1 || echo "modprobe softdog failed"
    wdmd
    sanlock daemon -e "${kvmpool_lock#*:}"
    lvmlockd -o "${kvmpool_io_timeout:-2}"
    for i in $(seq 1 100); do [ -S /run/lvm/lvmlockd.socket ] && break; sleep 0.1; done
  fi
} > "$log" 2>&1

# Temporary files of the command stay in the work directory, which the harness removes.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
cd "$work"
if [ "$kvmpool_loop" = 1 ]; then
  q="$work/q"
  n=1
  echo ready > "$q/ready"
  while [ ! -e "$q/halt" ]; do
    # A glob reads the directory anew over hostfs; a plain lookup may answer from a stale negative entry.
    for f in "$q"/cmd.*; do :; done
    if [ -e "$q/cmd.$n" ]; then
      sh "$q/cmd.$n" > "$q/out.$n" 2>&1
      echo $? > "$q/rc.$n.tmp"
      mv "$q/rc.$n.tmp" "$q/rc.$n"
      n=$(expr "$n" + 1)
    else
      sleep 0.1
    fi
  done
  sync
  halt -f -d
fi
# argv of the command, one per line (no shell word splitting of paths).
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < "$work/command"
"$@" > "$work/output" 2>&1
echo $? > "$work/status.tmp"
mv "$work/status.tmp" "$work/status"
sync
halt -f -d
