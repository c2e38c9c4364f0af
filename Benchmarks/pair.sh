#!/usr/bin/env bash
# Aisle and one anchor, interleaved query by query (../shared/bench/pair.py).
#   Benchmarks/pair.sh                         # text and text_or modes, 2 builds each, 3 rounds
#   MODES=text,text_or,price,facets,drill ANCHOR=tantivy Benchmarks/pair.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${BENCH_DATA:-${TMPDIR:-/tmp}/aisle-bench}"
G=../shared/corpora/synth
C="$DATA/corpora"
mkdir -p "$C"
[ -f "$C/catalog-1m.jsonl" ] || python3 "$G/gen_catalog.py" --products 1000000 --seed 42 --out "$C/catalog-1m.jsonl"
[ -f "$C/queries-2k.jsonl" ] || python3 "$G/gen_queries.py" --queries 2000 --seed 42 --qseed 7 --out "$C/queries-2k.jsonl"
python3 -c "import tantivy" 2>/dev/null || python3 -m pip install -q tantivy
swift build -c release
export AISLE_BIN="$PWD/.build/release/aisle"
python3 ../shared/bench/pair.py --corpus "$C/catalog-1m.jsonl" --queries "$C/queries-2k.jsonl" \
  --work "$DATA/pair" --engines "aisle,${ANCHOR:-tantivy}" --modes "${MODES:-text,text_or}" \
  --builds "${BUILDS:-2}" --rounds "${ROUNDS:-3}" --json "$DATA/pair.json" "$@"
