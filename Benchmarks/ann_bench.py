#!/usr/bin/env python3
"""Our HNSW against hnswlib on the same vectors, in the same run (issue 20).

    Benchmarks/ann_bench.py --aisle BIN --vectors V.f32 --queries Q.f32 [--dims 384] [--m 16]
        [--ef-construction 200] [--ef 10,20,40,80,160,320] [--rounds 2] [--json OUT]
    Benchmarks/ann_bench.py --aisle BIN --make-synthetic N --work DIR   # clustered unit vectors when no embeddings exist

Vectors: raw little-endian float32 rows of --dims (unit length; similarity = inner product), e.g.
the synth catalog's title embeddings written by `aisle model embed --out` (cached: computing them
takes a while). Queries likewise (e.g. the synth queries' embeddings).

Each round builds both engines single-threaded (hnswlib: set_num_threads(1), the same M and
ef_construction, space "ip") and queries them one query at a time on one thread: recall@10
against exact search (computed once, by NumPy) and latency p50/p99 per ef. hnswlib is timed
around each knn_query call from Python (a few microseconds of call overhead included); ours
inside `aisle vectors ann-bench` (no process or parsing overhead). Rounds alternate (aisle,
hnswlib, aisle, ...), and the medians are reported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--vectors")
    ap.add_argument("--queries")
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--query-limit", type=int, default=1000)
    ap.add_argument("--make-synthetic", type=int, help="write N clustered unit vectors (and 1000 queries) into --work first")
    ap.add_argument("--work", default="/tmp/aisle-ann")
    ap.add_argument("--json")
    a = ap.parse_args()
    import numpy as np
    try:
        import hnswlib
    except ImportError:
        sys.exit("hnswlib is missing: python3 -m pip install hnswlib")
    os.makedirs(a.work, exist_ok=True)
    if a.make_synthetic:
        rng = np.random.default_rng(7)
        c = rng.normal(size=(200, a.dims))
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        v = c[rng.integers(0, 200, a.make_synthetic)] + 0.35 * rng.normal(size=(a.make_synthetic, a.dims))
        v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        q = v[rng.integers(0, len(v), 1000)] + 0.2 * rng.normal(size=(1000, a.dims))
        q = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
        a.vectors, a.queries = os.path.join(a.work, "vectors.f32"), os.path.join(a.work, "queries.f32")
        v.tofile(a.vectors)
        q.tofile(a.queries)
    v = np.fromfile(a.vectors, dtype=np.float32).reshape(-1, a.dims)
    q = np.fromfile(a.queries, dtype=np.float32).reshape(-1, a.dims)[: a.query_limit]
    qpath = os.path.join(a.work, "queries-used.f32")
    q.tofile(qpath)
    truth_path = os.path.join(a.work, "truth-%d-%d.i32" % (len(v), len(q)))
    if not os.path.exists(truth_path):
        exact = np.zeros((len(q), a.k), dtype=np.int32)
        for i in range(0, len(q), 100):
            s = q[i:i + 100] @ v.T
            exact[i:i + 100] = np.argsort(-s, axis=1)[:, : a.k]
        exact.tofile(truth_path)
    exact = np.fromfile(truth_path, dtype=np.int32).reshape(len(q), a.k)
    # The k-th exact similarity per query: results at least that similar count as true neighbours
    # for recall_ties (titles repeat, so exact search's ids are one choice among ties).
    kth = np.einsum("ij,ij->i", q, v[exact[:, -1]])
    efs = [int(x) for x in a.ef.split(",")]
    print("ann: %d vectors of %d dims, %d queries, M %d, ef_construction %d" % (len(v), a.dims, len(q), a.m, a.ef_construction), flush=True)

    results = {"aisle": [], "hnswlib": []}
    for rnd in range(a.rounds):
        r = subprocess.run([a.aisle, "vectors", "ann-bench", "--vectors", a.vectors, "--queries", qpath, "--dims", str(a.dims),
                            "--m", str(a.m), "--ef-construction", str(a.ef_construction), "--ef", a.ef, "--k", str(a.k),
                            "--truth", truth_path], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("aisle vectors ann-bench: " + r.stderr)
        ours = json.loads(r.stdout)
        results["aisle"].append(ours)
        print("round %d aisle:   %s" % (rnd + 1, json.dumps(ours)), flush=True)

        idx = hnswlib.Index(space="ip", dim=a.dims)
        idx.init_index(max_elements=len(v), ef_construction=a.ef_construction, M=a.m, random_seed=42)
        idx.set_num_threads(1)
        t0 = time.perf_counter()
        idx.add_items(v, num_threads=1)
        build = time.perf_counter() - t0
        runs = []
        for ef in efs:
            idx.set_ef(ef)
            lat, hit, tie = [], 0, 0
            for i in range(len(q)):
                t = time.perf_counter()
                lab, dist = idx.knn_query(q[i:i + 1], k=a.k, num_threads=1)
                lat.append((time.perf_counter() - t) * 1000)
                hit += len(set(lab[0].tolist()) & set(exact[i].tolist()))
                tie += int(np.sum(1 - dist[0] >= kth[i] - 1e-5))
            lat.sort()
            runs.append({"ef": ef, "recall": round(hit / (len(q) * a.k), 4), "recall_ties": round(min(tie, len(q) * a.k) / (len(q) * a.k), 4), "p50_ms": round(lat[len(lat) // 2], 4),
                         "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * (len(lat) - 1)))], 4)})
        theirs = {"engine": "hnswlib", "vectors": len(v), "queries": len(q), "build_s": round(build, 2), "runs": runs}
        results["hnswlib"].append(theirs)
        print("round %d hnswlib: %s" % (rnd + 1, json.dumps(theirs)), flush=True)

    summary = {}
    for eng, rs in results.items():
        summary[eng] = {"build_s": statistics.median(r["build_s"] for r in rs),
                        "runs": [{"ef": ef, "recall": statistics.median(r["runs"][i]["recall"] for r in rs),
                                  "recall_ties": statistics.median(r["runs"][i]["recall_ties"] for r in rs),
                                  "p50_ms": statistics.median(r["runs"][i]["p50_ms"] for r in rs),
                                  "p99_ms": statistics.median(r["runs"][i]["p99_ms"] for r in rs)} for i, ef in enumerate(efs)]}
    print("\n| ef | aisle recall@%d (ties) | aisle p50 / p99 ms | hnswlib recall@%d (ties) | hnswlib p50 / p99 ms |" % (a.k, a.k))
    print("|---:|---:|---:|---:|---:|")
    for i, ef in enumerate(efs):
        x, y = summary["aisle"]["runs"][i], summary["hnswlib"]["runs"][i]
        print("| %d | %.4f (%.4f) | %.3f / %.3f | %.4f (%.4f) | %.3f / %.3f |" % (ef, x["recall"], x["recall_ties"], x["p50_ms"], x["p99_ms"],
                                                                              y["recall"], y["recall_ties"], y["p50_ms"], y["p99_ms"]))
    print("build (one thread): aisle %.1f s, hnswlib %.1f s (%.2fx)" % (summary["aisle"]["build_s"], summary["hnswlib"]["build_s"],
                                                                     summary["aisle"]["build_s"] / summary["hnswlib"]["build_s"]))
    if a.json:
        json.dump({"results": results, "summary": summary}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
