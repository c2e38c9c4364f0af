#!/usr/bin/env python3
"""Search replicas end to end: `aisle serve` nodes behind HAProxy (scripts/replicas.sh), each with
its own index, each following the catalog's change log in PostgreSQL.

    scripts/replica_test.py [--aisle BIN] [--products 10000] [--clients 4] [--rate 40] [--seed 7]
                            [--strict-order] [--json OUT] [--keep]        (--help for all)

    AISLE_BIN (or --aisle) names the binary; default .build/release/aisle
    (`swift build -c release --product aisle`). Takes about 35 s at 10,000 products.

Exit status 0 when every check held, 1 on a failure (what failed is printed; the work directory
with the nodes' logs is kept), 2 when the test could not be set up. When PostgreSQL cannot be
started (scripts/services.sh fails) the test is skipped, saying so, with status 0.

 1. Stores: the test command's PostgreSQL (AISLE_TEST_DATABASE_URL) or DATABASE_URL, else one from
    scripts/services.sh on ports of its own (55533 / 56533, stopped at the end); a fresh database
    `aisle_replica_test` in it. The catalog: --products of the synth catalog
    (../shared/corpora/synth/gen_catalog.py, when present; else generated here), loaded with
    `aisle catalog load`, attribute documents in a file in the work directory.
 2. `scripts/replicas.sh start --nodes 2`: each node `aisle reindex`es its own index and serves
    it, following the change log; HAProxy in front.
 (a) Failover: --clients threads search through HAProxy (keep-alive connections, a short pause
    between requests) for --load-seconds; halfway, one node gets SIGKILL. Every request must
    succeed except at most those in flight at the moment of the kill (HAProxy retries those on the
    other node, so normally none fails). The kill waits (at most half a second) until searches
    are in flight. A kept-alive connection to HAProxy found closed counts as a failure too (the
    client sends that search again on a fresh connection, as browsers do, and it is reported).
    Reported: requests, failures, in flight at the kill, how long HAProxy took to mark the node
    DOWN, latency before and after, and who answered.
 (b) Convergence: catalog changes stream into PostgreSQL (price and stock updates, new products,
    deletes and discontinued products, title edits, a brand rename, a category-wide price change;
    each a transaction, so the triggers write the change log) while the killed node is restarted
    on its own index (`replicas.sh restart-node`: it resumes from its last commit). After the
    stream, both nodes must answer a set of queries identically (hit ids and order, totals,
    facets, price stats; each node queried directly), and every product the stream touched must be
    in each node as PostgreSQL has it (price, stock, title; gone when deleted or discontinued).
    Polled until true (--catch-up-timeout); the time it took is reported, and then the time
    single price changes take to show on each node (markers).
    One tolerance, reported each time: in relevance order, products whose scores are equal or
    within 0.1% may come in another order on another node (aisle breaks exact ties by internal
    document number, which depends on each node's segments, and its BM25 statistics count deleted
    documents not yet merged away); --strict-order makes that a failure. Operator-or queries with
    the default ranking (pseudo-relevance feedback, which picks its words from the top 10) are
    compared separately and reported, asserted only with --strict-order.
 (c) Scale out: while changes keep streaming and a light search load runs through HAProxy,
    `replicas.sh add-node` builds a third node (fresh reindex), waits until it has caught up
    and adds it to the running HAProxy. The new node must then answer identically too, must get
    traffic, and no search through HAProxy may have failed meanwhile (nor any kept-alive
    connection been closed).

Only the Python standard library is used (PostgreSQL through scripts/pgwire.py).
"""
import argparse
import collections
from decimal import Decimal
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from pgwire import PG  # noqa: E402
import test_stores  # noqa: E402
from test_stores import free_port  # noqa: E402

now = time.monotonic
DB_NAME = "aisle_replica_test"
PG_PORT, REDIS_PORT = "55533", "56533"
REPLICAS = os.path.join(ROOT, "scripts", "replicas.sh")


class Failure(Exception):
    pass


class SetupError(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def http_json(port, path, timeout=5):
    """GET a JSON answer from a node directly: (status, parsed body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def free_port_block(n):
    """A port p with p .. p+n-1 all free (for HAProxy's port and the nodes after it)."""
    for _ in range(200):
        p = random.randint(20000, 40000)
        ok = True
        for q in range(p, p + n):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return p
    raise SetupError("no block of %d free ports" % n)


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))]


def ms(x):
    return "-" if x is None else "%.1f" % (x * 1000)


# MARK: - Catalog corpus

def synth_corpus(path, n, seed):
    gen = os.path.join(os.path.dirname(ROOT), "shared", "corpora", "synth", "gen_catalog.py")
    if os.path.exists(gen):
        subprocess.run([sys.executable, gen, "--products", str(n), "--seed", str(seed), "--out", path], check=True,
                       stdout=subprocess.DEVNULL)
        return "synth catalog (%s, seed %d)" % (gen, seed)
    # No ../shared: a small catalog of our own in the same format.
    rng = random.Random(seed)
    departments = {
        "Furniture": {"Living Room": ["Sofas", "Coffee Tables", "TV Stands"], "Bedroom": ["Beds", "Dressers", "Nightstands"]},
        "Lighting": {"Lamps": ["Table Lamps", "Floor Lamps"], "Ceiling": ["Pendants", "Chandeliers"]},
        "Rugs": {"Area Rugs": ["Wool Rugs", "Shag Rugs"], "Outdoor Rugs": ["Polypropylene Rugs"]},
        "Kitchen": {"Cookware": ["Skillets", "Saucepans", "Dutch Ovens"], "Storage": ["Canisters", "Racks"]},
    }
    adjectives = ["modern", "rustic", "vintage", "classic", "compact", "oversized", "tufted", "industrial", "coastal", "minimal"]
    colors = ["black", "white", "gray", "navy", "oak", "walnut", "brass", "ivory", "green", "rose gold"]
    materials = ["wood", "metal", "glass", "wool", "cotton", "ceramic", "steel", "leather", "linen", "marble"]
    syll = ["bra", "lon", "ket", "mir", "sta", "vel", "dor", "quin", "tal", "zen", "hol", "fi"]
    brands = sorted({(rng.choice(syll) + rng.choice(syll) + rng.choice(syll)).capitalize() for _ in range(120)})
    leaves = [(d, c, leaf) for d, cs in departments.items() for c, ls in cs.items() for leaf in ls]
    filler = ["the", "and", "with", "for", "your", "home", "style", "finish", "easy", "clean", "durable", "soft", "sturdy", "design"]
    with open(path, "w") as f:
        for i in range(n):
            d, c, leaf = rng.choice(leaves)
            noun = leaf.lower().rstrip("s")
            brand = brands[min(len(brands) - 1, int(rng.paretovariate(1.2)) - 1)]
            color, material = rng.choice(colors), rng.choice(materials)
            title = " ".join([brand, rng.choice(adjectives).capitalize(), color.title(), material.title(), noun.title()])
            desc = " ".join([rng.choice(filler) for _ in range(rng.randint(12, 40))] + [noun, material, color]) + "."
            reviews = 0 if rng.random() < 0.25 else int(rng.paretovariate(1.1) * 3)
            rec = {"id": "P%08d" % i, "title": title, "description": desc.capitalize(), "brand": brand,
                   "category": [d, c, leaf], "category_path": " > ".join([d, c, leaf]),
                   "price": round(rng.lognormvariate(4, 0.9), 2), "rating": round(rng.uniform(1, 5), 1) if reviews else None,
                   "review_count": reviews, "in_stock": rng.random() < 0.9,
                   "attributes": {"color": color, "material": material}}
            f.write(json.dumps(rec) + "\n")
    return "generated here (no ../shared/corpora/synth)"


