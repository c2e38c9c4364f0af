#!/usr/bin/env python3
"""Query DSL searches through `_search` against the same searches through `POST /api/v1/search`
(issue 17).

    Benchmarks/es_search.py --aisle .build/release/aisle --corpus catalog-1m.jsonl --queries queries-2k.jsonl \
        [--data DIR] [--rounds 3] [--json out.json]

1. `aisle serve --data DIR`; unless DIR already holds the index `catalog`, `PUT /catalog` with the
   mapping of `es_bulk.py` and `helpers.bulk` the corpus (opensearch-py, batches of 1,000).
2. Each synth query becomes the DSL a shop's code would send:
   `{"query": {"bool": {"must": [{"multi_match": {"query": q, "operator": "and"}}],
   "filter": [{"range": {"price": {"gte": min, "lte": max}}}]}},
   "aggs": {"brand": {"terms": {"field": "brand"}}, "category": {"terms": {"field": "category_path"}}},
   "size": 10, "_source": false}`
   and the native twin is `{"q": q, "operator": "and", "filters": {"price_min", "price_max"},
   "facets": ["brand", "category_path"], "limit": 10, "ranking": {"relax": false}}` on the same index
   (`?index=catalog`). (Elasticsearch's `operator: and` does not relax to OR, hence `relax: false`.)
3. Every query: the same hit ids in the same order, the same total and the same buckets, or it is a
   mismatch. Then `--rounds` timed rounds over all queries, the two endpoints interleaved query by
   query (order alternating), one keep-alive connection each, one client thread: p50/p90/p99 per
   endpoint and the ratio of the medians. Target: p50(_search) <= 1.2 x p50(native).
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from es_bulk import MAPPING  # noqa: E402

TOKEN = "es-search-bench"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=".build/release/aisle")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--data", help="data directory to keep (and reuse) the bulk-loaded index in")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="first N queries only")
    ap.add_argument("--json")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="aisle-es-search-")
    data = a.data or os.path.join(work, "data")
    primary = os.path.join(work, "primary")
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpora", "sample-catalog.jsonl")
    subprocess.run([a.aisle, "index", "--corpus", sample, "--index", primary, "--quiet"], check=True)
    port = free_port()
    log = open(os.path.join(work, "serve.log"), "w")
    srv = subprocess.Popen([a.aisle, "serve", "--index", primary, "--data", data, "--port", str(port), "--token", TOKEN],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(3000):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        from opensearchpy import OpenSearch, helpers
        es = OpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], headers={"Authorization": "Bearer " + TOKEN}, timeout=600)
        if not es.indices.exists(index="catalog"):
            es.indices.create(index="catalog", body=MAPPING)

            def actions():
                with open(a.corpus, "rb") as f:
                    for line in f:
                        d = json.loads(line)
                        yield {"_index": "catalog", "_id": d.pop("id"), "_source": d}
            t0 = time.time()
            ok, errors = helpers.bulk(es, actions(), chunk_size=1000, max_chunk_bytes=30 << 20, raise_on_error=False)
            print("loaded %d documents (%d errors) in %.0f s" % (ok, len(errors), time.time() - t0), flush=True)
        es.indices.refresh(index="catalog")
        count = es.count(index="catalog")["count"]
        queries = [json.loads(l) for l in open(a.queries)]
        if a.limit:
            queries = queries[:a.limit]
        pairs = []
        for q in queries:
            f = q.get("filters") or {}
            rng = {}
            if "price_min" in f:
                rng["gte"] = f["price_min"]
            if "price_max" in f:
                rng["lte"] = f["price_max"]
            dsl = {"query": {"bool": {"must": [{"multi_match": {"query": q["q"], "operator": "and"}}],
                                      "filter": [{"range": {"price": rng}}] if rng else []}},
                   "aggs": {"brand": {"terms": {"field": "brand"}}, "category": {"terms": {"field": "category_path"}}},
                   "size": 10, "_source": False}
            native = {"q": q["q"], "operator": "and", "filters": {k: v for k, v in f.items() if k in ("price_min", "price_max")},
                      "facets": ["brand", "category_path"], "limit": 10, "ranking": {"relax": False}}
            pairs.append((json.dumps(dsl).encode(), json.dumps(native).encode()))
        ces = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        cnat = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def call(conn, path, body):
            t = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            dt = time.perf_counter() - t
            if r.status != 200:
                raise SystemExit("%s answered %d: %s" % (path, r.status, data[:300]))
            return dt, data

        mismatches = []
        for i, (dsl, nat) in enumerate(pairs):
            _, e = call(ces, "/catalog/_search", dsl)
            _, n = call(cnat, "/api/v1/search?index=catalog", nat)
            e, n = json.loads(e), json.loads(n)
            same = ([h["_id"] for h in e["hits"]["hits"]] == [h["id"] for h in n["hits"]]
                    and e["hits"]["total"]["value"] == n["total"]
                    and [(b["key"], b["doc_count"]) for b in e["aggregations"]["brand"]["buckets"]] == [(x["value"], x["count"]) for x in n["facets"]["brand"]]
                    and [(b["key"], b["doc_count"]) for b in e["aggregations"]["category"]["buckets"]] == [(x["value"], x["count"]) for x in n["facets"]["category_path"]])
            if not same:
                mismatches.append(queries[i]["qid"])
        print("%d queries on %d documents: %d with different hits, totals or buckets %s" % (len(pairs), count, len(mismatches), mismatches[:10]), flush=True)
        es_t, nat_t = [], []
        for rnd in range(a.rounds):
            for i, (dsl, nat) in enumerate(pairs):
                if (i + rnd) % 2 == 0:
                    es_t.append(call(ces, "/catalog/_search", dsl)[0])
                    nat_t.append(call(cnat, "/api/v1/search?index=catalog", nat)[0])
                else:
                    nat_t.append(call(cnat, "/api/v1/search?index=catalog", nat)[0])
                    es_t.append(call(ces, "/catalog/_search", dsl)[0])
        res = {"documents": count, "queries": len(pairs), "rounds": a.rounds, "mismatches": len(mismatches)}
        for name, xs in (("search", es_t), ("native", nat_t)):
            res[name] = {"p50_ms": pct(xs, 50) * 1000, "p90_ms": pct(xs, 90) * 1000, "p99_ms": pct(xs, 99) * 1000, "mean_ms": statistics.mean(xs) * 1000}
            print("%-7s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  mean %.2f ms" % ((name,) + tuple(res[name][k] for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"))))
        res["ratio_p50"] = res["search"]["p50_ms"] / res["native"]["p50_ms"]
        ok = res["ratio_p50"] <= 1.2 and not mismatches
        print("p50 _search / native = %.3f (target <= 1.2), mismatches %d: %s" % (res["ratio_p50"], len(mismatches), "PASS" if ok else "FAIL"))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1)
        return 0 if ok else 1
    finally:
        srv.terminate()
        srv.wait(30)
        if not a.data:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
