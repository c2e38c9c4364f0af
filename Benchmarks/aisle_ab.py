#!/usr/bin/env python3
"""Two builds of Aisle, interleaved query by query on one index: is a change free?

    Benchmarks/aisle_ab.py --a OLD_BIN --b NEW_BIN --index PLAIN_INDEX --queries queries-2k.jsonl
        [--modes text,text_or,price,facets,drill] [--rounds 3] [--json OUT]

`../shared/bench/pair.py`'s timing loop (same queries, same modes, A and B back to back with
alternating order, each build's own `took_us`), with two `aisle search --stdin` processes of
different binaries over the same index directory (an index built with `--analyzer plain`, as
pair.py's Aisle adapter builds it; both binaries must read its format). Prints p50/p95/p99 per
build and the ratios A/B; a ratio above 1 means B is faster. Hits must agree query by query.

With `--b-index`, B searches another index (the same binary may be given twice): e.g. the shipped
configuration (a `product` index, default ranking) against plain BM25 on a `plain` index:

    Benchmarks/aisle_ab.py --a BIN --b BIN --index PLAIN_INDEX --b-index PRODUCT_INDEX --modes text,text_or

(there the hits differ by design: the counts of differing queries are reported, not judged).
"""
import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="binary A (e.g. the build before a change)")
    ap.add_argument("--b", required=True, help="binary B")
    ap.add_argument("--index", required=True)
    ap.add_argument("--b-index", help="the index B searches (default: --index)")
    ap.add_argument("--queries", required=True)
    ap.add_argument("--modes", default="text,text_or,price,facets,drill")
    ap.add_argument("--rounds", default="3")
    ap.add_argument("--work", default=None)
    ap.add_argument("--json")
    ap.add_argument("--bench", default=BENCH, help="the shared bench directory (pair.py)")
    a = ap.parse_args()
    sys.path.insert(0, a.bench)
    import pair  # noqa: E402

    def engine(tag, binary):
        spec = importlib.util.spec_from_file_location("eng_aisle_" + tag, os.path.join(a.bench, "eng_aisle.py"))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        m._bin = lambda: binary
        return m

    engines = {"A": engine("a", os.path.abspath(a.a)), "B": engine("b", os.path.abspath(a.b))}
    pair.load_engine = lambda n: engines[n]
    work = a.work or os.path.join(os.path.dirname(os.path.abspath(a.index)), "aisle-ab")
    os.makedirs(work, exist_ok=True)
    for n in engines:
        link = os.path.join(work, n)
        if os.path.islink(link) or os.path.exists(link):
            os.remove(link)
        os.symlink(os.path.abspath(a.b_index if n == "B" and a.b_index else a.index), link)
    sys.argv = ["pair.py", "--corpus", "-", "--queries", a.queries, "--work", work, "--engines", "A,B", "--modes", a.modes,
                "--rounds", a.rounds, "--skip-build"] + (["--json", a.json] if a.json else [])
    pair.main()


if __name__ == "__main__":
    main()
