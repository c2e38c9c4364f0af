#!/usr/bin/env python3
"""Hybrid retrieval's cost against lexical-only, in one interleaved run on one index.

    OPENBLAS_CORETYPE=SkylakeX Benchmarks/hybrid_bench.py --aisle .build/release/aisle \\
        --index /work/data/idx-1m-vec --queries /work/data/queries-2k.jsonl [--rounds 3] [--json OUT]

One `aisle search --stdin` process (one search thread) answers, query by query, the same request
as lexical, hybrid (the index's default) and vector retrieval, the modes' order rotating from
query to query; each answer's own `took_us` is the latency (parsing, analysis, embedding the
query, both searches, fusion and fetching ids). The first round embeds every query once (the
query embedding cache then holds them); later rounds measure repeats too, so rounds are reported
separately: round 1 is what a new query costs, later rounds what a repeated query costs.
Modes `facets` add brand/category/price facets to each request.
Prints p50/p90/p99 per mode and round and the ratios against lexical. Standard library only.
"""
import argparse
import json
import statistics
import subprocess
import sys


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", required=True, help="JSON lines with q (synth gen_queries.py output) or TSV id<TAB>text")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--max-queries", type=int, default=2000)
    ap.add_argument("--facets", action="store_true", help="ask for brand, category and price facets too")
    ap.add_argument("--json")
    a = ap.parse_args()

    queries = []
    with open(a.queries) as f:
        for i, line in enumerate(f):
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("{"):
                o = json.loads(line)
                queries.append(o.get("q") or o.get("query") or o.get("text"))
            elif i > 0 or "\t" in line:
                parts = line.split("\t")
                if i == 0 and not parts[0].isdigit():
                    continue
                queries.append(parts[-1])
    queries = [q for q in queries if q][: a.max_queries]
    modes = ["lexical", "hybrid", "vector"]
    p = subprocess.Popen([a.aisle, "search", "--index", a.index, "--stdin"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(q, mode):
        req = {"q": q, "limit": a.limit, "retrieval": mode}
        if a.facets:
            req["facets"] = ["brand", "category", "price"]
        p.stdin.write(json.dumps(req) + "\n")
        p.stdin.flush()
        r = json.loads(p.stdout.readline())
        if "error" in r:
            sys.exit(f"{mode} {q!r}: {r['error']}")
        return r

    # Warm up: the index's files and the model, on queries outside the measured set's order.
    for q in queries[:50]:
        for m in modes:
            ask(q + " warmup", m)
    results = {}
    for rnd in range(1, a.rounds + 1):
        took = {m: [] for m in modes}
        embed = []
        for i, q in enumerate(queries):
            order = modes[i % 3:] + modes[: i % 3]
            for m in order:
                r = ask(q, m)
                took[m].append(r["took_us"] / 1000)
                if m == "hybrid" and "retrieval" in r:
                    embed.append(r["retrieval"]["embed_us"] / 1000)
        results[rnd] = {m: {"p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99), "mean": statistics.fmean(v)} for m, v in took.items()}
        results[rnd]["embed_ms_p50"] = pct(embed, 50) if embed else None
        lx = results[rnd]["lexical"]
        print(f"round {rnd} ({'new queries' if rnd == 1 else 'repeated queries: embeddings cached'}), {len(queries)} queries, ms:")
        for m in modes:
            s = results[rnd][m]
            print(f"  {m:8s} p50 {s['p50']:7.3f}  p90 {s['p90']:7.3f}  p99 {s['p99']:7.3f}   "
                  f"p50 x{s['p50'] / lx['p50']:.2f}  p99 x{s['p99'] / lx['p99']:.2f} of lexical")
        print(f"  query embedding inside hybrid: p50 {results[rnd]['embed_ms_p50']:.3f} ms")
    p.stdin.close()
    p.wait()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"queries": len(queries), "facets": a.facets, "rounds": results}, f, indent=1)


if __name__ == "__main__":
    main()
