#!/usr/bin/env bash
# Removes what interrupted test runs left: for each ${TMPDIR:-/tmp}/kvmpool-test-PID-* directory whose
# test process PID is gone, the daemons serving homes in it, their VMs, test hosts working in it, the
# mounts below it, loop devices on its files, then the directory.
# Directories of test processes still running (another run at the same time) are left alone.
set -uo pipefail
tmp="${TMPDIR:-/tmp}"
for dir in "$tmp"/kvmpool-test-*; do
  [ -d "$dir" ] || continue
  pid=$(basename "$dir" | sed -n 's/^kvmpool-test-\([0-9]\+\)-.*/\1/p')
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then continue; fi
  pkill -f -- "--home $dir/" 2>/dev/null || true
  # VMs of test daemons (qemu outlives its daemon): their monitor sockets live in the directory.
  pkill -KILL -f -- "unix:$dir/" 2>/dev/null || true
  pkill -KILL -f -- "kvmpool_work=$dir" 2>/dev/null || true
  # Test Ceph clusters' daemons (test/helpers/ceph.ts): started with their configuration in the directory;
  # Ceph tools a test daemon ran, with a key file of its home.
  pkill -KILL -f -- "-c $dir/" 2>/dev/null || true
  pkill -KILL -f -- "--keyfile $dir/" 2>/dev/null || true
  # Test etcds (test/helpers/etcd.ts), their data in the directory.
  pkill -KILL -f -- "--data-dir $dir/" 2>/dev/null || true
  findmnt -rn -o TARGET | grep -F -- "$dir/" | sort -r | xargs -r -n1 umount -l
  losetup -nO NAME,BACK-FILE | awk -v d="$dir/" 'index($2, d) == 1 { print $1 }' | xargs -r -n1 losetup -d
  rm -rf -- "$dir"
done

# Network tests name their namespaces and interfaces kt<PID><letter>...; kvmpool's own interfaces for
# their networks carry the alias kvmpool:kt<PID>... Those of runs whose process is gone are removed.
dead() { [ ! -d "/proc/$1" ]; }
for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
  pid=$(sed -n 's/^kt\([0-9]\+\)[a-z].*/\1/p' <<<"$ns")
  if [ -n "$pid" ] && dead "$pid"; then ip netns del "$ns"; fi
done
ip -j link show 2>/dev/null | python3 -c '
import json, re, sys
for l in json.load(sys.stdin):
    alias = l.get("ifalias", "")
    m = re.match(r"kt(\d+)[a-z]", l["ifname"]) if alias == "kvmpool-test" else re.match(r"kvmpool:kt(\d+)[a-z]", alias)
    if m: print(m.group(1), l["ifname"])
' | while read -r pid name; do
  if dead "$pid"; then ip link del "$name" 2>/dev/null || true; fi
done
