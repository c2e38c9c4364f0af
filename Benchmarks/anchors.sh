#!/usr/bin/env bash
# Aisle beside the anchor engines on the synthetic catalog (../shared/bench/run.sh).
#   Benchmarks/anchors.sh                      # aisle + tantivy at 1M
#   SIZES="100k 1m" ENGINES=aisle,tantivy,pisa Benchmarks/anchors.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
export AISLE_BIN="$PWD/.build/release/aisle"
exec ../shared/bench/run.sh
