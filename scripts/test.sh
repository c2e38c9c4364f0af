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

# pytrec_eval (trec_eval's code, from PyPI) for the cross-checks of `aisle eval` against score.py;
# without it (no network) those tests skip, saying so.
if ! python3 -c "import pytrec_eval" >/dev/null 2>&1; then
  python3 -m pip install --quiet pytrec-eval-terrier >/dev/null 2>&1 \
    || python3 -m pip install --quiet --break-system-packages pytrec-eval-terrier >/dev/null 2>&1 \
    || echo "test: could not install pytrec-eval-terrier; the score.py cross-checks will skip" >&2
fi

echo "== module graph (scripts/check_imports.py: imports match Package.swift, the architecture's rules hold)" >&2
python3 scripts/check_imports.py
python3 scripts/check_imports.py --self-test | tail -1
python3 scripts/embed_storefront.py --check
echo "== build" >&2
swift build --build-tests
echo "== test" >&2
swift test --skip-build "$@"
if [ $# -eq 0 ]; then
  BIN="$(swift build --show-bin-path)/aisle"
  echo "== abuse: hostile requests against a real aisle serve (scripts/abuse.py)" >&2
  python3 scripts/abuse.py --aisle "$BIN" --quick
  echo "== index: kill -9 during updates, merges and commits of an index with a vector field, 5 times (scripts/crash_test.py --vectors)" >&2
  python3 scripts/crash_test.py --aisle "$BIN" --kills 5 --seed 7 --vectors --changes 20000
  echo "== orders: kill -9 during an order storm, 5 times, then every invariant (scripts/order_crash_test.py)" >&2
  python3 scripts/order_crash_test.py --aisle "$BIN" --kills 5 --seed 16
  echo "== Elasticsearch/OpenSearch clients: opensearch-py and elasticsearch-py 8 against aisle serve --data (scripts/es_clients_test.py)" >&2
  python3 scripts/es_clients_test.py --aisle "$BIN"
  echo "== search replicas: two aisle serve nodes behind HAProxy following the catalog; kill -9 one under load, catalog changes, a node added (scripts/replica_test.py)" >&2
  python3 scripts/replica_test.py --aisle "$BIN"
  echo "== storefront in headless Chromium: suggestions, facets, price, paging, hostile text, cart, login, checkout (scripts/browser_test.py)" >&2
  python3 scripts/browser_test.py --aisle "$BIN" --screenshots "$(swift build --show-bin-path)/screenshots"
  echo "== analytics: simulated shoppers with planted preferences against aisle serve; the reports and recommendations must find them (scripts/analytics_sim_test.py)" >&2
  python3 scripts/analytics_sim_test.py --aisle "$BIN"
  echo "== the sentence encoder in Swift against PyPI references: token ids vs the tokenizers package, embeddings vs a NumPy forward pass (scripts/tokenizer_check.py, scripts/embedding_check.py; aisle model install fetches the model)" >&2
  python3 scripts/tokenizer_check.py --aisle "$BIN"
  python3 scripts/embedding_check.py --aisle "$BIN"
  echo "== relevance gate (corpora/relevance/baseline.json)" >&2
  "$BIN" eval gate --baseline corpora/relevance/baseline.json --quiet
  if python3 -c "import pytrec_eval" >/dev/null 2>&1; then
    echo "== aisle eval against trec_eval (pytrec_eval) on the fixture run" >&2
    WORK="$(mktemp -d)"
    "$BIN" index --corpus corpora/sample-catalog.jsonl --index "$WORK/index" --quiet
    "$BIN" eval --index "$WORK/index" --queries corpora/relevance/queries.tsv --qrels corpora/relevance/qrels.tsv \
      --options-json '{"operator": "or"}' --write-run "$WORK/run.txt" --quiet >/dev/null
    python3 scripts/check_eval.py "$WORK/run.txt" corpora/relevance/qrels.tsv --aisle "$BIN" -- --k 1,5,10 --recall-k 10,100 | tail -1
    python3 scripts/check_eval.py "$WORK/run.txt" corpora/relevance/qrels.tsv --aisle "$BIN" -- --condensed --rel-min-gain 2 --min-judged 3 | tail -1
    rm -rf "$WORK"
  else
    echo "== skipped: aisle eval against trec_eval (python3 cannot import pytrec_eval)" >&2
  fi
fi
