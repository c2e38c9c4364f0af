#!/usr/bin/env python3
"""Where the shipped configuration's cost comes from, feature by feature: plain BM25 on a `plain`
index, then the `product` index with every ranking feature off, then the features turned on one at a
time in a fixed order (each step keeps the ones before), then the defaults.

    Benchmarks/feature_waterfall.py --aisle BIN --plain-index PLAIN_INDEX --product-index PRODUCT_INDEX \\
        --queries queries-2k.jsonl [--operator and|or] [--repeats 3] [--limit N]

One `aisle search --stdin` process per step, all open at once; each query goes to every step in
turn, `--repeats` times, and a step's time for the query is the least of its repeats (its own
`took_us`: the work, with the query's dictionary blocks and postings warm). Prints p50/p95/p99 per
step and the ratio to plain BM25, and, per step, how many queries find nothing (relaxation turns
plain's empty answers into results, which moves them from the fast end of the distribution to the
slow end).
"""
import argparse
import json
import subprocess

from feature_cost import CONFIGS

# Every ranking feature off: feature_cost.py's "none" setting.
OFF = CONFIGS["none"]
# The order features are added in: the ones that change which products match first.
STEPS = [("relax", "relax", True), ("proximity", "proximity_boost", None), ("synonyms", "synonyms", True),
         ("typo", "typo", True), ("compounds", "compounds", True), ("coordination", "coordination", True),
         ("feedback", "feedback", True)]


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--plain-index", required=True)
    ap.add_argument("--product-index", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--operator", default="and", choices=["and", "or"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="first N queries only (0: all)")
    ap.add_argument("--proximity-boost", type=float, default=0.3, help="the default proximity_boost")
    a = ap.parse_args()

    queries = [json.loads(l)["q"] for l in open(a.queries, encoding="utf-8") if l.strip()]
    if a.limit:
        queries = queries[:a.limit]
    cur = dict(OFF)
    steps = [("plain BM25", a.plain_index, None), ("product, all off", a.product_index, dict(cur))]
    for name, key, value in STEPS:
        cur[key] = a.proximity_boost if value is None else value
        steps.append(("+" + name, a.product_index, dict(cur)))
    steps.append(("defaults", a.product_index, {}))

    procs = [subprocess.Popen([a.aisle, "search", "--index", idx, "--stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, bufsize=1) for _, idx, _ in steps]

    def ask(j, q):
        req = {"q": q, "operator": a.operator, "limit": 10}
        if steps[j][2] is not None:
            req["ranking"] = steps[j][2]
        procs[j].stdin.write(json.dumps(req) + "\n")
        procs[j].stdin.flush()
        r = json.loads(procs[j].stdout.readline())
        if "took_us" not in r:
            raise SystemExit("step %s, query %r: %s" % (steps[j][0], q, r))
        return r["took_us"], r.get("total", 0)

    times = [[] for _ in steps]
    empty = [0 for _ in steps]
    try:
        for i, q in enumerate(queries):
            for j in range(len(steps)):
                best, total = min(ask(j, q) for _ in range(a.repeats))
                times[j].append(best)
                empty[j] += total == 0
            if (i + 1) % 250 == 0:
                print("  %d/%d queries" % (i + 1, len(queries)), flush=True)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()
    base = times[0]
    print("%s, %d queries, least of %d per query (us)" % (a.operator.upper(), len(queries), a.repeats))
    for j, (name, _, _) in enumerate(steps):
        t = times[j]
        print("%-18s p50 %6.0f p95 %6.0f p99 %6.0f | x plain %.2f / %.2f / %.2f | empty %d"
              % (name, pct(t, .5), pct(t, .95), pct(t, .99), pct(t, .5) / pct(base, .5),
                 pct(t, .95) / pct(base, .95), pct(t, .99) / pct(base, .99), empty[j]))


if __name__ == "__main__":
    main()
