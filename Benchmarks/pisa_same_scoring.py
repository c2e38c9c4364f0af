#!/usr/bin/env python3
"""Aisle's core against PISA when both score the same way.

`pair.py --engines aisle,pisa` compares different scoring functions: its PISA adapter indexes one
text field per product (title x3, brand x2, category, description, concatenated) and ranks with
plain BM25, while Aisle's adapter builds the catalog's four text fields and ranks with BM25F (a
norm and a frequency per field). This script builds an Aisle index of exactly the text PISA
indexes, as one field, then runs pair.py's own timing loop on it against the PISA index, and
reports how far the two engines' top 10 agree (with the four-field index too, for contrast).

    Benchmarks/pisa_same_scoring.py --aisle BIN --corpus catalog-1m.jsonl --queries queries-2k.jsonl \\
        --pisa-work DIR_WITH_pisa_INDEX [--four-field-index AISLE_PLAIN_INDEX] [--work DIR] [--rounds 3]

Run it with the Python environment that has the PISA module (see ../shared/bench/eng_pisa.py);
`--pisa-work` is a pair.py work directory whose `pisa/` index is already built.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--pisa-work", required=True, help="a pair.py work directory holding pisa/")
    ap.add_argument("--four-field-index", help="Aisle's usual plain index, for the agreement contrast")
    ap.add_argument("--work", default=None, help="where the one-field corpus and index go")
    ap.add_argument("--rounds", default="3")
    ap.add_argument("--overlap-queries", type=int, default=300)
    ap.add_argument("--bench", default=BENCH)
    a = ap.parse_args()
    sys.path.insert(0, a.bench)
    from common import read_corpus, read_queries  # noqa: E402

    pisa_dir = os.path.join(os.path.abspath(a.pisa_work), "pisa")
    if not os.path.isdir(pisa_dir):
        raise SystemExit("no PISA index at %s (build it with pair.py --engines aisle,pisa first)" % pisa_dir)
    work = os.path.abspath(a.work or os.path.join(os.path.abspath(a.pisa_work), "..", "pisa-same-scoring"))
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "one-field.jsonl")
    index = os.path.join(work, "aisle")
    built = os.path.isdir(index) and any(f.startswith("commit_") for f in os.listdir(index))
    if not built:
        # Exactly what eng_pisa.build writes per product, as one text field.
        with open(corpus, "w", encoding="utf-8") as f:
            for d in read_corpus(a.corpus):
                t, b = d["title"], d["brand_text"]
                text = " ".join([t, t, t, b, b, d["category_text"], d["description"]])
                f.write(json.dumps({"id": d["id"], "text": text}) + "\n")
        subprocess.run([a.aisle, "index", "--corpus", corpus, "--index", index, "--analyzer", "plain"], check=True)
    link = os.path.join(work, "pisa")
    if not os.path.exists(link):
        os.symlink(pisa_dir, link)

    env = dict(os.environ, AISLE_BIN=os.path.abspath(a.aisle))
    subprocess.run([sys.executable, os.path.join(a.bench, "pair.py"), "--corpus", a.corpus, "--queries", a.queries,
                    "--work", work, "--engines", "aisle,pisa", "--skip-build", "--rounds", a.rounds,
                    "--modes", "text,text_or"], check=True, env=env)

    # How far the rankings agree: top 10 of each engine, query by query.
    os.environ["AISLE_BIN"] = os.path.abspath(a.aisle)
    import eng_aisle  # noqa: E402
    import eng_pisa  # noqa: E402
    qs = read_queries(a.queries)[:a.overlap_queries]
    pisa = eng_pisa.Searcher(pisa_dir)
    indexes = [("one field (this index)", index)]
    if a.four_field_index:
        indexes.append(("four fields (BM25F)", a.four_field_index))
    for name, idx in indexes:
        s = eng_aisle.Searcher(idx)
        for mode in ("and", "or"):
            same = 0
            overlap = 0.0
            for q in qs:
                x = s.search(q["terms"], mode).ids
                y = pisa.search(q["terms"], mode).ids
                same += x == y
                overlap += len(set(x) & set(y)) / len(y) if y else 1.0
            print("%-24s %-3s top 10 identical %d/%d, mean overlap %.3f" % (name, mode, same, len(qs), overlap / len(qs)))
        s.close()


if __name__ == "__main__":
    main()
