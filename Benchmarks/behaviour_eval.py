#!/usr/bin/env python3
"""The behaviour ranking signal's effect on a replayed log (issue 19, part 3).

    Benchmarks/behaviour_eval.py --aisle BIN --index IDX --results-cache RC.json --queries queries-2k.jsonl \\
        [--events 1000000] [--seed 19] [--work DIR]

1. traffic_sim.py writes --events simulated events offline (the result lists of --results-cache,
   which traffic_sim wrote while a server ran on IDX, so the shoppers saw what IDX answers), and its
   truth: the hidden preferred product of every query.
2. Judgments from that truth: for each query, its preferred product is the one relevant product
   (grade 1). The log is what shoppers did (clicks with a position bias, carts, purchases); the
   judgments are what they wanted, which the log shows only through that noise.
3. `aisle eval compare --behaviour-log LOG`: side A searches as the simulated shop did ({"operator":
   "and"}), side B the same with {"ranking": {"behaviour": true}}. NDCG@10 and MRR over all queries
   and over the 100 most popular (the signal needs searches to learn from), with the paired
   randomization test of `eval compare`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--results-cache", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--work")
    ap.add_argument("--json")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="aisle-behaviour-eval-")
    os.makedirs(work, exist_ok=True)
    log, truth_path = os.path.join(work, "log.jsonl"), os.path.join(work, "truth.json")
    subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks/traffic_sim.py"), "--queries", a.queries, "--results-cache", a.results_cache,
                    "--events-out", log, "--events", str(a.events), "--days", "30", "--seed", str(a.seed), "--truth", truth_path], check=True)
    truth = json.load(open(truth_path))
    pref = truth["preferred"]
    popular = [t["query"] for t in truth["top_queries"]]
    out = {"events": a.events, "queries_judged": len(pref)}
    for name, qs in (("all", sorted(pref)), ("top100", [q for q in popular[:100] if q in pref])):
        qf, jf = os.path.join(work, "queries-%s.tsv" % name), os.path.join(work, "qrels-%s.tsv" % name)
        with open(qf, "w") as f:
            f.write("query_id\ttext\n")
            for i, q in enumerate(qs):
                f.write("b%05d\t%s\n" % (i, q))
        with open(jf, "w") as f:
            f.write("query_id\tproduct_id\trelevance\n")
            for i, q in enumerate(qs):
                f.write("b%05d\t%s\t1\n" % (i, pref[q]["product_id"]))
        r = subprocess.run([a.aisle, "eval", "compare", "--index", a.index, "--queries", qf, "--qrels", jf, "--behaviour-log", log,
                            "--options-json", '{"operator": "and"}', "--b-options-json", '{"ranking": {"behaviour": true}}',
                            "--a-label", "behaviour off", "--b-label", "behaviour on", "--gain", "identity", "--rel-min-gain", "1",
                            "--k", "10", "--json", "--threads", "2"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("aisle eval compare: " + r.stderr)
        sys.stderr.write(r.stderr)
        res = json.loads(r.stdout)
        out[name] = res
        print("%s (%d queries): %s" % (name, len(qs), json.dumps({k: res[k] for k in res if k not in ("worst", "per_query")})[:1500]))
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
