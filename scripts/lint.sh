#!/usr/bin/env bash
# The project's own rules: ESLint (eslint.config.js) and the layers and arrows (.dependency-cruiser.cjs).
# `npm test` runs it before the tests; a change that breaks a rule fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/eslint --max-warnings 0 src test bench
node_modules/.bin/depcruise --config .dependency-cruiser.cjs src test bench