def query_set(corpus, seed):
    """Queries drawn from the catalog: frequent title words, word pairs of one title, brands,
    with facets, filters and sorts; each a POST /api/v1/search body or a GET page's parameters.
    Returns (queries every node must answer alike, operator-or queries with the default ranking
    (pseudo-relevance feedback on), the common title words). Feedback picks its expansion words
    from the top 10 products, and which products are the top 10 among equal scores differs from
    node to node (see `differ`), so those answers may differ past the 10th product: they are
    compared and reported, and asserted only with --strict-order."""
    rng = random.Random(seed)
    words = collections.Counter()
    titles, brands, cats = [], collections.Counter(), collections.Counter()
    with open(corpus) as f:
        for line in f:
            r = json.loads(line)
            toks = [t for t in re.findall(r"[a-z]+", r["title"].lower()) if len(t) > 3]
            words.update(set(toks))
            titles.append(toks)
            brands[r.get("brand") or ""] += 1
            cats[r["category_path"].split(" > ")[0]] += 1
    common = [w for w, _ in words.most_common(60)]
    qs = []
    facets = ["brand", "category", "price"]
    for w in rng.sample(common[:40], 10):
        qs.append(("POST", {"q": w, "limit": 20, "facets": facets}))
    feedback = []
    for _ in range(6):
        t = rng.choice([t for t in titles if len(t) >= 3])
        q = " ".join(rng.sample(t, 2))
        qs.append(("POST", {"q": q, "operator": "or", "limit": 20, "track_total_hits": True, "ranking": {"feedback": False}}))
        qs.append(("POST", {"q": q, "operator": "or", "offset": 20, "limit": 20, "ranking": {"feedback": False}}))
        feedback.append(("POST", {"q": q, "operator": "or", "limit": 40, "track_total_hits": True}))
    for b, _ in brands.most_common(3):
        qs.append(("POST", {"q": b, "limit": 10, "facets": ["category", "price"]}))
    for c, _ in cats.most_common(3):
        qs.append(("POST", {"q": "", "filters": {"category": c}, "sort": "price_asc", "limit": 20, "facets": facets}))
        qs.append(("POST", {"q": rng.choice(common[:20]), "filters": {"category": c, "in_stock": True}, "sort": "price_desc", "limit": 20, "facets": facets}))
    for w in rng.sample(common[:30], 4):
        qs.append(("GET", {"q": w, "limit": 24}))
    qs.append(("GET", {"q": rng.choice(common[:10]), "sort": "price_asc", "min_price": "20", "max_price": "500", "limit": 24}))
    return qs, feedback, common


# MARK: - HTTP

STALE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected)


