#!/usr/bin/env python3
"""Real Elasticsearch/OpenSearch clients against `aisle serve --data` (issue 17, first part).

    scripts/es_clients_test.py --aisle .build/debug/aisle

Pass 1 drives Aisle with opensearch-py: create an index with a mapping, `helpers.bulk` 5,000
documents, refresh, then count, real-time GET, `_update`, delete, `create` on an existing id,
a bulk with bad items (each fails alone), `_cat/indices`, the mapping, errors in Elasticsearch's
shape, and a search (not supported yet: a 400 naming it). Every answer is compared with what the
documents say (computed here). Pass 2 does the same with elasticsearch-py 8, with the server started
with --elasticsearch-product-header (the client refuses a server without it) and the
`compatible-with=8` media type.

The clients are installed with pip when missing; when PyPI cannot be reached the script says so
and exits 0 (skipped). Any failed check exits 1.
"""
import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "es-clients-test-token"
MAPPING = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {"properties": {
        "name": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "brand": {"type": "keyword"},
        "price": {"type": "double"},
        "stock": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "created": {"type": "date"},
        "dims": {"properties": {"width": {"type": "float"}}},
    }},
}
WORDS = ["red", "blue", "oak", "velvet", "sofa", "lamp", "table", "chair", "desk", "linen", "steel", "walnut"]
BRANDS = ["Acme", "Zeta", "Nordic", "Hale", "Orbit"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL " + what, flush=True)


def ensure(module, package):
    try:
        return __import__(module)
    except ImportError:
        pass
    for extra in ([], ["--break-system-packages"]):
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet"] + extra + [package],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            break
    try:
        return __import__(module)
    except ImportError:
        return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(aisle, work, header):
    idx = os.path.join(work, "primary")
    if not os.path.exists(idx):
        sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpora", "sample-catalog.jsonl")
        subprocess.run([aisle, "index", "--corpus", sample, "--index", idx, "--quiet"], check=True)
    port = free_port()
    data = os.path.join(work, "data-header" if header else "data")
    args = [aisle, "serve", "--index", idx, "--data", data, "--port", str(port), "--token", TOKEN]
    if header:
        args.append("--elasticsearch-product-header")
    log = open(os.path.join(work, "serve-%s.log" % ("header" if header else "plain")), "w")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
            return p, port
        except OSError:
            if p.poll() is not None:
                raise SystemExit("aisle serve exited: " + open(log.name).read()[-2000:])
            time.sleep(0.1)
    raise SystemExit("aisle serve did not start")


def documents(n, seed):
    rng = random.Random(seed)
    docs = {}
    for i in range(n):
        d = {"name": " ".join(rng.sample(WORDS, 3)), "brand": rng.choice(BRANDS),
             "price": round(rng.uniform(1, 999), 2), "stock": rng.randint(0, 50), "in_stock": rng.random() < 0.8,
             "created": "2026-%02d-%02dT10:00:00Z" % (rng.randint(1, 12), rng.randint(1, 28))}
        if rng.random() < 0.5:
            d["dims"] = {"width": round(rng.uniform(0.2, 3), 1)}
        docs["d%05d" % i] = d
    return docs


def run_pass(label, client, helpers, errors_mod, n, port):
    print("%s: create, bulk %d, refresh, count, get, update, delete, bad items, errors" % (label, n), flush=True)
    name = "products-" + label.split("-")[0]
    r = client.indices.create(index=name, body=MAPPING)
    check(r.get("acknowledged") is True and r.get("index") == name, "%s create: %s" % (label, r))
    check(client.indices.exists(index=name), "%s exists" % label)
    check(not client.indices.exists(index="missing-index"), "%s missing index exists" % label)
    docs = documents(n, 17)
    actions = [{"_index": name, "_id": k, "_source": v} for k, v in docs.items()]
    t0 = time.time()
    ok, errs = helpers.bulk(client, actions, chunk_size=1000)
    check(ok == n and not errs, "%s bulk: %s ok, errors %s" % (label, ok, errs[:3] if errs else errs))
    print("  bulk: %d documents in %.2f s" % (n, time.time() - t0), flush=True)
    client.indices.refresh(index=name)
    c = client.count(index=name)
    check(c["count"] == n, "%s count %s != %d" % (label, c, n))
    searches(label, client, errors_mod, name, docs, port)
    for k in random.Random(3).sample(sorted(docs), 25):
        g = client.get(index=name, id=k)
        check(g["found"] and g["_id"] == k and g["_source"] == docs[k], "%s get %s: %s" % (label, k, g))
    # Real-time GET: no refresh between the write and the read.
    client.index(index=name, id="fresh", body={"name": "new sofa", "brand": "Acme", "price": 5})
    check(client.get(index=name, id="fresh")["_source"]["price"] == 5, "%s real-time get" % label)
    # Partial update: objects merge, the rest replaces.
    client.update(index=name, id="fresh", body={"doc": {"price": 6.5, "dims": {"width": 1.5}}})
    src = client.get(index=name, id="fresh")["_source"]
    check(src == {"name": "new sofa", "brand": "Acme", "price": 6.5, "dims": {"width": 1.5}}, "%s update merged: %s" % (label, src))
    try:
        client.update(index=name, id="nope", body={"doc": {"price": 1}})
        check(False, "%s update of a missing document succeeded" % label)
    except errors_mod.NotFoundError as e:
        check("document_missing_exception" in str(e), "%s update missing: %s" % (label, e))
    # create on an existing id: 409.
    try:
        client.create(index=name, id="fresh", body={"name": "dup"})
        check(False, "%s create over an existing id succeeded" % label)
    except errors_mod.ConflictError as e:
        check("version_conflict_engine_exception" in str(e), "%s create conflict: %s" % (label, e))
    d = client.delete(index=name, id="fresh")
    check(d["result"] == "deleted", "%s delete: %s" % (label, d))
    try:
        client.get(index=name, id="fresh")
        check(False, "%s get after delete found it" % label)
    except errors_mod.NotFoundError:
        pass
    # A bulk with bad items: each fails alone, the others are written.
    bad = [{"_index": name, "_id": "b1", "_source": {"name": "ok one", "price": 3}},
           {"_index": name, "_id": "b2", "_source": {"name": "bad", "price": "cheap"}},
           {"_index": name, "_id": "b3", "_source": {"name": "bad", "stock": 3000000000}},
           {"_op_type": "delete", "_index": name, "_id": "never-there"},
           {"_index": "missing-index", "_id": "b4", "_source": {"name": "x"}},
           {"_index": name, "_id": "b5", "_source": {"name": "ok two", "price": 4}}]
    ok, errs = helpers.bulk(client, bad, raise_on_error=False, raise_on_exception=False)
    statuses = sorted(list(e.values())[0]["status"] for e in errs)
    check(ok == 2 and statuses == [400, 400, 404, 404], "%s bad bulk: ok %s, statuses %s, errors %s" % (label, ok, statuses, errs))
    client.indices.refresh(index=name)
    check(client.count(index=name)["count"] == n + 2, "%s count after the bad bulk" % label)
    # Index info, mapping, cat.
    m = client.indices.get_mapping(index=name)
    check(m[name]["mappings"] == MAPPING["mappings"], "%s mapping: %s" % (label, m))
    info = client.indices.get(index=name)
    check(info[name]["settings"]["index"]["number_of_shards"] == "1", "%s settings: %s" % (label, info))
    cat = client.cat.indices(index=name, format="json")
    check(cat and cat[0]["index"] == name and cat[0]["docs.count"] == str(n + 2), "%s cat: %s" % (label, cat))
    # Errors in Elasticsearch's shape.
    try:
        client.indices.create(index=name, body=MAPPING)
        check(False, "%s create twice succeeded" % label)
    except errors_mod.RequestError as e:
        check("resource_already_exists_exception" in str(e), "%s create twice: %s" % (label, e))
    try:
        client.indices.create(index="bad-mapping", body={"mappings": {"properties": {"a": {"type": "nested"}}}})
        check(False, "%s nested mapping accepted" % label)
    except errors_mod.RequestError as e:
        check("mapper_parsing_exception" in str(e) and "nested" in str(e), "%s nested: %s" % (label, e))
    try:
        client.indices.create(index="bad-phrases", body={"mappings": {"properties": {"a": {"type": "text", "index_phrases": "yes"}}}})
        check(False, "%s index_phrases \"yes\" accepted" % label)
    except errors_mod.RequestError as e:
        check("mapper_parsing_exception" in str(e) and "index_phrases" in str(e), "%s index_phrases: %s" % (label, e))
    r = client.indices.delete(index=name)
    check(r.get("acknowledged") is True and not client.indices.exists(index=name), "%s delete index" % label)


def words(d):
    return d["name"].split()


def searches(label, client, errors_mod, name, docs, port):
    """DSL searches and aggregations through the client; each answer compared with the documents
    (computed here) or with the same search through Aisle's own API."""
    print("  searches: DSL queries, sort + search_after, post_filter, highlight, _source, aggregations, msearch", flush=True)

    def ids(body):
        body = dict(body)
        body.setdefault("size", 5000)
        body.setdefault("track_total_hits", True)
        r = client.search(index=name, body=body)
        got = [h["_id"] for h in r["hits"]["hits"]]
        return r, set(got), got

    def expect(what, body, pred):
        r, got, _ = ids(body)
        want = {k for k, d in docs.items() if pred(d)}
        check(got == want and r["hits"]["total"]["value"] == len(want),
              "%s %s: %d hits (total %s), expected %d" % (label, what, len(got), r["hits"]["total"], len(want)))
        return r

    expect("match", {"query": {"match": {"name": "sofa"}}}, lambda d: "sofa" in words(d))
    expect("match or", {"query": {"match": {"name": "sofa lamp"}}}, lambda d: "sofa" in words(d) or "lamp" in words(d))
    expect("match and", {"query": {"match": {"name": {"query": "red sofa", "operator": "and"}}}},
           lambda d: "sofa" in words(d) and "red" in words(d))
    expect("minimum_should_match", {"query": {"match": {"name": {"query": "red sofa oak", "minimum_should_match": 2}}}},
           lambda d: sum(w in words(d) for w in ("red", "sofa", "oak")) >= 2)
    expect("multi_match boosts", {"query": {"multi_match": {"query": "walnut", "fields": ["name^3", "brand"]}}},
           lambda d: "walnut" in words(d))
    expect("match_phrase", {"query": {"match_phrase": {"name": "red blue"}}}, lambda d: "red blue" in d["name"])
    expect("bool", {"query": {"bool": {"must": [{"match": {"name": "lamp"}}],
                                       "filter": [{"term": {"brand": "Acme"}}, {"range": {"price": {"gte": 100, "lt": 500}}}],
                                       "must_not": [{"term": {"in_stock": False}}]}}},
           lambda d: "lamp" in words(d) and d["brand"] == "Acme" and 100 <= d["price"] < 500 and d["in_stock"])
    expect("should + msm", {"query": {"bool": {"should": [{"term": {"brand": "Zeta"}}, {"range": {"stock": {"gt": 45}}},
                                                          {"match": {"name": "desk"}}], "minimum_should_match": 2}}},
           lambda d: (d["brand"] == "Zeta") + (d["stock"] > 45) + ("desk" in words(d)) >= 2)
    expect("terms + exists", {"query": {"bool": {"filter": [{"terms": {"brand": ["Acme", "Zeta"]}}, {"exists": {"field": "dims.width"}}]}}},
           lambda d: d["brand"] in ("Acme", "Zeta") and "dims" in d)
    expect("not exists", {"query": {"bool": {"must_not": [{"exists": {"field": "dims.width"}}]}}}, lambda d: "dims" not in d)
    r, got, _ = ids({"query": {"ids": {"values": ["d00001", "d00002", "nope"]}}})
    check(got == {"d00001", "d00002"}, "%s ids: %s" % (label, got))
    expect("prefix keyword", {"query": {"prefix": {"name.keyword": "red "}}}, lambda d: d["name"].startswith("red "))
    expect("date range", {"query": {"range": {"created": {"gte": "2026-06-01", "lt": "2026-09-01"}}}},
           lambda d: "2026-06-01" <= d["created"] < "2026-09-01")
    expect("term on a number", {"query": {"term": {"stock": 7}}}, lambda d: d["stock"] == 7)
    # Sort by price, paged with search_after (ties by _id).
    acme = sorted((k for k, d in docs.items() if d["brand"] == "Acme"), key=lambda k: (-docs[k]["price"], k))
    pages, after = [], None
    for _ in range(3):
        body = {"query": {"term": {"brand": "Acme"}}, "sort": [{"price": "desc"}], "size": 100, "_source": False}
        if after:
            body["search_after"] = after
        r = client.search(index=name, body=body)
        hs = r["hits"]["hits"]
        pages += [h["_id"] for h in hs]
        after = hs[-1]["sort"]
    check(pages == acme[:300], "%s sort + search_after: first %s, expected %s" % (label, pages[:3], acme[:3]))
    # post_filter narrows the hits, not the aggregations.
    r = client.search(index=name, body={"query": {"match_all": {}}, "post_filter": {"term": {"brand": "Zeta"}},
                                         "aggs": {"b": {"terms": {"field": "brand"}}}, "size": 0, "track_total_hits": True})
    counts = {}
    for d in docs.values():
        counts[d["brand"]] = counts.get(d["brand"], 0) + 1
    check(r["hits"]["total"]["value"] == counts["Zeta"], "%s post_filter total" % label)
    check({b["key"]: b["doc_count"] for b in r["aggregations"]["b"]["buckets"]} == counts, "%s post_filter aggs: %s" % (label, r["aggregations"]))
    # Highlight and _source filtering.
    r = client.search(index=name, body={"query": {"match": {"name": "velvet"}}, "size": 20, "_source": ["brand"],
                                         "highlight": {"pre_tags": ["<x>"], "post_tags": ["</x>"], "fields": {"name": {}}}})
    hs = r["hits"]["hits"]
    check(hs and all(h["_source"] == {"brand": docs[h["_id"]]["brand"]} for h in hs), "%s _source filter: %s" % (label, hs[:2]))
    check(hs and all("<x>velvet</x>" in h["highlight"]["name"][0] for h in hs), "%s highlight: %s" % (label, hs[:2]))
    # Aggregations, each computed here too.
    sel = [d for d in docs.values() if d["in_stock"]]
    r = client.search(index=name, body={"query": {"term": {"in_stock": True}}, "size": 0, "aggs": {
        "brands": {"terms": {"field": "brand", "size": 3}, "aggs": {"top": {"max": {"field": "price"}}}},
        "az": {"terms": {"field": "brand", "include": "A.*|Z.*"}},
        "prices": {"range": {"field": "price", "ranges": [{"to": 100}, {"from": 100, "to": 500}, {"from": 500}]}},
        "stock": {"histogram": {"field": "stock", "interval": 10}},
        "st": {"stats": {"field": "price"}},
        "cheap": {"filter": {"range": {"price": {"lt": 50}}}, "aggs": {"avg": {"avg": {"field": "stock"}}}},
        "two": {"filters": {"filters": {"acme": {"term": {"brand": "Acme"}}, "blue": {"match": {"name": "blue"}}}}},
    }})
    ag = r["aggregations"]
    bc = {}
    for d in sel:
        bc[d["brand"]] = bc.get(d["brand"], 0) + 1
    top3 = sorted(bc.items(), key=lambda x: (-x[1], x[0]))[:3]
    check([(b["key"], b["doc_count"]) for b in ag["brands"]["buckets"]] == top3, "%s terms: %s vs %s" % (label, ag["brands"], top3))
    check(ag["brands"]["sum_other_doc_count"] == len(sel) - sum(c for _, c in top3), "%s sum_other_doc_count" % label)
    for b in ag["brands"]["buckets"]:
        mx = max(d["price"] for d in sel if d["brand"] == b["key"])
        check(abs(b["top"]["value"] - mx) < 1e-9, "%s sub-aggregation max for %s" % (label, b["key"]))
    check(sorted(b["key"] for b in ag["az"]["buckets"]) == sorted(k for k in bc if k[0] in "AZ"), "%s include: %s" % (label, ag["az"]))
    want = [sum(1 for d in sel if d["price"] < 100), sum(1 for d in sel if 100 <= d["price"] < 500), sum(1 for d in sel if d["price"] >= 500)]
    check([b["doc_count"] for b in ag["prices"]["buckets"]] == want, "%s range agg: %s vs %s" % (label, ag["prices"], want))
    hist = {}
    for d in sel:
        hist[d["stock"] // 10 * 10] = hist.get(d["stock"] // 10 * 10, 0) + 1
    check({b["key"]: b["doc_count"] for b in ag["stock"]["buckets"]} == hist, "%s histogram: %s" % (label, ag["stock"]))
    prices = [d["price"] for d in sel]
    st = ag["st"]
    check(st["count"] == len(prices) and st["min"] == min(prices) and st["max"] == max(prices) and abs(st["sum"] - sum(prices)) < 1e-6 * sum(prices),
          "%s stats: %s" % (label, st))
    cheap = [d["stock"] for d in sel if d["price"] < 50]
    check(ag["cheap"]["doc_count"] == len(cheap) and abs(ag["cheap"]["avg"]["value"] - sum(cheap) / len(cheap)) < 1e-9, "%s filter agg: %s" % (label, ag["cheap"]))
    two = ag["two"]["buckets"]
    check(two["acme"]["doc_count"] == bc.get("Acme", 0) and two["blue"]["doc_count"] == sum(1 for d in sel if "blue" in words(d)),
          "%s filters agg: %s" % (label, two))
    # The same search through Aisle's own API: same hits and counts.
    dsl = {"query": {"bool": {"must": [{"multi_match": {"query": "red sofa", "operator": "and"}}],
                              "filter": [{"range": {"price": {"gte": 100, "lte": 800}}}]}},
           "aggs": {"brand": {"terms": {"field": "brand", "size": 10}}}, "size": 20, "_source": False}
    r = client.search(index=name, body=dsl)
    st, nat = raw(port, "POST", "/api/v1/search?index=" + name, json.dumps({
        "q": "red sofa", "operator": "and", "filters": {"price_min": 100, "price_max": 800}, "facets": [{"field": "brand", "size": 10}],
        "limit": 20, "ranking": {"relax": False}}))
    check(st == 200 and [h["_id"] for h in r["hits"]["hits"]] == [h["id"] for h in nat["hits"]] and r["hits"]["total"]["value"] == nat["total"]
          and [(b["key"], b["doc_count"]) for b in r["aggregations"]["brand"]["buckets"]] == [(f["value"], f["count"]) for f in nat["facets"]["brand"]],
          "%s DSL vs native: %s vs %s" % (label, r["hits"]["total"], nat.get("total") if isinstance(nat, dict) else nat))
    # msearch: each search answers in order; a bad one fails alone.
    m = client.msearch(body=[{"index": name}, {"query": {"match": {"name": "oak"}}, "size": 0, "track_total_hits": True},
                             {"index": name}, {"query": {"nope": {}}}])
    rs = m["responses"]
    check(rs[0]["hits"]["total"]["value"] == sum(1 for d in docs.values() if "oak" in words(d)) and rs[1]["status"] == 400
          and rs[1]["error"]["type"] == "parsing_exception", "%s msearch: %s" % (label, str(rs)[:300]))
    c = client.count(index=name, body={"query": {"term": {"brand": "Hale"}}})
    check(c["count"] == counts.get("Hale", 0), "%s count with a query: %s" % (label, c))
    # Errors name what is not supported.
    for body, kind in [({"query": {"wildcard": {"name": "so*"}}}, "wildcard"), ({"query": {"nope": {}}}, "unknown query [nope]"),
                       ({"aggs": {"x": {"cardinality": {"field": "brand"}}}}, "cardinality"),
                       ({"sort": [{"brand": "asc"}]}, "sorting on [brand]"),
                       ({"aggs": {"x": {"histogram": {"field": "price", "interval": 1e-9}}}}, "too many buckets"),
                       ({"aggs": {"x": {"histogram": {"field": "price", "interval": 1e-300}}}}, "too many buckets")]:
        try:
            client.search(index=name, body=body)
            check(False, "%s %s answered" % (label, kind))
        except errors_mod.RequestError as e:
            check(kind in str(e), "%s %s: %s" % (label, kind, e))


def raw(port, method, path, body=None, token=True, ctype="application/json"):
    """One request as bytes (no client library): (status, parsed JSON or text)."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = "Bearer " + TOKEN
    c.request(method, path, body=body if body is None or isinstance(body, bytes) else body.encode(), headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data.decode(errors="replace")


def bad_input(port):
    """Hostile and malformed requests: each answers an error in Elasticsearch's shape and
    changes nothing; the server keeps serving."""
    print("bad input: malformed bodies, out-of-range settings, numeric and huge ids, broken bulk lines", flush=True)
    st, v = raw(port, "PUT", "/bad-json", "{not json")
    check(st == 400 and v["error"]["type"] == "parsing_exception", "malformed index body: %s %s" % (st, v))
    st, v = raw(port, "PUT", "/huge-refresh", json.dumps({"settings": {"refresh_interval": "1e300s"}}))
    check(st == 400 and "refresh_interval" in v["error"]["reason"], "refresh_interval 1e300s: %s %s" % (st, v))
    st, v = raw(port, "PUT", "/ids", json.dumps({"mappings": {"properties": {"n": {"type": "keyword"}}}}))
    check(st == 200, "create ids: %s %s" % (st, v))
    lines = [{"index": {"_index": "ids", "_id": 1e300}}, {"n": "a"}, {"index": {"_index": "ids", "_id": 7}}, {"n": "b"},
             {"index": {"_index": "ids", "_id": 1.5}}, {"n": "c"}, {"index": {"_index": "ids", "_id": -9.3e18}}, {"n": "d"}]
    st, v = raw(port, "POST", "/_bulk?refresh=true", "\n".join(json.dumps(x) for x in lines) + "\n", ctype="application/x-ndjson")
    ids = [list(it.values())[0].get("_id") for it in v["items"]] if st == 200 else []
    check(st == 200 and not v["errors"] and ids[1] == "7" and ids[2] == "1.5" and len(ids) == 4, "numeric ids: %s %s" % (st, v))
    st, v = raw(port, "GET", "/ids/_count")
    check(st == 200 and v["count"] == 4, "count after numeric ids: %s %s" % (st, v))
    broken = json.dumps({"index": {"_index": "ids", "_id": "x1"}}) + "\n{}\nnot an action\n" + json.dumps({"n": "y"}) + "\n"
    st, v = raw(port, "POST", "/_bulk?refresh=true", broken, ctype="application/x-ndjson")
    check(st == 400 and v["error"]["type"] == "illegal_argument_exception", "malformed bulk line: %s %s" % (st, v))
    st, v = raw(port, "GET", "/ids/_count")
    check(st == 200 and v["count"] == 4, "a malformed bulk applies nothing: %s %s" % (st, v))
    st, v = raw(port, "GET", "/ids/_doc/%zz")
    check(st == 400, "bad percent escape: %s %s" % (st, v))
    st, v = raw(port, "GET", "/ids/_count?bogus=1")
    check(st == 400 and "unrecognized parameter" in v["error"]["reason"], "unknown parameter: %s %s" % (st, v))
    st, v = raw(port, "GET", "/nope/_doc/1")
    check(st == 404 and v["error"]["type"] == "index_not_found_exception", "missing index: %s %s" % (st, v))
    st, v = raw(port, "PUT", "/ids/_doc/z", "[1, 2]")
    check(st == 400 and v["error"]["type"] == "document_parsing_exception", "array document: %s %s" % (st, v))
    st, v = raw(port, "POST", "/ids/_update/z", json.dumps({"doc": {"n": 1}, "script": "x"}))
    check(st == 400 and "script" in v["error"]["reason"], "scripted update: %s %s" % (st, v))
    st, v = raw(port, "PUT", "/ids/_doc/w", json.dumps({"n": "x"}), token=False)
    check(st == 401 and v["error"]["type"] == "security_exception", "write without the token: %s %s" % (st, v))
    # Hostile searches: each a clear error in Elasticsearch's shape, nothing runs away.
    hostile = [
        ({"query": "x"}, 400, "parsing_exception"),
        ({"query": {"match": {"n": "a"}, "term": {"n": "a"}}}, 400, "parsing_exception"),
        ({"from": 9995, "size": 10}, 400, "illegal_argument_exception"),
        ({"size": 1e300}, 400, "parsing_exception"),
        ({"sort": [{"nope": "asc"}]}, 400, "query_shard_exception"),
        ({"aggs": {"a": {"terms": {"field": "n", "include": "(["}}}}, 400, "illegal_argument_exception"),
        ({"query": {"terms": {"n": ["v%d" % i for i in range(70000)]}}}, 400, None),
        ({"query": {"script": {"script": "1"}}}, 400, "parsing_exception"),
        ({"query": {"match": {"n": {"query": "a", "fuzziness": 1e300}}}}, 400, "illegal_argument_exception"),
        ({"query": {"match": {"n": {"query": "a", "fuzziness": 1.5}}}}, 400, "illegal_argument_exception"),
    ]
    for body, status, kind in hostile:
        st, v = raw(port, "POST", "/ids/_search", json.dumps(body))
        ok = st == status and isinstance(v, dict) and "error" in v and isinstance(v["error"], dict) and (kind is None or v["error"]["type"] == kind)
        check(ok, "hostile search %s: %s %s" % (json.dumps(body)[:80], st, str(v)[:200]))
    # A search body over the limit: 413 in Elasticsearch's shape.
    st, v = raw(port, "POST", "/ids/_search", json.dumps({"query": {"ids": {"values": ["x" * 100] * 20000}}}))
    check(st == 413 and v["error"]["type"] == "content_too_long_exception", "oversized search body: %s %s" % (st, str(v)[:200]))
    # A pattern that makes backtracking engines run away answers at once.
    t0 = time.time()
    st, v = raw(port, "POST", "/ids/_search", json.dumps({"size": 0, "aggs": {"a": {"terms": {"field": "n", "include": "(a+)+b"}}}}))
    check(st == 200 and time.time() - t0 < 5, "include (a+)+b: %s in %.1f s" % (st, time.time() - t0))
    # Highlights escape hostile text with encoder html.
    raw(port, "PUT", "/ids/_doc/h?refresh=true", json.dumps({"n": "<script>alert(1)</script>"}))
    st, v = raw(port, "PUT", "/hl", json.dumps({"mappings": {"properties": {"t": {"type": "text"}}}}))
    raw(port, "PUT", "/hl/_doc/1?refresh=true", json.dumps({"t": "<img src=x onerror=alert(1)> sofa"}))
    st, v = raw(port, "POST", "/hl/_search", json.dumps({"query": {"match": {"t": "sofa"}}, "highlight": {"encoder": "html", "fields": {"t": {}}}}))
    frag = v["hits"]["hits"][0]["highlight"]["t"][0] if st == 200 and v["hits"]["hits"] else ""
    check("<img" not in frag and "&lt;img" in frag and "<em>sofa</em>" in frag, "html highlight: %s %s" % (st, frag))
    raw(port, "DELETE", "/hl")
    st, v = raw(port, "DELETE", "/ids")
    check(st == 200, "delete ids: %s %s" % (st, v))
    st, _ = raw(port, "GET", "/")
    check(st == 200, "server still serving after bad input")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=".build/debug/aisle")
    ap.add_argument("--documents", type=int, default=5000)
    a = ap.parse_args()
    osp = ensure("opensearchpy", "opensearch-py")
    es = ensure("elasticsearch", "elasticsearch>=8,<9")
    if osp is None or es is None:
        print("es clients: skipped: opensearch-py and elasticsearch 8 could not be installed (is PyPI reachable?)")
        return 0
    from opensearchpy import OpenSearch, helpers as os_helpers, exceptions as os_errors
    from elasticsearch import Elasticsearch, helpers as es_helpers
    import elasticsearch as es_errors
    work = tempfile.mkdtemp(prefix="aisle-es-clients-")
    procs = []
    try:
        p, port = start(a.aisle, work, header=False)
        procs.append(p)
        client = OpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], headers={"Authorization": "Bearer " + TOKEN}, timeout=60)
        info = client.info()
        check(info["version"]["number"].startswith("8.") and info["tagline"] == "You Know, for Search", "opensearch info: %s" % info)
        raw = urllib.request.urlopen("http://127.0.0.1:%d/" % port).headers
        check(raw.get("X-Elastic-Product") is None, "X-Elastic-Product sent without --elasticsearch-product-header")
        run_pass("opensearch-py", client, os_helpers, os_errors, a.documents, port)
        bad_input(port)
        # Writes need the token.
        anon = OpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], timeout=30)
        try:
            anon.indices.create(index="no-token")
            check(False, "index created without the token")
        except os_errors.AuthenticationException:
            pass
        p2, port2 = start(a.aisle, work, header=True)
        procs.append(p2)
        client2 = Elasticsearch("http://127.0.0.1:%d" % port2, headers={"Authorization": "Bearer " + TOKEN}, request_timeout=60)
        check(client2.info()["cluster_name"] == "aisle", "elasticsearch-py info")
        run_pass("elasticsearch-py", client2, es_helpers, es_errors, a.documents, port2)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("es clients: %d checks failed" % len(failures))
        return 1
    print("es clients: PASSED (opensearch-py and elasticsearch-py 8, %d documents each)" % a.documents)
    return 0


if __name__ == "__main__":
    sys.exit(main())
