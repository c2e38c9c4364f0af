#!/usr/bin/env python3
"""Does Aisle match exactly the documents tantivy matches? For every query of the synth query set,
in AND and OR mode, compares the exact number of matching documents (Aisle with
track_total_hits=true, tantivy's count) and reports the mean top-10 overlap.

    Benchmarks/consistency.py AISLE_INDEX TANTIVY_INDEX QUERIES.jsonl [--aisle BIN]

The tantivy index is one built by ../shared/bench (eng_tantivy.build); queries are built exactly
as eng_tantivy builds them.
"""
import argparse, json, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("aisle_index"); ap.add_argument("tantivy_index"); ap.add_argument("queries")
ap.add_argument("--aisle", default=os.path.join(os.getcwd(), ".build/release/aisle"))
ap.add_argument("--bench", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/bench"))
a = ap.parse_args()
sys.path.insert(0, a.bench)
import tantivy  # noqa: E402
import eng_tantivy  # noqa: E402
from common import read_queries  # noqa: E402

qs = read_queries(a.queries)
ts = eng_tantivy.Searcher(a.tantivy_index)
bad = 0
for mode in ("and", "or"):
    reqs = "".join(json.dumps({"q": " ".join(q["terms"]), "operator": mode, "limit": 10, "track_total_hits": True}) + "\n" for q in qs)
    out = subprocess.run([a.aisle, "search", "--index", a.aisle_index, "--stdin"], input=reqs, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    differ, overlap, n = 0, 0.0, 0
    for q, line in zip(qs, out):
        r = json.loads(line)
        occ = tantivy.Occur.Must if mode == "and" else tantivy.Occur.Should
        tq = tantivy.Query.boolean_query([(occ, ts._term_q(t)) for t in q["terms"]])
        res = ts.searcher.search(tq, 10, count=True)
        tids = [ts.searcher.doc(addr)["id"][0] for _s, addr in res.hits]
        if res.count != r["total"]:
            differ += 1
            if differ <= 5:
                print("  %s qid %s %r: aisle %d, tantivy %d" % (mode, q["qid"], q["q"], r["total"], res.count))
        if tids:
            overlap += len(set(tids) & {h["id"] for h in r["hits"]}) / len(tids)
            n += 1
    bad += differ
    print("%s: %d queries, %d with a different number of matches; mean top-10 overlap %.3f" % (mode, len(qs), differ, overlap / max(n, 1)))
sys.exit(1 if bad else 0)
