#!/usr/bin/env python3
"""Aisle's search latency grouped by the number of documents a query matches.

    Benchmarks/latency_by_matches.py INDEX_DIR QUERIES.jsonl [--aisle BIN] [--passes 3]

Runs every query twice per pass through `aisle search --stdin`: once with
track_total_hits=true (exact match count, no pruning) to learn how many documents it
matches, and once as a plain top-10 request (default settings), whose took_us is reported.
Prints, per operator and per bucket of match counts, the number of queries and the median
and p99 of took_us: with dynamic pruning the medians should not grow with the matches.
"""
import argparse, json, os, statistics, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("index"); ap.add_argument("queries")
ap.add_argument("--aisle", default=os.path.join(os.getcwd(), ".build/release/aisle"))
ap.add_argument("--passes", type=int, default=3)
a = ap.parse_args()
qs = [json.loads(l) for l in open(a.queries)]


def run(reqs):
    p = subprocess.run([a.aisle, "search", "--index", a.index, "--stdin"], input="".join(json.dumps(r) + "\n" for r in reqs),
                       capture_output=True, text=True, check=True)
    return [json.loads(l) for l in p.stdout.splitlines()]


buckets = [(0, 0), (1, 100), (101, 1000), (1001, 10000), (10001, 100000), (100001, 10**9)]
for op in ("and", "or"):
    exact = run([{"q": " ".join(q["terms"]), "operator": op, "limit": 10, "track_total_hits": True} for q in qs])
    lat = [[] for _ in qs]
    for _ in range(a.passes):
        for i, r in enumerate(run([{"q": " ".join(q["terms"]), "operator": op, "limit": 10} for q in qs])):
            lat[i].append(r["took_us"])
    print(f"operator {op}: matches | queries | median took_us | p99 took_us")
    for lo, hi in buckets:
        xs = sorted(statistics.median(lat[i]) for i, r in enumerate(exact) if lo <= r["total"] <= hi)
        if not xs:
            continue
        p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
        label = f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}" if hi < 10**9 else f"> {lo - 1:,}"
        print(f"  {label:>17} | {len(xs):5d} | {statistics.median(xs):8.0f} | {p99:8.0f}")
