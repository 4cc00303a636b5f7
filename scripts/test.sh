#!/usr/bin/env bash
# The README's test command: builds, then runs every test file (unit tests next to the code, then test/).
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean build: no compiled test of a removed source file survives.
rm -rf dist
npx tsc -p tsconfig.json
if [ "$(id -u)" != 0 ]; then echo "kvmpool tests need root (loop devices, file ownership, /proc)" >&2; exit 1; fi
command -v qemu-img >/dev/null || { echo "qemu-img is missing: run 'bash scripts/setup.sh' or apt-get install qemu-utils" >&2; exit 1; }

bash scripts/sweep-tests.sh

mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