class Client:
    """One keep-alive HTTP/1.1 connection. Like browsers and most HTTP libraries, it sends a read
    again, once, on a fresh connection when a kept-alive connection turns out to be closed
    before any answer (HAProxy closes idle kept-alive connections when it reloads); such
    retries are counted in `stale_retries`."""

    def __init__(self, port, timeout=10):
        self.port, self.timeout, self.conn = port, timeout, None
        self.used = 0
        self.stale_retries = 0
        self.stale_events = []   # (time, error)

    def request(self, method, path, body=None):
        """(status, headers dict, parsed JSON or None). Raises on connection errors."""
        try:
            return self._request(method, path, body)
        except STALE as e:
            if not self.reused:
                raise
            self.stale_retries += 1
            self.stale_events.append((now(), "%s: %s" % (type(e).__name__, e)))
            return self._request(method, path, body)

    def _request(self, method, path, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.used = 0
        self.reused = self.used > 0
        try:
            data = json.dumps(body).encode() if body is not None else None
            self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            r = self.conn.getresponse()
            raw = r.read()
            self.used += 1
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if hdrs.get("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return r.status, hdrs, parsed
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None


def query_path(method, q):
    if method == "GET":
        return "GET", "/api/v1/products/search?" + urllib.parse.urlencode(q), None
    return "POST", "/api/v1/search", q


def relevance_order(method, q):
    return q.get("sort", "relevance") == "relevance"


def normalize(method, answer):
    """What two replicas must agree on: hits (id and score) in order, totals, facets (and the price
    stats of a page)."""
    if answer is None:
        return None
    items = answer.get("hits", []) if method == "POST" else answer.get("results", [])
    out = {"hits": [(h["id"], h.get("score") or 0.0) for h in items], "total": answer.get("total"),
           "facets": answer.get("facets")}
    if method == "POST":
        out["total_relation"] = answer.get("total_relation")
    else:
        out["pages"] = answer.get("pages")
        out["price_stats"] = answer.get("price_stats")
    return out


TIE = 1e-3   # scores within this share of each other count as tied (see `differ`)


def tie_groups(hits):
    """[(score, [ids in order])]: runs of scores within TIE (relative) of the previous one."""
    out = []
    for pid, sc in hits:
        if out and abs(sc - out[-1][2]) <= TIE * max(abs(sc), 1.0):
            out[-1][1].append(pid)
            out[-1][2] = sc
        else:
            out.append([sc, [pid], sc])
    return [(g[0], g[1]) for g in out]


def differ(a, b, relevance, strict, paged=False):
    """None when a and b agree, else what differs. Totals, facets (and a page's price stats) must
    be equal, and the hits' ids in the same order. When the order is by relevance and `strict`
    is off, products whose scores are equal or nearly so (within TIE) may come in another order:
    aisle breaks exact ties by its internal document number, which depends on how each node's
    segments were built, and its statistics count deleted documents not merged away yet, so a
    node with another history of updates scores a product a little differently (see the notes).
    The first run of such scores on a page after the first, and the last run on any page, may
    also hold other products (the run goes on before or after the page). Returns ("ties", n)
    when only that happened."""
    for k in a:
        if k != "hits" and a.get(k) != b.get(k):
            return ("differ", k)
    ids_a, ids_b = [i for i, _ in a["hits"]], [i for i, _ in b["hits"]]
    if ids_a == ids_b:
        return None
    if strict or not relevance or len(ids_a) != len(ids_b):
        return ("differ", "hits")
    groups = tie_groups(a["hits"])
    pos, reordered = 0, 0
    for k, (_, ids) in enumerate(groups):
        other = ids_b[pos:pos + len(ids)]
        pos += len(ids)
        if other == ids:
            continue
        edge = k == len(groups) - 1 or (k == 0 and paged)
        if not edge and sorted(other) != sorted(ids):
            return ("differ", "hits")
        reordered += 1
    return ("ties", reordered)


def score_spread(a, b):
    """The largest relative difference between two nodes' scores for one product."""
    sa, sb = dict(a["hits"]), dict(b["hits"])
    return max([abs(sa[i] - sb[i]) / max(abs(sa[i]), 1e-9) for i in set(sa) & set(sb)] or [0.0])


class Load:
    """Search traffic through HAProxy from `clients` threads; each request is recorded."""

    def __init__(self, port, queries, clients, pause, seed):
        self.port, self.queries, self.clients, self.pause = port, queries, clients, pause
        self.seed = seed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.records = []   # (t_start, t_end, ok, status or error, node, stale keep-alive retries)
        self.threads = []
        self.stale_events = []   # (time, error) of the retries on a fresh connection

    def worker(self, k):
        rng = random.Random(self.seed * 100 + k)
        c = Client(self.port)
        while not self.stop.is_set():
            method, q = rng.choice(self.queries)
            m, path, body = query_path(method, q)
            with self.lock:
                self.in_flight += 1
            t0 = now()
            retries = c.stale_retries
            try:
                st, h, js = c.request(m, path, body)
                # A failure names who answered and why (a node's error, or HAProxy's own page).
                what = st if st == 200 else "%s from %s: %s" % (st, h.get("x-aisle-node") or "haproxy",
                                                                 (js or {}).get("error", "") if isinstance(js, dict) else "")
                rec = (t0, now(), st == 200, what, h.get("x-aisle-node"), c.stale_retries - retries)
            except Exception as e:  # noqa: BLE001
                rec = (t0, now(), False, "%s: %s" % (type(e).__name__, e), None, c.stale_retries - retries)
            with self.lock:
                self.in_flight -= 1
                self.records.append(rec)
            if self.pause:
                time.sleep(self.pause * (0.5 + rng.random()))
        c.close()
        with self.lock:
            self.stale_events.extend(c.stale_events)

    def start(self):
        for k in range(self.clients):
            t = threading.Thread(target=self.worker, args=(k,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def summary(self, t_from=None, t_to=None):
        rs = [r for r in self.records if (t_from is None or r[0] >= t_from) and (t_to is None or r[0] < t_to)]
        lat = [r[1] - r[0] for r in rs if r[2]]
        fails = [r for r in rs if not r[2]]
        return {"requests": len(rs), "failed": len(fails), "over_500_ms": sum(1 for x in lat if x > 0.5),
                "stale_keepalive_retries": sum(r[5] for r in rs),
                "p50_ms": pct(lat, 50) and pct(lat, 50) * 1000,
                "p99_ms": pct(lat, 99) and pct(lat, 99) * 1000, "max_ms": lat and max(lat) * 1000,
                "by_node": dict(collections.Counter(r[4] for r in rs if r[2])),
                "failures": collections.Counter(str(r[3]) for r in fails).most_common(5)}


# MARK: - HAProxy's view

def hap_cmd(sock, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode(errors="replace")


def server_states(sock, detail=False):
    """name -> HAProxy's status of the node (UP, DOWN, "UP 1/2" while going down...); with
    detail, the last check's status and code and the failed checks too."""
    out = {}
    try:
        text = hap_cmd(sock, "show stat")
    except OSError:
        return out
    lines = text.splitlines()
    if not lines:
        return out
    head = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        f = dict(zip(head, line.split(",")))
        if f.get("pxname") == "aisle_nodes" and f.get("svname") not in ("BACKEND", "FRONTEND", None):
            out[f["svname"]] = f["status"] if not detail else "%s (check %s %s, %s failed checks, last change %s s ago)" % (
                f["status"], f.get("check_status"), f.get("check_code"), f.get("chkfail"), f.get("lastchg"))
    return out


# MARK: - Catalog changes

class ChangeStream:
    """Catalog changes at `rate` per second, each its own transaction, from one thread. Records
    the ids it touched."""

    def __init__(self, url, rate, seed, product_ids, new_prefix, vocab):
        self.url, self.rate, self.rng = url, rate, random.Random(seed)
        self.ids = list(product_ids)
        self.new_prefix = new_prefix
        self.vocab = vocab
        self.touched = set()
        self.counts = collections.Counter()
        self.errors = []
        self.stop = threading.Event()
        self.thread = None
        self.new_k = 0
        pg = PG(url)
        self.brands = [r[0] for r in pg.query("SELECT id FROM brands ORDER BY id")]
        self.categories = [r[0] for r in pg.query("SELECT id FROM categories WHERE depth = (SELECT max(depth) FROM categories) ORDER BY id")]
        self.top_categories = [r[0] for r in pg.query("SELECT id FROM categories WHERE depth = 3 ORDER BY id")] or self.categories
        pg.close()

    def one(self, pg):
        rng = self.rng
        pid = rng.choice(self.ids)
        u = rng.random()
        if u < 0.45:
            pg.query("UPDATE products SET price = $1 WHERE id = $2", ["%d.%02d" % (rng.randint(1, 2000), rng.randrange(100)), pid])
            self.counts["price"] += 1
        elif u < 0.65:
            pg.query("UPDATE inventory SET available = $1 WHERE product_id = $2", [rng.choice([0, 0, 1, 3, 8, 25]), pid])
            self.counts["stock"] += 1
        elif u < 0.77:
            self.new_k += 1
            pid = "%s%06d" % (self.new_prefix, self.new_k)
            title = " ".join(w.capitalize() for w in rng.sample(self.vocab, 3)) + " Replica Edition"
            # One statement, one transaction: the product and its stock.
            pg.query("WITH p AS (INSERT INTO products (id, title, description, brand_id, category_id, price, review_count) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id) "
                     "INSERT INTO inventory (product_id, available) SELECT id, $8 FROM p",
                     [pid, title, "A new product of the replica test, %s." % " ".join(rng.sample(self.vocab, 4)),
                      rng.choice(self.brands), rng.choice(self.categories),
                      "%d.%02d" % (rng.randint(5, 900), rng.randrange(100)), rng.randint(0, 40), rng.randint(0, 30)])
            self.ids.append(pid)
            self.counts["insert"] += 1
        elif u < 0.84:
            pg.query("DELETE FROM products WHERE id = $1", [pid])
            self.counts["delete"] += 1
        elif u < 0.88:
            pg.query("UPDATE products SET status = 'discontinued' WHERE id = $1", [pid])
            self.counts["discontinue"] += 1
        elif u < 0.90:
            pg.query("UPDATE products SET status = 'active' WHERE id = $1", [pid])   # back (or already active)
            self.counts["reactivate"] += 1
        elif u < 0.98:
            w = rng.choice(self.vocab)
            pg.query("UPDATE products SET title = left(title, 180) || ' ' || $1 WHERE id = $2", [w.capitalize(), pid])
            self.counts["title"] += 1
        elif u < 0.99:
            # A sale: a category's prices in one transaction (many products, one statement).
            cat = rng.choice(self.top_categories)
            rows = pg.query("UPDATE products SET price = round(price * 0.9, 2) WHERE category_id = $1 RETURNING id", [cat])
            self.touched.update(r[0] for r in rows)
            self.counts["category_sale"] += 1
            return
        else:
            # A brand rename changes every product that shows it.
            b = rng.choice(self.brands)
            pg.query("UPDATE brands SET name = name || ' X' WHERE id = $1 AND length(name) < 60", [b])
            rows = pg.query("SELECT id FROM products WHERE brand_id = $1", [b])
            self.touched.update(r[0] for r in rows)
            self.counts["brand_rename"] += 1
            return
        self.touched.add(pid)

    def run(self):
        pg = PG(self.url)
        t_next = now()
        try:
            while not self.stop.is_set():
                d = t_next - now()
                if d > 0:
                    time.sleep(d)
                t_next += 1.0 / self.rate
                self.one(pg)
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))
        finally:
            pg.close()

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def finish(self):
        self.stop.set()
        if self.thread:
            self.thread.join(30)
        if self.errors:
            raise Failure("the change stream failed: %s" % self.errors[0])


def catalog_truth(url, ids):
    """id -> (price, stock, title) of the active products among ids; absent: gone from search."""
    pg = PG(url)
    out = {}
    ids = sorted(ids)
    for i in range(0, len(ids), 500):
        for pid, status, price, stock, title in pg.query(
                "SELECT p.id, p.status, p.price::text, greatest(0, coalesce(i.available, 0) - coalesce(i.reserved, 0)), p.title "
                "FROM products p LEFT JOIN inventory i ON i.product_id = p.id WHERE p.id = ANY(string_to_array($1, E'\\n'))",
                ["\n".join(ids[i:i + 500])]):
            if status == "active":
                out[pid] = (Decimal(price), int(stock), title)
    pg.close()
    return out


# MARK: - Comparing nodes

def answers(port, queries):
    c = Client(port)
    out = []
    try:
        for method, q in queries:
            m, path, body = query_path(method, q)
            st, _, a = c.request(m, path, body)
            if st != 200:
                raise Failure("node on port %d answered %s to %s %s: %s" % (port, st, m, path, a))
            out.append(normalize(method, a))
    finally:
        c.close()
    return out


def compare_nodes(nodes, queries, strict=False):
    """(None, info) when every node answers every query alike, else (what differs first, info).
    info: "ties", the queries where only products with (nearly) equal scores came in another
    order; "score_spread", the largest relative difference of one product's score between nodes."""
    results = {name: answers(port, queries) for name, port in nodes}
    names = [n for n, _ in nodes]
    first = names[0]
    info = {"ties": [], "score_spread": 0.0}
    for i, (method, q) in enumerate(queries):
        a = results[first][i]
        for other in names[1:]:
            b = results[other][i]
            info["score_spread"] = max(info["score_spread"], score_spread(a, b))
            d = differ(a, b, relevance_order(method, q), strict, paged=bool(q.get("offset") or q.get("page", "1") != "1"))
            if d is None:
                continue
            if d[0] == "ties":
                ga, gb = [i for i, _ in a["hits"]], [i for i, _ in b["hits"]]
                k = next(k for k, (x, y) in enumerate(zip(ga, gb)) if x != y)
                info["ties"].append({"query": q, "nodes": [first, other], "position": k + 1 + int(q.get("offset", 0)),
                                     first: a["hits"][k:k + 3], other: b["hits"][k:k + 3]})
                continue
            detail = {d[1]: "differ" if d[1] == "facets" else (a.get(d[1]), b.get(d[1]))}
            return "%s and %s differ on %s %s: %s" % (first, other, method, json.dumps(q), json.dumps(detail)[:900]), info
    return None, info


def check_truth(nodes, truth, touched, limit=None):
    """None when every touched product is in every node as PostgreSQL has it, else the first
    difference."""
    ids = sorted(touched)
    if limit and len(ids) > limit:
        ids = random.Random(1).sample(ids, limit)
    for name, port in nodes:
        c = Client(port)
        try:
            for pid in ids:
                st, _, a = c.request("GET", "/api/v1/products/" + urllib.parse.quote(pid))
                want = truth.get(pid)
                if want is None:
                    if st != 404:
                        return "%s still has %s (gone from the catalog): %s" % (name, pid, st)
                    continue
                if st != 200:
                    return "%s answers %s for %s (in the catalog: price %s, stock %s)" % (name, st, pid, want[0], want[1])
                got = (Decimal(str(a.get("price", -1))), int(a.get("stock", -1)), a.get("title"))
                if got != want:
                    return "%s has %s as %s, the catalog as %s" % (name, pid, got, want)
        finally:
            c.close()
    return None


def converge(nodes, queries, url, touched, timeout, label, strict):
    """Polls until the nodes agree with each other and with the catalog; returns the seconds it
    took and the tie-order differences of the last comparison."""
    t0 = now()
    last = None
    while True:
        truth = catalog_truth(url, touched)
        problem = check_truth(nodes, truth, touched)
        ties = []
        if problem is None:
            problem, ties = compare_nodes(nodes, queries, strict)
        if problem is None:
            return now() - t0, ties
        last = problem
        if now() - t0 > timeout:
            raise Failure("%s: the nodes did not converge within %.0f s: %s" % (label, timeout, last))
        time.sleep(0.25)


def feedback_divergence(nodes, fb_queries):
    """The default-ranking operator-or queries on which nodes answer differently beyond the order
    of equal scores: [(query, what differs, the first product whose score differs)]."""
    results = {name: answers(port, fb_queries) for name, port in nodes}
    names = [n for n, _ in nodes]
    out = []
    for i, (method, q) in enumerate(fb_queries):
        a = results[names[0]][i]
        for other in names[1:]:
            b = results[other][i]
            d = differ(a, b, True, False)
            if d is not None and d[0] == "differ":
                sa, sb = dict(a["hits"]), dict(b["hits"])
                far = lambda x, y: abs(x - y) > TIE * max(abs(x), 1.0)  # noqa: E731
                pos = next((k + 1 for k, (x, y) in enumerate(zip(a["hits"], b["hits"])) if x[0] != y[0] or far(x[1], y[1])), None)
                ex = next(((pid, round(sa[pid], 4), round(sb[pid], 4)) for pid, _ in a["hits"] if pid in sb and far(sa[pid], sb[pid])), None)
                out.append({"query": q["q"], "nodes": [names[0], other], "what": d[1], "first_score_difference_at": pos,
                            "example": ex})
                break
    return out


def feedback_note(div, n):
    if not div:
        return "0 of %d" % n
    d = div[0]
    return "%d of %d (e.g. %s: from position %s on; %s scores %s on %s, %s on %s)" % (
        len(div), n, json.dumps(d["query"]), d["first_score_difference_at"], d["example"] and d["example"][0],
        d["example"] and d["example"][1], d["nodes"][0], d["example"] and d["example"][2], d["nodes"][1])


def tie_note(info):
    ties = info["ties"]
    head = "largest score difference between nodes %.4f%%; " % (info["score_spread"] * 100)
    if not ties:
        return head + "no (nearly) equal scores in another order"
    t = ties[0]
    a, b = t["nodes"]
    return head + "(nearly) equal scores in another order on %d quer%s, e.g. %s at position %d: %s %s, %s %s" % (
        len(ties), "y" if len(ties) == 1 else "ies", json.dumps(t["query"]), t["position"],
        a, [(i, round(s, 4)) for i, s in t[a]], b, [(i, round(s, 4)) for i, s in t[b]])


def markers(nodes, url, ids, count, timeout):
    """Sets `count` products' prices to unique values, one at a time, and times how long each node
    takes to show each (GET /api/v1/products/{id}), from the acknowledged COMMIT."""
    pg = PG(url)
    out = {name: [] for name, _ in nodes}
    clients = {name: Client(port) for name, port in nodes}
    rng = random.Random(99)
    try:
        for k in range(count):
            pid = rng.choice(ids)
            rows = pg.query("SELECT 1 FROM products WHERE id = $1 AND status = 'active'", [pid])
            if not rows:
                continue
            # Exact decimal: a unique price per marker, in cents.
            price = Decimal(7700000 + 100 * k + rng.randrange(100)) / 100
            pg.query("UPDATE products SET price = $1 WHERE id = $2", [str(price), pid])
            t0 = now()
            pending = set(out)
            while pending and now() - t0 < timeout:
                for name in list(pending):
                    st, _, a = clients[name].request("GET", "/api/v1/products/" + pid)
                    if st == 200 and Decimal(str(a.get("price", -1))) == price:
                        out[name].append(now() - t0)
                        pending.discard(name)
                time.sleep(0.005)
            if pending:
                raise Failure("a price change of %s was not visible on %s within %.0f s" % (pid, ", ".join(sorted(pending)), timeout))
    finally:
        pg.close()
        for c in clients.values():
            c.close()
    return out


# MARK: - Replicas

def replicas(env, *args, timeout=600):
    r = subprocess.run([REPLICAS] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Failure("scripts/replicas.sh %s failed (%d):\n%s" % (" ".join(args), r.returncode, (r.stderr + r.stdout)[-3000:]))
    return r


def node_table(env, d):
    r = replicas(env, "nodes", "--dir", d)
    out = []
    for line in r.stdout.splitlines():
        name, port, pid, index = line.split("\t")
        out.append({"name": name, "port": int(port), "pid": int(pid) if pid else None, "index": index})
    return out


def node_facts(d, name):
    f = {}
    try:
        for line in open(os.path.join(d, "nodes", name, "facts")):
            k, _, v = line.rstrip("\n").partition("=")
            f[k] = v
    except OSError:
        pass
    return f


def proc_mib(pid, key):
    """A memory figure of /proc/PID/status (VmRSS, VmHWM) in MiB; None when the process is gone."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


# MARK: - Main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=os.environ.get("AISLE_BIN") or os.path.join(ROOT, ".build/release/aisle"))
    ap.add_argument("--products", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=4, help="search threads through HAProxy in (a)")
    ap.add_argument("--pause-ms", type=float, default=8.0, help="mean pause between a client's requests")
    ap.add_argument("--load-seconds", type=float, default=10.0, help="(a): the kill comes halfway")
    ap.add_argument("--rate", type=float, default=40.0, help="catalog changes per second in (b) and (c)")
    ap.add_argument("--stream-seconds", type=float, default=8.0)
    ap.add_argument("--catch-up-timeout", type=float, default=60.0)
    ap.add_argument("--strict-order", action="store_true",
                    help="products with equal scores must come in the same order on every node too (aisle breaks such ties by "
                         "its internal document number, which differs between nodes: this fails today)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", help="work directory (default: a new temporary one)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (and the nodes' logs)")
    a = ap.parse_args()

    t_start = now()
    aisle = os.path.abspath(a.aisle)
    if not os.access(aisle, os.X_OK):
        print("replica_test: no aisle binary at %s: `swift build -c release --product aisle` or --aisle / AISLE_BIN" % aisle, file=sys.stderr)
        return 2
    if not shutil.which("haproxy"):
        say("replica_test: haproxy is not installed; scripts/replicas.sh installs it (apt-get)")
    work = a.work or tempfile.mkdtemp(prefix="aisle-replica-test-")
    os.makedirs(work, exist_ok=True)
    rdir = os.path.join(work, "replicas")
    say("replica test: aisle %s, work %s, %d products, seed %d" % (aisle, work, a.products, a.seed))

    services_env = dict(os.environ, AISLE_PG_PORT=PG_PORT, AISLE_REDIS_PORT=REDIS_PORT)
    services = False
    started = False
    ok = False
    figures = {"products": a.products, "seed": a.seed, "cores": os.cpu_count()}
    renv = None
    try:
        # 1. Stores and catalog.
        base = os.environ.get("AISLE_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
        if not base:
            r = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=services_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                say("replica_test: SKIPPED: PostgreSQL could not be started (scripts/services.sh start failed):\n" + r.stderr[-1500:])
                return 0
            services = True
            base = re.search(r"DATABASE_URL='([^']+)'", r.stdout).group(1)
        try:
            url = test_stores.fresh_database(base, DB_NAME)
        except SystemExit as e:
            raise SetupError("PostgreSQL does not answer: %s" % e)
        attrs = os.path.join(work, "product_attributes.json")
        env = dict(os.environ, DATABASE_URL=url, AISLE_ATTRIBUTES=attrs, AISLE_BIN=aisle)
        for k in ("MONGODB_URI", "REDIS_URL", "AISLE_API_TOKEN", "AISLE_SERVE_ARGS"):
            env.pop(k, None)
        # The test is about failover, not latency: on a machine busy with the reindexes and the debug
        # build, a search may take over the default 2 s deadline, which answers 503.
        env["AISLE_SERVE_ARGS"] = '--limits {"timeout_ms":15000}'
        renv = env
        corpus = os.path.join(work, "catalog.jsonl")
        figures["corpus"] = synth_corpus(corpus, a.products, 42)
        t0 = now()
        r = subprocess.run([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SetupError("aisle catalog load failed:\n" + r.stderr[-2000:])
        figures["load_seconds"] = now() - t0
        say("catalog: %d products (%s) loaded in %.1f s" % (a.products, figures["corpus"], figures["load_seconds"]))
        queries, fb_queries, vocab = query_set(corpus, a.seed)
        ids = ["P%08d" % i for i in range(a.products)]

        # 2. Two nodes and HAProxy.
        lb = free_port_block(8)
        t0 = now()
        replicas(env, "start", "--nodes", "2", "--port", str(lb), "--dir", rdir, "--stats-port", "0", "--node-port", str(lb + 2))
        started = True
        figures["start_seconds"] = now() - t0
        nodes = node_table(env, rdir)
        sock = os.path.join(rdir, "haproxy.sock")
        for n in nodes:
            f = node_facts(rdir, n["name"])
            n["reindex_seconds"] = float(f.get("reindex_seconds", "nan"))
            n["rss_start_mib"] = proc_mib(n["pid"], "VmRSS")
        say("replicas: HAProxy on %d, %s (start took %.1f s)" % (lb, ", ".join(
            "%s on %d (reindex %.2f s, %.0f MiB)" % (n["name"], n["port"], n["reindex_seconds"], n["rss_start_mib"] or -1) for n in nodes),
            figures["start_seconds"]))
        state = server_states(sock)
        if any(state.get(n["name"]) != "UP" for n in nodes):
            raise Failure("HAProxy does not have every node UP: %s" % server_states(sock, detail=True))
        for n in nodes:
            if node_facts(rdir, n["name"]).get("catch_up_seconds") is None:
                raise Failure("%s has no catch-up figure" % n["name"])
        problem, ties0 = compare_nodes([(n["name"], n["port"]) for n in nodes], queries, a.strict_order)
        if problem:
            raise Failure("right after start: " + problem)
        figures["ties_after_start"] = ties0
        say("    both nodes answer the %d queries alike; %s" % (len(queries), tie_note(ties0)))
        fb0 = feedback_divergence([(n["name"], n["port"]) for n in nodes], fb_queries)
        figures["feedback_divergence_after_start"] = fb0
        say("    with pseudo-relevance feedback (operator or, default ranking), answers differ on %s" % feedback_note(fb0, len(fb_queries)))
        if fb0 and a.strict_order:
            raise Failure("right after start, feedback queries differ between nodes: %s" % feedback_note(fb0, len(fb_queries)))

        # (a) Failover under load.
        victim = nodes[1]
        say("(a) %d clients search through HAProxy for %.0f s; %s gets SIGKILL halfway" % (a.clients, a.load_seconds, victim["name"]))
        load = Load(lb, queries + fb_queries, a.clients, a.pause_ms / 1000.0, a.seed)
        t_load = now()
        load.start()
        time.sleep(a.load_seconds / 2)
        # The kill comes when searches are in flight (at most half a second later), so that some
        # are cut off inside the killed node and must be retried by HAProxy.
        want, t_wait = min(2, a.clients), now()
        while True:
            with load.lock:
                if load.in_flight >= want or now() - t_wait > 0.5:
                    in_flight = load.in_flight
                    os.kill(victim["pid"], signal.SIGKILL)
                    t_kill = now()
                    break
            time.sleep(0.0002)
        down_after = None
        while now() - t_kill < 10:
            if server_states(sock).get(victim["name"]) not in ("UP", None):
                down_after = now() - t_kill
                break
            time.sleep(0.02)
        rest = a.load_seconds / 2 - (now() - t_kill)
        if rest > 0:
            time.sleep(rest)
        load.finish()
        before, after, whole = load.summary(t_to=t_kill), load.summary(t_from=t_kill), load.summary()
        late_victim = sum(1 for r in load.records if r[0] > t_kill and r[2] and r[4] == victim["name"])
        fa = {"requests": whole["requests"], "failed": whole["failed"], "in_flight_at_kill": in_flight,
              "haproxy_down_after_s": down_after, "before_kill": before, "after_kill": after,
              "answered_by_killed_node_after_kill": late_victim, "seconds": now() - t_load}
        figures["a_failover"] = fa
        say("    %d requests (%.0f/s), %d failed, %d in flight at the kill; HAProxy marked %s DOWN after %s ms; "
            "client retries on a fresh connection: %d" % (
                whole["requests"], whole["requests"] / fa["seconds"], whole["failed"], in_flight, victim["name"],
                ms(down_after), whole["stale_keepalive_retries"]))
        say("    before the kill: p50 %.1f / p99 %.1f / max %.1f ms, by node %s" % (before["p50_ms"], before["p99_ms"], before["max_ms"], before["by_node"]))
        say("    after the kill:  p50 %.1f / p99 %.1f / max %.1f ms (%d over 500 ms), by node %s" % (
            after["p50_ms"], after["p99_ms"], after["max_ms"], after["over_500_ms"], after["by_node"]))
        if whole["failures"]:
            say("    failures: %s" % whole["failures"])
        # A kept-alive connection to HAProxy closed under the client would be a failure too (HAProxy
        # must not drop its clients when a node dies); the client's retry must not hide it.
        failed = whole["failed"] + whole["stale_keepalive_retries"]
        fa["stale_events"] = [("%+.3f s from the kill" % (t - t_kill), e) for t, e in load.stale_events]
        if load.stale_events:
            say("    kept-alive connections to HAProxy found closed: %s" % fa["stale_events"])
        if failed > in_flight:
            raise Failure("(a) %d requests failed, more than the %d in flight at the kill: %s" % (failed, in_flight, whole["failures"]))
        if down_after is None:
            raise Failure("(a) HAProxy did not mark the killed node DOWN within 10 s")
        if late_victim:
            raise Failure("(a) %d answers after the kill came from the killed node" % late_victim)
        if after["requests"] == 0:
            raise Failure("(a) no request was answered after the kill")

        # (b) Changes stream while the killed node comes back on its own index.
        say("(b) %.0f catalog changes/s for %.0f s; %s restarts on its last commit meanwhile" % (a.rate, a.stream_seconds, victim["name"]))
        stream = ChangeStream(url, a.rate, a.seed, ids, "R", vocab)
        t_stream = now()
        stream.start()
        time.sleep(min(2.0, a.stream_seconds / 3))
        t0 = now()
        replicas(env, "restart-node", victim["name"], "--dir", rdir)
        restart_s = now() - t0
        rest = a.stream_seconds - (now() - t_stream)
        if rest > 0:
            time.sleep(rest)
        stream.finish()
        t_end = now()
        nodes = node_table(env, rdir)
        pairs = [(n["name"], n["port"]) for n in nodes]
        catch_up, ties_b = converge(pairs, queries, url, stream.touched, a.catch_up_timeout, "(b)", a.strict_order)
        vis = markers(pairs, url, [i for i in stream.ids], 5, 10)
        fb = {"changes": dict(stream.counts), "changes_total": sum(stream.counts.values()), "products_touched": len(stream.touched),
              "restart_node_seconds": restart_s, "restart_catch_up_seconds": float(node_facts(rdir, victim["name"]).get("catch_up_seconds", "nan")),
              "converged_after_stream_s": catch_up, "stream_seconds": t_end - t_stream,
              "tie_reorders": ties_b, "queries": len(queries),
              "marker_visibility_ms": {k: [round(x * 1000, 1) for x in v] for k, v in vis.items()}}
        figures["b_convergence"] = fb
        say("    %d changes (%s), %d products touched; restart-node took %.2f s (caught up %.2f s after its start)" % (
            fb["changes_total"], ", ".join("%s %d" % kv for kv in sorted(stream.counts.items())), len(stream.touched),
            restart_s, fb["restart_catch_up_seconds"]))
        say("    both nodes agree (%d queries: ids, scores, order, totals, facets) and match PostgreSQL for every touched product %.2f s after the stream ended" % (
            len(queries), catch_up))
        say("    %s" % tie_note(ties_b))
        fb_b = feedback_divergence(pairs, fb_queries)
        fb["feedback_divergence"] = fb_b
        say("    with feedback (operator or, default ranking), answers differ on %s" % feedback_note(fb_b, len(fb_queries)))
        if fb_b and a.strict_order:
            raise Failure("(b) feedback queries differ between nodes: %s" % feedback_note(fb_b, len(fb_queries)))
        say("    a price change visible (ms from COMMIT): %s" % "; ".join(
            "%s %s" % (k, ", ".join("%.0f" % x for x in v)) for k, v in fb["marker_visibility_ms"].items()))

        # (c) A third node while changes stream and searches run through HAProxy.
        say("(c) add-node (fresh reindex) while %.0f changes/s stream and 2 clients search through HAProxy" % a.rate)
        stream2 = ChangeStream(url, a.rate, a.seed + 1, stream.ids, "S", vocab)
        stream2.touched |= stream.touched
        load2 = Load(lb, queries + fb_queries, 2, a.pause_ms / 1000.0, a.seed + 1)
        stream2.start()
        load2.start()
        time.sleep(1.0)
        t0 = now()
        r = replicas(env, "add-node", "--dir", rdir)
        add_s = now() - t0
        new_name = r.stdout.split()[0]
        time.sleep(3.0)
        stream2.finish()
        load2.finish()
        nodes = node_table(env, rdir)
        pairs = [(n["name"], n["port"]) for n in nodes]
        catch_up2, ties_c = converge(pairs, queries, url, stream2.touched, a.catch_up_timeout, "(c)", a.strict_order)
        s2 = load2.summary()
        s2["stale_events"] = [("%+.3f s from the end of add-node" % (t - (t0 + add_s)), e) for t, e in load2.stale_events]
        facts = node_facts(rdir, new_name)
        fc = {"node": new_name, "add_node_seconds": add_s, "reindex_seconds": float(facts.get("reindex_seconds", "nan")),
              "serve_catch_up_seconds": float(facts.get("catch_up_seconds", "nan")), "changes": dict(stream2.counts),
              "converged_after_stream_s": catch_up2, "load_during_add": s2, "tie_reorders": ties_c,
              "haproxy_state": server_states(sock)}
        figures["c_scale_out"] = fc
        say("    %s: add-node %.1f s (reindex %.2f s, caught up %.2f s after serve started); %d changes meanwhile" % (
            new_name, add_s, fc["reindex_seconds"], fc["serve_catch_up_seconds"], sum(stream2.counts.values())))
        say("    all %d nodes agree and match PostgreSQL %.2f s after the stream ended; %s" % (
            len(pairs), catch_up2, tie_note(ties_c)))
        fb_c = feedback_divergence(pairs, fb_queries)
        fc["feedback_divergence"] = fb_c
        say("    with feedback (operator or, default ranking), answers differ on %s" % feedback_note(fb_c, len(fb_queries)))
        if fb_c and a.strict_order:
            raise Failure("(c) feedback queries differ between nodes: %s" % feedback_note(fb_c, len(fb_queries)))
        say("    through HAProxy meanwhile: %d requests, %d failed, %d kept-alive connections found closed (sent again on a "
            "fresh one), p99 %.1f / max %.0f ms; by node %s" % (
                s2["requests"], s2["failed"], s2["stale_keepalive_retries"], s2["p99_ms"], s2["max_ms"], s2["by_node"]))
        # replicas.sh adds the node to the running HAProxy (no reload), so no client connection
        # may be closed either.
        if s2["failed"] or s2["stale_keepalive_retries"]:
            raise Failure("(c) during add-node, %d searches through HAProxy failed and %d kept-alive connections were closed: %s %s" % (
                s2["failed"], s2["stale_keepalive_retries"], s2["failures"], s2["stale_events"]))
        if fc["haproxy_state"].get(new_name) != "UP":
            raise Failure("(c) HAProxy does not have %s UP: %s" % (new_name, fc["haproxy_state"]))
        c = Client(lb)
        seen = collections.Counter()
        for i in range(60):
            m, path, body = query_path(*queries[i % len(queries)])
            st, h, _ = c.request(m, path, body)
            seen[h.get("x-aisle-node")] += 1
        c.close()
        if not seen.get(new_name):
            raise Failure("(c) HAProxy sent none of 60 sequential searches to %s: %s" % (new_name, dict(seen)))

        # (d) Readiness: every caught-up node answers /readyz 200 (HAProxy's check); a node whose
        # follower cannot reach PostgreSQL stays alive (/healthz 200) but answers /readyz 503,
        # naming the error, so a balancer sends it nothing stale.
        say("(d) readiness: /readyz on every node, and on a node whose catalog database is unreachable")
        for n in nodes:
            st, body = http_json(n["port"], "/readyz")
            if st != 200 or body.get("ready") is not True:
                raise Failure("(d) %s is caught up but /readyz answered %s %s" % (n["name"], st, body))
        dead_dir = os.path.join(work, "dead-db-index")
        r = subprocess.run([aisle, "reindex", "--index", dead_dir, "--quiet"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise Failure("(d) aisle reindex for the readiness check failed: " + r.stderr[-800:])
        dport = free_port()
        denv = dict(env, DATABASE_URL="postgresql://127.0.0.1:%d/nowhere?connect_timeout=1" % free_port())
        dead = subprocess.Popen([aisle, "serve", "--index", dead_dir, "--port", str(dport)], env=denv,
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "dead-db-serve.log"), "w"))
        try:
            live_st = ready_st = None
            ready_body = {}
            deadline = now() + 60
            while now() < deadline:
                try:
                    live_st, _ = http_json(dport, "/healthz")
                    ready_st, ready_body = http_json(dport, "/readyz")
                    if live_st == 200 and ready_st == 503 and ready_body.get("catalog_error"):
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            if live_st != 200 or ready_st != 503 or not ready_body.get("catalog_error"):
                raise Failure("(d) a node that cannot reach its catalog answered /healthz %s, /readyz %s %s (want 200, 503 with catalog_error)"
                              % (live_st, ready_st, ready_body))
            say("    caught-up nodes: 200; unreachable catalog: /healthz 200, /readyz 503 (%s: %s)" % (
                ready_body.get("reason"), str(ready_body.get("catalog_error"))[:80]))
        finally:
            dead.terminate()
            dead.wait(timeout=60)

        # Per-node facts for a capacity plan.
        per_node = {}
        for n in nodes:
            f = node_facts(rdir, n["name"])
            per_node[n["name"]] = {"rss_mib": proc_mib(n["pid"], "VmRSS"), "peak_rss_mib": proc_mib(n["pid"], "VmHWM"),
                                   "reindex_seconds": float(f.get("reindex_seconds", "nan")),
                                   "index_bytes": int(f.get("index_bytes", "0") or 0),
                                   "reindex": f.get("reindex_line", "")}
        figures["nodes"] = per_node
        for k, v in per_node.items():
            say("node %s: RSS %.0f MiB (peak %.0f), index %.1f MiB on disk, reindex %.2f s" % (
                k, v["rss_mib"] or -1, v["peak_rss_mib"] or -1, v["index_bytes"] / 1048576.0, v["reindex_seconds"]))
        figures["seconds"] = now() - t_start
        say("replica test: PASS (%.0f s)" % figures["seconds"])
        ok = True
        return 0
    except Failure as e:
        say("replica test: FAIL: %s" % e)
        say("work directory kept: %s (nodes' logs in %s/nodes/*/serve.log)" % (work, rdir))
        return 1
    except SetupError as e:
        say("replica test: could not be set up: %s" % e)
        return 2
    finally:
        if a.json:
            figures["pass"] = ok
            with open(a.json, "w") as f:
                json.dump(figures, f, indent=1, default=str)
        if started and renv is not None:
            args = ["stop", "--dir", rdir] + (["--clean"] if ok and not a.keep else [])
            subprocess.run([REPLICAS] + args, env=renv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if services:
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=services_env, capture_output=True)
        if ok and not a.keep and not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
