#!/usr/bin/env bash
# Installs what kvmpool needs and is missing: Debian packages (qemu-utils), npm dependencies, the build.
# Safe to run again: each step checks first. Used by `npm start` and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the daemon and the tests use: qemu-img and qemu-io, mount/losetup/findmnt/fallocate,
# file systems for fs pools (mkfs.ext4, mkfs.xfs with reflink, mkfs.btrfs), LVM, sfdisk, script(1),
# procps; iproute2 for networks (ping for their tests); qemu-system-x86 for VMs (the tests' guests: busybox,
# cpio; virt-xml-validate from libvirt-clients checks the XML kvmpool gives libvirt users); the user-mode
# Linux test host (a kernel with device-mapper, partitions and 802.1Q; gcc builds its shim, binutils checks
# the accelerator probe); and what builds the native SQLite module (python3, make, g++).
packages=(qemu-utils qemu-system-x86 util-linux bsdutils procps e2fsprogs xfsprogs btrfs-progs lvm2 fdisk iproute2 iputils-ping
  busybox-static cpio libvirt-clients user-mode-linux kmod gcc binutils python3 make g++)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "kvmpool needs these Debian packages: ${missing[*]} (run as root to install them)" >&2; exit 1; fi
  echo "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# npm dependencies; native modules (better-sqlite3) build from source, never a downloaded binary.
export npm_config_build_from_source=true
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
