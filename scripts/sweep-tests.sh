#!/usr/bin/env bash
# Removes what interrupted test runs left: for each ${TMPDIR:-/tmp}/kvmpool-test-PID-* directory whose
# test process PID is gone, the daemons serving homes in it, test hosts working in it, the mounts below
# it, loop devices on its files, then the directory.
# Directories of test processes still running (another run at the same time) are left alone.
set -uo pipefail
tmp="${TMPDIR:-/tmp}"
for dir in "$tmp"/kvmpool-test-*; do
  [ -d "$dir" ] || continue
  pid=$(basename "$dir" | sed -n 's/^kvmpool-test-\([0-9]\+\)-.*/\1/p')
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then continue; fi
  pkill -f -- "--home $dir/" 2>/dev/null || true
  pkill -KILL -f -- "kvmpool_work=$dir" 2>/dev/null || true
  findmnt -rn -o TARGET | grep -F -- "$dir/" | sort -r | xargs -r -n1 umount -l
  losetup -nO NAME,BACK-FILE | awk -v d="$dir/" 'index($2, d) == 1 { print $1 }' | xargs -r -n1 losetup -d
  rm -rf -- "$dir"
done
