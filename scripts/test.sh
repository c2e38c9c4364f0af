#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, runs every test target.
#   scripts/test.sh                 # everything
#   scripts/test.sh --filter Oracle # pass arguments on to `swift test`
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== build" >&2
swift build --build-tests
echo "== test" >&2
swift test --skip-build "$@"
