#!/usr/bin/env bash
# Installs what kvmpool needs and is missing: Debian packages, npm dependencies, the build.
# Safe to run again: each step checks first. Used by `npm start`, `npm test` and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: those of the programs kvmpool, its tests and scripts start (scripts/programs.tsv),
# what node-gyp builds the native SQLite module with (python3, make, g++), and qemu's protocol drivers.
packages=()
declare -A seen=()
while IFS=$'\t' read -r program package use; do
  case "$program" in '' | '#'*) continue ;; esac
  case "$use" in optional:*) continue ;; esac
  [ -n "${seen[$package]:-}" ] && continue
  seen[$package]=1
  packages+=("$package")
done < scripts/programs.tsv
packages+=(python3 make g++)
# qemu's block drivers for protocols (iscsi: direct iscsi pools; rbd), loaded by qemu and qemu-img as modules;
# libvirt's rbd pool backend, for the benchmark's libvirt column beside rbd pools.
packages+=(qemu-block-extra libvirt-daemon-driver-storage-rbd)
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

# npm dependencies, unless node_modules holds exactly what package-lock.json names (npm's record of what
# it installed is node_modules/.package-lock.json; a file's date says nothing after a checkout).
# Native modules (better-sqlite3) build from source, never a downloaded binary.
installed() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
    for (const [dir, p] of Object.entries(want)) {
      if (dir === "" || (p.optional && !have[dir])) continue;
      if (have[dir]?.version !== p.version || !fs.existsSync(dir)) process.exit(1);
    }' 2>/dev/null
}
export npm_config_build_from_source=true
if ! installed; then
  npm ci --no-audit --no-fund
fi
node_modules/.bin/tsc -p tsconfig.json
