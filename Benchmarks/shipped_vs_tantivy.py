#!/usr/bin/env python3
"""Aisle's shipped configuration against tantivy with English stemming and fuzzy terms, interleaved
query by query (`../shared/bench/pair.py`'s loop).

    Benchmarks/shipped_vs_tantivy.py --aisle BIN --aisle-index PRODUCT_INDEX --corpus CATALOG.jsonl \\
        --queries queries-2k.jsonl --work DIR [--modes text,text_or] [--rounds 2] [--json OUT]

A = tantivy (`Benchmarks/eng_tantivy_stem.py`), built once into DIR/A unless it is there already;
B = Aisle on an index built with the default `product` analyzer, searched with the default ranking
(typo tolerance, compounds, coordination, proximity, feedback, relaxation). Ratios are A/B: above 1,
Aisle is faster. The engines match different products by design (different analysis), so the
differing-queries count is reported, not judged.
"""
import argparse
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--aisle-index", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--modes", default="text,text_or")
    ap.add_argument("--rounds", default="2")
    ap.add_argument("--json")
    ap.add_argument("--bench", default=BENCH)
    a = ap.parse_args()
    sys.path.insert(0, a.bench)
    sys.path.insert(0, HERE)
    import pair  # noqa: E402
    import eng_tantivy_stem  # noqa: E402

    spec = importlib.util.spec_from_file_location("eng_aisle_shipped", os.path.join(a.bench, "eng_aisle.py"))
    aisle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aisle)
    binary = os.path.abspath(a.aisle)
    aisle._bin = lambda: binary
    engines = {"A": eng_tantivy_stem, "B": aisle}
    pair.load_engine = lambda n: engines[n]

    os.makedirs(a.work, exist_ok=True)
    tdir = os.path.join(a.work, "A")
    if not os.path.exists(os.path.join(tdir, "meta.json")):
        os.makedirs(tdir, exist_ok=True)
        t0 = time.time()
        eng_tantivy_stem.build(a.corpus, tdir)
        print("built tantivy (en_stem) in %.0f s" % (time.time() - t0), file=sys.stderr, flush=True)
    link = os.path.join(a.work, "B")
    if os.path.islink(link) or os.path.exists(link):
        os.remove(link)
    os.symlink(os.path.abspath(a.aisle_index), link)
    sys.argv = ["pair.py", "--corpus", "-", "--queries", a.queries, "--work", a.work, "--engines", "A,B",
                "--modes", a.modes, "--rounds", a.rounds, "--skip-build"] + (["--json", a.json] if a.json else [])
    pair.main()


if __name__ == "__main__":
    main()
