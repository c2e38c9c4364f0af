#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, runs every test target.
#   scripts/test.sh                 # everything, then the relevance gate on corpora/relevance
#   scripts/test.sh --filter Oracle # pass arguments on to `swift test`
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Integration tests run against real servers: a throwaway PostgreSQL and Redis, and the MongoDB
# wire-protocol test server (scripts/mongo_wire_server.py), started here and stopped on exit,
# unless AISLE_TEST_DATABASE_URL is already given.
if [ -z "${AISLE_TEST_DATABASE_URL:-}" ]; then
  export AISLE_PG_PORT="${AISLE_TEST_PG_PORT:-55439}" AISLE_REDIS_PORT="${AISLE_TEST_REDIS_PORT:-56389}" AISLE_MONGO_PORT="${AISLE_TEST_MONGO_PORT:-57027}"
  eval "$(scripts/services.sh start --mongo-wire)"
  trap 'scripts/services.sh stop' EXIT
  export AISLE_TEST_DATABASE_URL="$DATABASE_URL" AISLE_TEST_REDIS_URL="$REDIS_URL"
  unset DATABASE_URL REDIS_URL MONGODB_URI
fi

echo "== build" >&2
swift build --build-tests
echo "== test" >&2
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  echo "== relevance gate (corpora/relevance/baseline.json)" >&2
  "$(swift build --show-bin-path)/aisle" eval gate --baseline corpora/relevance/baseline.json --quiet
fi
