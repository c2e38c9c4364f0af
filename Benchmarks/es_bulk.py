#!/usr/bin/env python3
"""Bulk indexing through the Elasticsearch-compatible API against `aisle index` (issue 17).

    Benchmarks/es_bulk.py --aisle .build/release/aisle --corpus catalog-1m.jsonl [--limit N] [--chunk 1000]

1. `aisle index --corpus C` into a fresh directory: wall time, documents/s (the anchor).
2. `aisle serve --data DIR`, `PUT /catalog` with a mapping of the synth catalog (title and
   description text, brand and category_path keyword, category text, price/rating double,
   review_count integer, in_stock boolean; `attributes` stay in `_source`), then opensearch-py's
   `helpers.bulk` of the same lines (each line parsed, its `id` taken out as `_id`), batches of
   --chunk, on the same machine; then `_refresh` and `_count` (must equal the lines sent).
   Wall time from the first batch to the count, documents/s.
Reports both and the ratio. Target: bulk >= 50% of `aisle index`. The client's JSON work runs on
the same cores as the server (as it would for a shop's indexing script).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "es-bulk-bench"
MAPPING = {"settings": {"number_of_shards": 1, "refresh_interval": "1s"},
           "mappings": {"properties": {
               "title": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
               "description": {"type": "text"},
               "brand": {"type": "keyword"},
               "category": {"type": "text"},
               "category_path": {"type": "keyword"},
               "price": {"type": "double"}, "rating": {"type": "double"}, "review_count": {"type": "integer"},
               "in_stock": {"type": "boolean"}}}}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=".build/release/aisle")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--limit", type=int, default=0, help="first N lines only (0: all)")
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--refresh-interval", default="1s", help="the index's refresh_interval during the load (Elasticsearch's default 1s; -1: only the final refresh)")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    from opensearchpy import OpenSearch, helpers
    work = tempfile.mkdtemp(prefix="aisle-es-bulk-")
    corpus = a.corpus
    try:
        if a.limit:
            corpus = os.path.join(work, "corpus.jsonl")
            with open(a.corpus, "rb") as f, open(corpus, "wb") as out:
                for i, line in enumerate(f):
                    if i >= a.limit:
                        break
                    out.write(line)
        n = sum(1 for _ in open(corpus, "rb"))
        t0 = time.time()
        subprocess.run([a.aisle, "index", "--corpus", corpus, "--index", os.path.join(work, "direct"), "--quiet"], check=True)
        direct_s = time.time() - t0
        print("aisle index: %d documents in %.1f s = %.0f docs/s" % (n, direct_s, n / direct_s), flush=True)
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        srv = subprocess.Popen([a.aisle, "serve", "--index", os.path.join(work, "direct"), "--data", os.path.join(work, "data"),
                                "--port", str(port), "--token", TOKEN], stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            es = OpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], headers={"Authorization": "Bearer " + TOKEN}, timeout=600)
            body = json.loads(json.dumps(MAPPING))
            body["settings"]["refresh_interval"] = a.refresh_interval
            es.indices.create(index="catalog", body=body)

            def actions():
                with open(corpus, "rb") as f:
                    for line in f:
                        d = json.loads(line)
                        yield {"_index": "catalog", "_id": d.pop("id"), "_source": d}
            t0 = time.time()
            ok, errors = helpers.bulk(es, actions(), chunk_size=a.chunk, max_chunk_bytes=30 << 20, raise_on_error=False)
            es.indices.refresh(index="catalog")
            count = es.count(index="catalog")["count"]
            bulk_s = time.time() - t0
        finally:
            srv.terminate()
            srv.wait(30)
        print("helpers.bulk: %d documents (%d ok, %d errors) in %.1f s = %.0f docs/s; count %d" % (n, ok, len(errors), bulk_s, n / bulk_s, count), flush=True)
        ratio = (n / bulk_s) / (n / direct_s)
        print("bulk / aisle index = %.2f (target >= 0.50): %s" % (ratio, "PASS" if ratio >= 0.5 and count == n and not errors else "FAIL"))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"documents": n, "aisle_index_s": direct_s, "bulk_s": bulk_s, "ratio": ratio, "count": count,
                           "errors": len(errors), "chunk": a.chunk, "refresh_interval": a.refresh_interval}, f, indent=1)
        return 0 if ratio >= 0.5 and count == n and not errors else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
