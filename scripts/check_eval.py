#!/usr/bin/env python3
"""Check `aisle eval` against trec_eval (pytrec_eval), computed independently here.

    scripts/check_eval.py RUN QRELS [--aisle PATH] [--score-py PATH] [-- AISLE_EVAL_FLAGS...]

Runs `aisle eval --run RUN --qrels QRELS --json --per-query F.jsonl [flags]`, reads the settings it
reports (gain, gain scale, min judged, relevance threshold, cutoffs, run order), then recomputes
from the two files with its own readers and pytrec_eval (`pip install pytrec-eval-terrier`):

* NDCG@k (trec_eval ndcg_cut.k) condensed and uncondensed, with the gains as integers (gains
  rounded at aisle's --gain-scale, or integer judgments); exponential-gain NDCG (gain 2^g - 1)
  when those gains are integers;
* MAP (map), MRR (recip_rank), P@k (P.k), Recall@k (recall.k), on the full and condensed lists,
  with relevant = gain >= the threshold;
* every query's value (aisle's per-query file) and the means over aisle's query sets (NDCG over
  queries with a positive gain, binary measures over queries with a relevant document; a query
  missing from the run counts 0), the zero-result count.

Run order: `rank` and `score` orders are handed to trec_eval as strictly decreasing scores; with
`--order trec_eval` the run's own scores go to trec_eval, which breaks ties itself. With
`--score-py` (e.g. ../shared/bench/score.py) and a preset, score.py's figures are compared too.
Exit status 1 when any value differs by more than 1e-9 (--tol).

Examples:
    scripts/check_eval.py run.txt ../shared/corpora/homedepot/qrels.tsv -- --preset homedepot
    scripts/check_eval.py run.txt qrels.txt -- --k 5,10 --recall-k 100 --order trec_eval
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

try:
    import pytrec_eval
except ImportError:
    sys.exit("pytrec_eval is missing: pip install pytrec-eval-terrier")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_aisle():
    for p in (".build/release/aisle", ".build/debug/aisle"):
        full = os.path.join(ROOT, p)
        if os.path.exists(full):
            return full
    sys.exit("no aisle binary under .build/: build first or pass --aisle")


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def read_qrels(path):
    """{qid: {docid: grade}}: TSV with a header or TREC qrels; the last grade of a pair counts."""
    qrels = defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\r\n") for l in f]
    lines = [l for l in lines if l.strip()]
    first = lines[0].split("\t")
    start = 1 if len(first) == 3 and not is_number(first[2]) else 0
    for line in lines[start:]:
        parts = line.split("\t") if len(line.split("\t")) == 3 else line.split()
        if len(parts) == 3:
            q, d, r = parts
        else:
            q, _, d, r = parts
        qrels[q.strip()][d.strip()] = float(r)
    return qrels


def read_run(path):
    """{qid: [(docid, rank, score, line)]} in file order."""
    run = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if p:
                run[p[0]].append((p[2], int(p[3]), float(p[4]), n))
    return run


def order_run(rows, order):
    if order == "rank":
        rows = sorted(rows, key=lambda t: (t[1], t[3]))
    elif order == "score":
        rows = sorted(rows, key=lambda t: (-t[2], t[0], t[3]))
    else:  # trec_eval: score desc, docid desc
        rows = sorted(rows, key=lambda t: t[3])
        rows = sorted(rows, key=lambda t: t[0], reverse=True)
        rows = sorted(rows, key=lambda t: t[2], reverse=True)
    seen, out = set(), []
    for d, _r, s, _n in rows:
        if d not in seen:
            seen.add(d)
            out.append((d, s))
    return out


def gain_fn(name):
    if name == "minus1":
        return lambda r: max(0.0, r - 1.0)
    if name == "identity":
        return lambda r: max(0.0, r)
    if name == "cranfield":
        return lambda r: float(5 - int(r)) if 1 <= r <= 4 else 0.0
    table = {}
    for part in name.split(","):
        g, v = part.split("=")
        table[float(g)] = float(v)
    return lambda r: table[r]


def round_half_up(x):
    return int(math.floor(x + 0.5 + 1e-9))


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("qrels")
    ap.add_argument("--aisle", default=None, help="the aisle binary (default .build/release or .build/debug)")
    ap.add_argument("--score-py", default=None, help="also compare with this score.py (needs --preset in the aisle flags)")
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args(argv)
    aisle = a.aisle or find_aisle()

    with tempfile.TemporaryDirectory() as tmp:
        pq_path = os.path.join(tmp, "pq.jsonl")
        cmd = [aisle, "eval", "--run", a.run, "--qrels", a.qrels, "--json", "--per-query", pq_path] + extra
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit("aisle eval failed: " + res.stderr.strip())
        ours = json.loads(res.stdout)
        with open(pq_path, encoding="utf-8") as f:
            ours_pq = {v["query_id"]: v for v in map(json.loads, f)}

    cfg = ours["config"]
    g = gain_fn(cfg["gain"])
    scale = cfg["gain_scale"]
    ks, rks = cfg["k"], cfg["recall_k"]
    rel_min = cfg["rel_min_gain"]
    all_q = cfg["all_queries"]

    grades = read_qrels(a.qrels)
    gains = {q: {d: g(r) for d, r in docs.items()} for q, docs in grades.items()}
    judged_ok = sorted(q for q in gains if len(gains[q]) >= cfg["min_judged"])
    q_ndcg = [q for q in judged_ok if all_q or max(gains[q].values()) > 0]
    q_bin = [q for q in judged_ok if all_q or any(x >= rel_min for x in gains[q].values())]

    raw = read_run(a.run)
    full = {q: order_run(raw.get(q, []), cfg["order"]) for q in judged_ok}
    cond = {q: [(d, s) for d, s in full[q] if d in gains[q]] for q in judged_ok}

    def scored(lists, qs):
        out = {}
        for q in qs:
            if not lists[q]:
                continue
            if cfg["order"] == "trec_eval":
                out[q] = {d: s for d, s in lists[q]}          # trec_eval breaks the ties itself
            else:
                out[q] = {d: float(len(lists[q]) - i) for i, (d, _s) in enumerate(lists[q])}
        return out

    # Integer gains for trec_eval: the rounded scale when aisle rounds, else the gains must be integers.
    def as_int(x, factor):
        v = x * factor
        return round_half_up(v) if scale else (int(v) if v == int(v) else None)

    factor = scale or 1
    lin = {q: {d: as_int(x, factor) for d, x in gains[q].items()} for q in q_ndcg}
    checks = []  # (metric, ours, reference, per-query mismatches)

    def mean(pq, qs, key):
        return sum(pq.get(q, {}).get(key, 0.0) for q in qs) / len(qs) if qs else float("nan")

    def compare(metric, pq, qs, key):
        ref = mean(pq, qs, key)
        bad = [q for q in qs if q in ours_pq and abs(ours_pq[q].get(metric, 0.0) - pq.get(q, {}).get(key, 0.0)) > a.tol]
        checks.append((metric, ours.get(metric), ref, bad))

    if any(v is None for q in lin for v in lin[q].values()):
        print("note: fractional gains without --gain-scale: trec_eval cannot take them; NDCG not checked")
    else:
        measures = {"ndcg_cut.%d" % k for k in ks}
        ev = pytrec_eval.RelevanceEvaluator(lin, measures)
        pu, pc = ev.evaluate(scored(full, q_ndcg)), ev.evaluate(scored(cond, q_ndcg))
        for k in ks:
            compare("ndcg@%d_uncondensed" % k, pu, q_ndcg, "ndcg_cut_%d" % k)
            compare("ndcg@%d_condensed" % k, pc, q_ndcg, "ndcg_cut_%d" % k)
        # exponential gain 2^g - 1 (g = the rounded gain), when those are integers
        expg = {q: {d: 2 ** (v / factor) - 1 for d, v in lin[q].items()} for q in q_ndcg}
        if all(x == int(x) for q in expg for x in expg[q].values()):
            ev = pytrec_eval.RelevanceEvaluator({q: {d: int(x) for d, x in expg[q].items()} for q in q_ndcg}, measures)
            pu, pc = ev.evaluate(scored(full, q_ndcg)), ev.evaluate(scored(cond, q_ndcg))
            for k in ks:
                compare("ndcg_exp@%d_uncondensed" % k, pu, q_ndcg, "ndcg_cut_%d" % k)
                compare("ndcg_exp@%d_condensed" % k, pc, q_ndcg, "ndcg_cut_%d" % k)
        else:
            print("note: exponential gains are not integers at this scale: ndcg_exp not checked with trec_eval")

    binq = {q: {d: int(x >= rel_min) for d, x in gains[q].items()} for q in q_bin}
    measures = {"map", "recip_rank"} | {"P.%d" % k for k in ks} | {"recall.%d" % k for k in rks}
    ev = pytrec_eval.RelevanceEvaluator(binq, measures)
    for lists, suffix in ((full, ""), (cond, "_condensed")):
        pq = ev.evaluate(scored(lists, q_bin))
        compare("map" + suffix, pq, q_bin, "map")
        compare("mrr" + suffix, pq, q_bin, "recip_rank")
        for k in ks:
            compare("p@%d" % k + suffix, pq, q_bin, "P_%d" % k)
        for k in rks:
            compare("recall@%d" % k + suffix, pq, q_bin, "recall_%d" % k)
    zero = sum(1 for q in judged_ok if not full[q])
    checks.append(("zero_result", ours["zero_result"], zero, []))
    checks.append(("queries", ours["queries"], len(judged_ok), []))

    if a.score_py:
        if not cfg.get("preset"):
            sys.exit("--score-py needs a --preset in the aisle flags")
        sp = subprocess.run([sys.executable, a.score_py, a.run, a.qrels, "--preset", cfg["preset"], "--json", "--no-ranx"]
                            + (["--use-scores"] if cfg["order"] == "trec_eval" else []), capture_output=True, text=True)
        if sp.returncode != 0:
            sys.exit("score.py failed: " + sp.stderr.strip())
        s = json.loads(sp.stdout)
        for m in ("ndcg@10_condensed", "ndcg@10_uncondensed", "recall@100", "map", "zero_result", "queries"):
            if m in s and m in ours:
                checks.append((m + " (score.py)", ours[m], s[m], []))

    failed = 0
    print("%-32s %12s %12s %10s  %s" % ("metric", "aisle", "reference", "diff", "per-query mismatches"))
    for m, o, r, bad in checks:
        diff = abs((o if o is not None else float("nan")) - r)
        ok = diff <= a.tol and not bad
        failed += not ok
        print("%-32s %12.6f %12.6f %10.2g  %s%s" % (m, o if o is not None else float("nan"), r, diff,
                                                    len(bad), "" if ok else "   <-- MISMATCH " + ", ".join(bad[:5])))
    print("%d of %d checks agree (tolerance %g)" % (len(checks) - failed, len(checks), a.tol))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
