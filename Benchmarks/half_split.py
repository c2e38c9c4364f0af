#!/usr/bin/env python3
"""Half-split checks for a choice among search settings (how RELEVANCE.md chooses defaults).

Each setting is a per-query file written by `aisle eval --per-query FILE.tsv` over the same
queries. For each of N random splits of the queries into halves, the setting with the best mean
on one half (the "choosing" half) is picked, and its mean on the other half is compared with the
baseline's there. A choice that holds up wins on (nearly) every held-out half; one that only fits
noise does not.

    python3 Benchmarks/half_split.py --baseline lex.tsv --metric ndcg@10_condensed \\
        --also ndcg@10_uncondensed  rrf.tsv linear-0.2.tsv linear-0.3.tsv

Prints, per metric, how often each setting was chosen, the held-out gain of the chosen setting
over the baseline (mean, min, max) and on how many held-out halves it won; then each setting's
own held-out wins against the baseline. Python 3 standard library only.
"""
import argparse
import csv
import os
import random
import statistics
import sys


def load(path, metric):
    with open(path, newline="") as f:
        rows = csv.DictReader(f, delimiter="\t")
        out = {}
        for r in rows:
            if metric not in r:
                sys.exit(f"{path}: no column {metric} (columns: {', '.join(rows.fieldnames or [])})")
            out[r["query_id"]] = float(r[metric])
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("settings", nargs="+", help="per-query TSV files of the candidate settings")
    ap.add_argument("--baseline", required=True, help="per-query TSV of the baseline")
    ap.add_argument("--metric", default="ndcg@10_condensed", help="the metric the choice is made on")
    ap.add_argument("--also", action="append", default=[], help="other metrics to report for the same choice")
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    names = [os.path.basename(p).rsplit(".", 1)[0] for p in args.settings]
    metrics = [args.metric] + args.also
    data = {m: ([load(p, m) for p in args.settings], load(args.baseline, m)) for m in metrics}
    queries = sorted(data[args.metric][1].keys())
    for m in metrics:
        for n, d in zip(names, data[m][0]):
            if set(d) != set(queries):
                sys.exit(f"{n}: its queries differ from the baseline's ({len(d)} vs {len(queries)})")

    rng = random.Random(args.seed)
    chosen_count = {n: 0 for n in names}
    gains = {m: [] for m in metrics}
    own = {n: 0 for n in names}
    for _ in range(args.splits):
        q = queries[:]
        rng.shuffle(q)
        halves = (q[: len(q) // 2], q[len(q) // 2:])
        for choose, score in (halves, halves[::-1]):
            sets, base = data[args.metric]
            best = max(range(len(names)), key=lambda i: statistics.fmean(sets[i][x] for x in choose))
            chosen_count[names[best]] += 1
            for m in metrics:
                sets_m, base_m = data[m]
                gains[m].append(statistics.fmean(sets_m[best][x] for x in score) - statistics.fmean(base_m[x] for x in score))
            for i, n in enumerate(names):
                if statistics.fmean(sets[i][x] for x in score) > statistics.fmean(base[x] for x in score):
                    own[n] += 1
    halves = 2 * args.splits
    print(f"{len(queries)} queries, {args.splits} splits ({halves} held-out halves); chosen on {args.metric}")
    print("chosen: " + ", ".join(f"{n} {c}x" for n, c in chosen_count.items() if c))
    for m in metrics:
        g = gains[m]
        wins = sum(1 for x in g if x > 0)
        print(f"  {m}: held-out gain of the choice over the baseline mean {statistics.fmean(g):+.4f} "
              f"(min {min(g):+.4f}, max {max(g):+.4f}), wins on {wins} of {halves} halves")
    print(f"each setting against the baseline on held-out halves ({args.metric}):")
    for n in names:
        full = statistics.fmean(data[args.metric][0][names.index(n)].values())
        print(f"  {n}: mean {full:.4f}, beats the baseline on {own[n]} of {halves} halves")


if __name__ == "__main__":
    main()
