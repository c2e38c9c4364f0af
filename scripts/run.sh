#!/usr/bin/env bash
# The main job: installs what is missing, builds Aisle (release), indexes the sample catalog and
# searches it. Environment:
#   AISLE_CORPUS   corpus to index (default: corpora/sample-catalog.jsonl)
#   AISLE_DATA     where the index goes (default: .aisle-data)
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

for q in "sofa" "coffee table" '"kids bike"' "tv OR television" "lamp -floor"; do
  echo
  echo "\$ aisle search --index $DATA/index '$q'"
  "$AISLE" search --index "$DATA/index" --limit 5 "$q"
done
echo
echo "Search it yourself: $AISLE search --index $DATA/index 'your query'   (--explain, --json, --stdin)" >&2
