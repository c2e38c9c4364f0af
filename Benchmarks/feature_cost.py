#!/usr/bin/env python3
"""What each default ranking feature costs: the same query under several ranking settings, back to
back in one `aisle search --stdin` process (order alternating query by query), each setting's own
`took_us`.

    Benchmarks/feature_cost.py --aisle BIN --index PRODUCT_INDEX --queries queries-2k.jsonl \\
        [--operator and|or] [--configs defaults,no_prox,no_typo,no_relax,none] [--rounds 2]

Queries are synth query lines ({"q": ..., "terms": [...]}). Prints p50/p95/p99/mean per setting,
then the 12 queries where the first two settings differ most.
"""
import argparse
import json
import subprocess

CONFIGS = {
    "defaults": None,
    "no_prox": {"proximity_boost": 0},
    "no_typo": {"typo": False},
    "no_compounds": {"compounds": False},
    "no_coord": {"coordination": False},
    "no_feedback": {"feedback": False},
    "no_relax": {"relax": False},
    "no_synonyms": {"synonyms": False},
    "none": {"typo": False, "synonyms": False, "compounds": False, "proximity_boost": 0, "coordination": False,
             "feedback": False, "relax": False},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--operator", default="and", choices=["and", "or"])
    ap.add_argument("--configs", default="defaults,no_prox,no_typo,no_relax,none")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=300)
    a = ap.parse_args()
    names = a.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"unknown settings {unknown}; known: {', '.join(CONFIGS)}")
    qs = [json.loads(l) for l in open(a.queries) if l.strip()]
    p = subprocess.Popen([a.aisle, "search", "--index", a.index, "--stdin"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)

    def one(q, ranking):
        r = {"q": " ".join(q["terms"]) if "terms" in q else q["q"], "operator": a.operator, "limit": 10}
        if ranking is not None:
            r["ranking"] = ranking
        p.stdin.write(json.dumps(r) + "\n")
        p.stdin.flush()
        o = json.loads(p.stdout.readline())
        if "took_us" not in o:
            raise SystemExit(f"search failed: {o}")
        return o["took_us"]

    for q in qs[:a.warmup]:
        one(q, None)
    res = {k: [] for k in names}
    per = []
    for rnd in range(a.rounds):
        for i, q in enumerate(qs):
            row = {}
            for k in (names if (i + rnd) % 2 == 0 else names[::-1]):
                t = one(q, CONFIGS[k])
                res[k].append(t)
                row[k] = t
            if rnd == 0:
                per.append((q.get("q", " ".join(q.get("terms", []))), row))
    p.stdin.close()
    p.wait()
    for k, t in res.items():
        t = sorted(t)
        n = len(t)
        print("%-13s p50 %7.0f  p95 %7.0f  p99 %7.0f  mean %7.0f" % (k, t[n // 2], t[int(n * .95)], t[int(n * .99)], sum(t) / n))
    if len(names) >= 2:
        x, y = names[0], names[1]
        per.sort(key=lambda r: -(r[1][x] - r[1][y]))
        for q, row in per[:12]:
            print("  %-40s %s" % (q[:40], " ".join("%s=%.0f" % (k, v) for k, v in row.items())))


if __name__ == "__main__":
    main()
