#!/usr/bin/env bash
# Load on the HTTP API: faceted category pages (GET /api/v1/products/search with category, brand
# facet, price facet, sort, page) from wrk on loopback, against an index of the synthetic catalog.
#   Benchmarks/http_load.sh INDEX_DIR [seconds] [connections]
#   env: AISLE_BIN (a built aisle), AISLE_SERVE_ARGS (e.g. "--facet-cache-mb 0 --stored-cache-mb 0"),
#        WARMUP (seconds of unmeasured load first)
set -euo pipefail
cd "$(dirname "$0")/.."
INDEX="$1"; SECS="${2:-30}"; CONNS="${3:-16}"
command -v wrk >/dev/null || { echo "installing wrk" >&2; sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
# AISLE_BIN: a built aisle to use instead of building one; AISLE_SERVE_ARGS: extra serve flags.
if [ -z "${AISLE_BIN:-}" ]; then swift build -c release; AISLE_BIN=.build/release/aisle; fi
PORT=18099
# shellcheck disable=SC2086
"$AISLE_BIN" serve --index "$INDEX" --port $PORT ${AISLE_SERVE_ARGS:-} >/tmp/aisle-http-load.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
until curl -s "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.2; done
# Category pages (Benchmarks/browse_pages.lua): a department or department > category page, sometimes a query,
# a brand, a price range, a sort and a later page; all return brand, category and price facets.
# WARMUP: seconds of the same load first, not measured (the caches fill; default 0: a cold start).
if [ "${WARMUP:-0}" -gt 0 ]; then wrk -t1 -c"$CONNS" -d"${WARMUP}s" -s Benchmarks/browse_pages.lua "http://127.0.0.1:$PORT" >/dev/null; fi
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s Benchmarks/browse_pages.lua "http://127.0.0.1:$PORT" | tee /tmp/aisle-wrk.txt
# Resident memory of the server after the load.
echo "server RSS: $(ps -o rss= -p $SERVER) KiB"
# Heap and the like (anonymous) apart from mapped index files (file-backed, shared with the page cache).
grep -E 'RssAnon|RssFile' /proc/$SERVER/status 2>/dev/null | tr -s ' \t' ' ' | sed 's/^/server /' || true
