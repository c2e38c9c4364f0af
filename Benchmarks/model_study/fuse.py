#!/usr/bin/env python3
"""Offline hybrid fusion with any model's vectors (RELEVANCE.md, "A stronger model").

Aisle's default fusion, computed exactly from a lexical run and unit vectors: over the lexical
best 1000 and the 100 nearest titles, score = (1 − w) × lexical / best lexical + w × cosine.

    aisle eval --index HD_INDEX --queries queries.tsv --qrels qrels.tsv --preset homedepot \\
        --options-json '{"retrieval":"lexical"}' --depth 1000 --write-run lex1000.run
    python3 fuse.py --products products.tsv --queries queries.tsv --qrels qrels.tsv --lexical lex1000.run \\
        --titles A.f32[,B.f32] --query-vectors QA.f32[,QB.f32] --dims 768[,384] --weights 0.3,0.4,0.5 \\
        --aisle /path/to/aisle [--out DIR]

Title vectors are one row per product in products.tsv order; query vectors one row per query in
queries.tsv order. Several models (comma-separated) are averaged cosine by cosine. Prints NDCG@10
condensed / uncondensed, Recall@100 and zero-result queries per setting (`aisle eval --preset
homedepot`). Also `--dense-only` for the nearest titles alone.
"""
import argparse, collections, csv, json, os, subprocess, sys
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for a in ("--products", "--queries", "--qrels", "--lexical", "--titles", "--query-vectors", "--dims", "--aisle"):
        ap.add_argument(a, required=True)
    ap.add_argument("--weights", default="0.4")
    ap.add_argument("--dense-only", action="store_true")
    ap.add_argument("--out", default=".")
    a = ap.parse_args()

    with open(a.products) as f:
        next(f)
        ids = [l.split("\t", 1)[0] for l in f]
    row = {p: i for i, p in enumerate(ids)}
    with open(a.queries) as f:
        r = csv.reader(f, delimiter="\t")
        next(r)
        qids = [x[0] for x in r]
    dims = [int(d) for d in a.dims.split(",")]
    T = [np.fromfile(p, dtype="<f4").reshape(-1, d) for p, d in zip(a.titles.split(","), dims)]
    Q = [np.fromfile(p, dtype="<f4").reshape(-1, d) for p, d in zip(a.query_vectors.split(","), dims)]
    assert all(t.shape[0] == len(ids) for t in T) and all(q.shape[0] == len(qids) for q in Q)
    lex = collections.defaultdict(list)
    with open(a.lexical) as f:
        for l in f:
            q, _, d, _, s, _ = l.split()
            lex[q].append((d, float(s)))
    use = range(len(qids))   # a query without lexical matches gets its nearest titles

    def cosines(i):
        return sum(t @ q[i] for t, q in zip(T, Q)) / len(T)

    def write(name, rank):
        path = os.path.join(a.out, name + ".run")
        with open(path, "w") as f:
            for i in use:
                srow = cosines(i)
                for r, (d, s) in enumerate(rank(qids[i], srow)[:100]):
                    f.write(f"{qids[i]} Q0 {d} {r + 1} {s:.6f} x\n")
        out = subprocess.run([a.aisle, "eval", "--run", path, "--qrels", a.qrels, "--queries", a.queries,
                              "--preset", "homedepot", "--json", "--quiet"], capture_output=True, text=True, check=True).stdout
        m = json.loads(out)
        print(f"{name}: condensed {m['ndcg@10_condensed']:.4f}  uncondensed {m['ndcg@10_uncondensed']:.4f}  "
              f"recall@100 {m['recall@100']:.4f}  zero-result {m['zero_result']}", flush=True)

    def nearest(srow, n):
        top = np.argpartition(-srow, n)[:n]
        return top[np.argsort(-srow[top], kind="stable")]

    if a.dense_only:
        write("dense", lambda q, srow: [(ids[j], float(srow[j])) for j in nearest(srow, 100)])
    for w in (float(x) for x in a.weights.split(",")):
        def fused(q, srow, w=w):
            L = lex[q][:1000]
            best = max((s for _, s in L), default=1.0) or 1.0
            ls = dict(L)
            cand = set(ls) | {ids[j] for j in nearest(srow, 100)}
            sc = {d: (1 - w) * ls.get(d, 0.0) / best + w * float(srow[row[d]]) for d in cand}
            return sorted(sc.items(), key=lambda x: -x[1])
        write(f"linear-{w}", fused)


if __name__ == "__main__":
    main()
