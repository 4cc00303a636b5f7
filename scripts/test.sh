#!/usr/bin/env bash
# The README's test command: installs what is missing and builds (scripts/setup.sh, as `npm start` does),
# then runs every test file (unit tests next to the code, then test/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "kvmpool tests need root (loop devices, file ownership, /proc)" >&2; exit 1; fi
# A clean build: no compiled test of a removed source file survives.
rm -rf dist
bash scripts/setup.sh
bash scripts/lint.sh

bash scripts/sweep-tests.sh

mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
