#!/usr/bin/env bash
# The main job: installs what is missing, builds Aisle (release), indexes the sample catalog and
# serves the search API. Environment:
#   AISLE_CORPUS   corpus to index (default: corpora/sample-catalog.jsonl)
#   AISLE_DATA     where the index goes (default: .aisle-data)
#   AISLE_HOST / AISLE_PORT   where to serve (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

CORPUS="${AISLE_CORPUS:-corpora/sample-catalog.jsonl}"
DATA="${AISLE_DATA:-.aisle-data}"
mkdir -p "$DATA"

echo "== building (release)" >&2
swift build -c release
AISLE=".build/release/aisle"

echo "== indexing $CORPUS" >&2
"$AISLE" index --corpus "$CORPUS" --index "$DATA/index" --overwrite

for q in "sofa" '"coffee table"' "tv OR television"; do
  echo
  echo "\$ aisle search --index $DATA/index '$q'"
  "$AISLE" search --index "$DATA/index" --limit 3 "$q"
done
HOST="${AISLE_HOST:-127.0.0.1}"
PORT="${AISLE_PORT:-8080}"
echo
echo "== serving on http://$HOST:$PORT  (Ctrl-C stops)" >&2
echo "   curl 'http://$HOST:$PORT/api/v1/products/search?q=sofa&category=Furniture&sort=price_asc'" >&2
echo "   curl -XPOST http://$HOST:$PORT/api/v1/search -d '{\"q\": \"lamp\", \"facets\": [\"brand\", \"price\"]}'" >&2
exec "$AISLE" serve --index "$DATA/index" --host "$HOST" --port "$PORT"
