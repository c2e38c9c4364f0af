#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, runs every test target.
#   scripts/test.sh                 # everything, then the relevance gate on corpora/relevance
#   scripts/test.sh --filter Oracle # pass arguments on to `swift test`
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== build" >&2
swift build --build-tests
echo "== test" >&2
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  echo "== relevance gate (corpora/relevance/baseline.json)" >&2
  "$(swift build --show-bin-path)/aisle" eval gate --baseline corpora/relevance/baseline.json --quiet
fi
