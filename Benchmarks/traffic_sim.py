#!/usr/bin/env python3
"""Shop traffic with a known hidden preference (issue 19, part 5): simulated shoppers search, click
with a position bias, put things in carts and buy, so that the analytics reports and the
recommendations can be checked against what was planted, and so that there is load for the
ingestion benchmark. Python 3's standard library only.

    # Live: real HTTP against `aisle serve` (searches, POST /api/v1/events, customers, carts, orders).
    Benchmarks/traffic_sim.py --url http://127.0.0.1:8080 --queries queries-2k.jsonl --sessions 2000 \\
        --seed 7 --concurrency 8 --token SHOP_TOKEN --truth /tmp/truth.json [--json /tmp/report.json]
    # Paced, for an ingestion benchmark: about R events/s for S seconds.
    Benchmarks/traffic_sim.py --url ... --queries ... --rate 5000 --duration 60 --concurrency 32
    # Offline: N events as JSON lines for `aisle analytics load --events FILE` (one search per
    # distinct query over HTTP first, or --results-cache FILE).
    Benchmarks/traffic_sim.py --url ... --queries ... --events-out /tmp/events.jsonl --events 10000000 --days 30 \\
        --results-cache /tmp/results.json --truth /tmp/truth.json

Queries. --queries is the synth query set (JSON lines with "q", from
../shared/corpora/synth/gen_queries.py; its filters are ignored: analytics counts by query text) or
a text file of one query per line. Repeated queries are kept once. The simulator first looks up
each query's first 10 results with POST /api/v1/search {"q", "operator": "and", "limit": 10}
(which the server does not record as a shopper's search), or reads them from --results-cache
(written there when the file does not exist yet). Everything planted is decided from these lists
and --seed before any traffic, and written to --truth.

The hidden model (all draws from --seed):
- Popularity: the queries in a seeded random order get Zipf weights 1/rank^--zipf (default 1.0);
  each search draws its query from them. truth.top_queries lists the planted order and shares.
- A session has a device (mobile 55%, desktop 35%, tablet 10%; headers X-Aisle-Session and
  X-Aisle-Device on every request it makes) and 1 + Geometric(0.5) searches (at most 8)
  (GET /api/v1/products/search?q=...&limit=10).
- Clicks follow a position-based model: the result at position r (1-based) is examined with
  probability r^-0.7 and, if examined, clicked with its attractiveness. Each query with results
  has a hidden *preferred* product, drawn uniformly among its first min(8, n) in-stock results (so
  usually not position 1), attractiveness 0.85; every other result has a fixed attractiveness
  uniform in [0.02, 0.15] (out-of-stock ones a third of that). Each click is a `click` event
  (query_id from the search's answer, position) and a `view` event of the product.
- A clicked, in-stock product goes into the cart (`add_to_cart`) with probability 0.45 if it is the
  query's preferred product, else 0.06.
- With --browse V (default 0) a session also views about V random products (exponential mean V)
  besides its clicks, as shoppers do on category and product pages: more events per search.
- A session with something in its cart buys it with probability --buy (default 0.6): a
  customer (one per worker thread, registered and logged in once) fills its real cart with those
  products and places the order (POST /api/v1/orders, which records its own `purchase`). Planted
  co-purchase: the preferred products of the --pairs most popular queries are *anchors* A; each
  has a *partner* B (a random in-stock product from the results of other queries); an order with A
  gets B added with probability --pair-rate (default 0.3). Any order also gets one random other
  product with probability 0.2. Products added at checkout are add_to_cart events too.
- Out of stock at checkout (409 out_of_stock): with --token the product is restocked (PUT
  /api/v1/inventory/{id}, available + 1000) and the order retried; without it the line is dropped.

Live mode reports sessions, searches, events posted (accepted / dropped), orders, errors by
request and status, events/s, and the search latency (p50/p90/p99/max) seen here. --truth gets the
plant (top queries, preferred product per query, pairs with their planted rate) and what was sent:
per device searches / clicks / views / carts / purchases, and per query searches, clicks, sum of
click positions and expected conversions (a purchase converts each query its session searched that
UTC day), the clicks per (query, product) of the top queries, and per anchor its orders and those
with its partner. Sessions use their own random streams (seed, session number), so the same seed
gives the same traffic whatever the thread timing.

Exit status: 0, or 1 when any request failed (live; the report lists them by request and status).

--rate R paces everything the server records for the simulator (each search, each event posted,
each order's purchase) at R per second in total; --duration S starts sessions for S seconds
(--sessions is then a cap, unlimited unless given).

--events-out FILE --events N writes exactly N events offline (no HTTP per event), one JSON object a
line: type (search|click|view|add_to_cart|purchase), at (ms since 1970, sessions spread evenly over
--days D ending now, each session's events a few seconds apart), session, device, and per type
query_id, query, total, took_us (search); query_id, product_id, position (click); product_id
(view); product_id, quantity (add_to_cart); order_id, lines [{"product_id", "quantity"}]
(purchase). Same model and plant, one random stream; the purchases are not real orders.
"""
import argparse
import bisect
import collections
import http.client
import json
import math
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
import uuid
import zlib

DEVICES = (("mobile", 0.55), ("desktop", 0.35), ("tablet", 0.10))
SHOWN = 10                 # results a shopper sees (limit=10)
EXAM_POWER = 0.7           # P(examine position r) = r ** -EXAM_POWER
PREF_ATTRACT = 0.85
OTHER_ATTRACT = (0.02, 0.15)
OUT_OF_STOCK_FACTOR = 1.0 / 3
PREF_AMONG = 8             # the preferred product is one of the first 8 in-stock results
CART_PREF, CART_OTHER = 0.45, 0.06
EXTRA_ITEM = 0.2
MAX_SEARCHES = 8
PASSWORD = "traffic-sim-password-19"
ADDRESS = {"name": "Sim Shopper", "line1": "19 Traffic Lane", "city": "Simville", "postal_code": "19019", "country": "US"}
DAY_MS = 86_400_000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def exam(pos):
    """P(a shopper looks at the result at 1-based position pos)."""
    return pos ** -EXAM_POWER


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(math.ceil(p * len(s) / 100.0)) - 1))]


# MARK: - Input

def read_queries(path):
    """Distinct query strings in file order: JSON lines with "q", or one query per line."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            if s.startswith("{"):
                try:
                    q = json.loads(s).get("q")
                except ValueError:
                    raise SystemExit("%s:%d: not JSON: %s" % (path, n, s[:80]))
                if not isinstance(q, str):
                    raise SystemExit("%s:%d: no \"q\" string" % (path, n))
                s = q.strip()
            if s and s not in seen:
                seen.add(s)
                out.append(s)
    if not out:
        raise SystemExit("%s: no queries" % path)
    return out


# MARK: - HTTP

class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection. Answers (status, parsed JSON or text, lower-cased headers); status
    None when the request failed on the socket. Nothing is sent twice unless retry=True (a request
    that may have been taken must not be counted twice): instead a connection idle for longer than
    IDLE_S is replaced before it is used, so the server's idle timeout (15 s) never closes it
    under a request."""
    IDLE_S = 5.0

    def __init__(self, base, timeout=30):
        u = urllib.parse.urlsplit(base)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit("--url must be http://host:port, got %r" % base)
        self.host, self.port, self.timeout, self.conn = u.hostname, u.port or 80, timeout, None
        self.last = 0.0

    def call(self, method, path, body=None, headers=None, retry=False):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h["Content-Type"] = "application/json"
        if self.conn is not None and time.monotonic() - self.last > self.IDLE_S:
            self.close()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = _Conn(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                self.last = time.monotonic()
                if (r.getheader("Connection") or "").lower() == "close":
                    self.close()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode(errors="replace")
                return r.status, parsed, {k.lower(): v for k, v in r.getheaders()}
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                if attempt or not retry:
                    return None, repr(e), {}
            except (OSError, http.client.HTTPException) as e:
                self.close()
                return None, repr(e), {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def fetch_results(base, queries, threads=8):
    """Each query's first SHOWN results via POST /api/v1/search (not recorded as a shopper's
    search): {q: {"total", "ids", "in_stock", "took_us"}} and the errors."""
    out, errors, lock = {}, collections.Counter(), threading.Lock()
    todo = list(queries)
    t0 = time.monotonic()

    def worker():
        c = Client(base)
        while True:
            with lock:
                if not todo:
                    break
                q = todo.pop()
            st, body, _ = c.call("POST", "/api/v1/search", {"q": q, "operator": "and", "limit": SHOWN, "fields": ["in_stock"]}, retry=True)
            if st == 200 and isinstance(body, dict):
                hits = body.get("hits") or []
                r = {"total": int(body.get("total") or 0), "ids": [h["id"] for h in hits],
                     "in_stock": [((h.get("fields") or {}).get("in_stock") is not False) for h in hits],
                     "took_us": float(body.get("took_us") or 0)}
            else:
                r = {"total": 0, "ids": [], "in_stock": [], "took_us": 0.0, "error": "%s %s" % (st, str(body)[:200])}
            with lock:
                out[q] = r
                if st != 200:
                    errors["POST /api/v1/search %s" % st] += 1
        c.close()

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    log("traffic_sim: looked up %d queries' results in %.1f s%s" % (len(queries), time.monotonic() - t0,
                                                                    (", errors %s" % dict(errors)) if errors else ""))
    return out, errors


def load_results(a, queries):
    if a.results_cache and os.path.exists(a.results_cache):
        with open(a.results_cache) as f:
            cached = json.load(f).get("queries") or {}
        missing = [q for q in queries if q not in cached]
        if missing and not a.url:
            raise SystemExit("%s lacks %d of the queries (e.g. %r) and no --url to look them up" % (a.results_cache, len(missing), missing[0]))
        if missing:
            got, _ = fetch_results(a.url, missing, a.concurrency)
            cached.update(got)
            write_cache(a.results_cache, a.url, cached)
        log("traffic_sim: results of %d queries from %s" % (len(queries), a.results_cache))
        return cached
    if not a.url:
        raise SystemExit("need --url (or an existing --results-cache) to look up the queries' results")
    got, _ = fetch_results(a.url, queries, a.concurrency)
    if a.results_cache:
        write_cache(a.results_cache, a.url, got)
    return got


def write_cache(path, url, results):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"url": url, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "shown": SHOWN,
                   "queries": results}, f)
    os.replace(tmp, path)


# MARK: - The model (shared by live and offline)

class QueryPlan:
    __slots__ = ("q", "rank", "ids", "in_stock", "total", "took_us", "pref", "pref_pos", "attract", "pclick", "qjson")


class Model:
    def __init__(self, queries, results, a):
        self.a = a
        self.seed = a.seed
        rng = random.Random("plan:%d" % a.seed)
        order = list(queries)
        rng.shuffle(order)
        self.plans = []
        weights = [1.0 / (r + 1) ** a.zipf for r in range(len(order))]
        self.cum = list(_accumulate(weights))
        self.weight_total = self.cum[-1]
        self.share = [w / self.weight_total for w in weights]
        for rank, q in enumerate(order):
            res = results.get(q) or {}
            p = QueryPlan()
            p.q, p.rank = q, rank
            p.ids = list(res.get("ids") or [])[:SHOWN]
            p.in_stock = list(res.get("in_stock") or [True] * len(p.ids))[:SHOWN]
            p.total, p.took_us = int(res.get("total") or 0), float(res.get("took_us") or 0)
            cands = [i for i in range(min(PREF_AMONG, len(p.ids))) if p.in_stock[i]]
            prng = random.Random("pref:%d:%s" % (a.seed, q))
            p.pref_pos = prng.choice(cands) if cands else None
            p.pref = p.ids[p.pref_pos] if p.pref_pos is not None else None
            p.attract = {pid: self.attractiveness(p, pid, p.in_stock[i]) for i, pid in enumerate(p.ids)}
            p.pclick = [exam(i + 1) * p.attract[pid] for i, pid in enumerate(p.ids)]
            p.qjson = json.dumps(q)
            self.plans.append(p)
        self.by_query = {p.q: p for p in self.plans}
        # Anchors: the preferred products of the most popular queries; partners: random in-stock
        # products from other queries' results.
        pool, seen = [], set()
        for p in self.plans:
            for pid, ok in zip(p.ids, p.in_stock):
                if ok and pid not in seen:
                    seen.add(pid)
                    pool.append(pid)
        self.pool = pool
        self.pairs = []   # (anchor, partner, anchor's query)
        taken = set()
        for p in self.plans:
            if len(self.pairs) >= a.pairs:
                break
            if p.pref is None or p.pref in taken:
                continue
            near = set(p.ids)
            choices = [x for x in pool if x not in near and x not in taken and x not in {q.pref for q in self.plans[:a.pairs * 3]}]
            if not choices:
                choices = [x for x in pool if x not in near and x not in taken]
            if not choices:
                break
            partner = rng.choice(choices)
            taken.update((p.pref, partner))
            self.pairs.append((p.pref, partner, p.q))
        self.partner = {x: y for x, y, _ in self.pairs}
        dev_cum, c = [], 0.0
        for _, share in DEVICES:
            c += share
            dev_cum.append(c)
        self.dev_cum = dev_cum

    def attractiveness(self, p, pid, in_stock):
        if pid == p.pref:
            return PREF_ATTRACT
        h = zlib.crc32(("%d|%s|%s" % (self.seed, p.q, pid)).encode()) / 0xFFFFFFFF
        v = OTHER_ATTRACT[0] + (OTHER_ATTRACT[1] - OTHER_ATTRACT[0]) * h
        return v if in_stock else v * OUT_OF_STOCK_FACTOR

    def device(self, rng):
        return DEVICES[min(len(DEVICES) - 1, bisect.bisect(self.dev_cum, rng.random()))][0]

    def searches(self, rng):
        n = 1
        while n < MAX_SEARCHES and rng.random() < 0.5:
            n += 1
        return n

    def pick(self, rng):
        return self.plans[min(len(self.plans) - 1, bisect.bisect(self.cum, rng.random() * self.weight_total))]

    def clicks(self, rng, p, ids, in_stock):
        """0-based positions clicked on a page showing ids."""
        if ids is p.ids or ids == p.ids:
            pc = p.pclick
        else:   # the live answer differs from the looked-up list: same attractiveness by product
            pc = [exam(i + 1) * (p.attract.get(pid) or self.attractiveness(p, pid, in_stock[i])) for i, pid in enumerate(ids)]
        r = rng.random
        return [i for i, x in enumerate(pc) if r() < x]

    def carts(self, rng, p, pid):
        return rng.random() < (CART_PREF if pid == p.pref else CART_OTHER)

    def browsing(self, rng):
        """Products a session views besides its clicks (category pages, recommendations): --browse
        on average (exponential, rounded down), uniform over the products seen in the results."""
        if not self.a.browse or not self.pool:
            return []
        return [self.pool[rng.randrange(len(self.pool))] for _ in range(int(rng.expovariate(1.0 / self.a.browse)))]

    def order_lines(self, rng, carted):
        """The products of an order with `carted` in the cart: planted partners and a random extra."""
        lines = list(carted)
        for x in carted:
            y = self.partner.get(x)
            if y is not None and y not in lines and rng.random() < self.a.pair_rate:
                lines.append(y)
        if self.pool and rng.random() < EXTRA_ITEM:
            y = self.pool[rng.randrange(len(self.pool))]
            if y not in lines:
                lines.append(y)
        return lines

    def truth(self, top=100):
        return {
            "seed": self.seed,
            "model": {"zipf": self.a.zipf, "devices": dict(DEVICES), "shown": SHOWN, "examination": "r ** -%g" % EXAM_POWER,
                      "preferred_attractiveness": PREF_ATTRACT, "other_attractiveness": list(OTHER_ATTRACT),
                      "out_of_stock_factor": OUT_OF_STOCK_FACTOR, "preferred_among_first": PREF_AMONG,
                      "cart": {"preferred": CART_PREF, "other": CART_OTHER}, "buy": self.a.buy, "extra_item": EXTRA_ITEM,
                      "searches_per_session": "1 + Geometric(0.5), at most %d" % MAX_SEARCHES, "browse": self.a.browse},
            "queries": len(self.plans),
            "top_queries": [{"rank": p.rank + 1, "query": p.q, "share": round(self.share[p.rank], 6), "total": p.total}
                            for p in self.plans[:top]],
            "preferred": {p.q: {"product_id": p.pref, "position": p.pref_pos + 1, "rank": p.rank + 1}
                          for p in self.plans if p.pref is not None},
            "pairs": [{"anchor": x, "partner": y, "rate": self.a.pair_rate, "anchor_query": q} for x, y, q in self.pairs],
        }


def _accumulate(xs):
    s = 0.0
    for x in xs:
        s += x
        yield s


# MARK: - Live traffic

class Pacer:
    """Spreads `take(n)` calls so that at most `rate` units pass per second in total."""

    def __init__(self, rate):
        self.rate, self.next, self.lock = rate, None, threading.Lock()

    def take(self, n=1):
        if not self.rate:
            return
        with self.lock:
            now = time.monotonic()
            if self.next is None or self.next < now - 0.5:   # no credit for long idle spells
                self.next = now
            at = self.next
            self.next += n / self.rate
        if at > now:
            time.sleep(at - now)


class Tally:
    """What was sent, merged from the workers at the end."""

    def __init__(self):
        self.dev = collections.defaultdict(collections.Counter)     # device -> kind -> n
        self.query = collections.defaultdict(collections.Counter)   # query -> searches/clicks/position_sum/conversions
        self.qprod = collections.defaultdict(collections.Counter)   # query -> product -> clicks
        self.errors = collections.Counter()
        self.lat = []
        self.orders = 0
        self.anchor = collections.defaultdict(collections.Counter)  # anchor -> orders / with_partner
        self.sessions = 0
        self.posted = 0
        self.dropped = 0
        self.batches = 0
        self.result_mismatch = 0
        self.restocks = 0
        self.lines_dropped = 0

    def merge(self, o):
        for d, c in o.dev.items():
            self.dev[d].update(c)
        for q, c in o.query.items():
            self.query[q].update(c)
        for q, c in o.qprod.items():
            self.qprod[q].update(c)
        for k, c in o.anchor.items():
            self.anchor[k].update(c)
        self.errors.update(o.errors)
        self.lat.extend(o.lat)
        for k in ("orders", "sessions", "posted", "dropped", "batches", "result_mismatch", "restocks", "lines_dropped"):
            setattr(self, k, getattr(self, k) + getattr(o, k))


class Worker(threading.Thread):
    def __init__(self, sim, k):
        super().__init__(daemon=True)
        self.sim, self.k, self.model, self.a = sim, k, sim.model, sim.a
        self.client = Client(self.a.url)
        self.t = Tally()
        self.buf, self.meta = [], []
        self.customer = None   # bearer token once registered and logged in

    def run(self):
        try:
            while True:
                i = self.sim.next_session()
                if i is None:
                    break
                self.session(i)
            self.flush()
        except Exception as e:   # a bug, not a server error: say so and stop this worker
            self.t.errors["simulator %s" % type(e).__name__] += 1
            log("traffic_sim: worker %d: %r" % (self.k, e))
        finally:
            self.client.close()

    def session(self, i):
        m, rng = self.model, random.Random(self.a.seed * 1_000_003 + i)
        sid = "sim-%d-%d" % (self.a.seed, i)
        device = m.device(rng)
        hdr = {"X-Aisle-Session": sid, "X-Aisle-Device": device}
        self.t.sessions += 1
        searched = {}   # query -> UTC day it was first searched in this session
        carted = []
        for _ in range(m.searches(rng)):
            p = m.pick(rng)
            page = self.search(p, hdr, device)
            if page is None:
                continue
            searched.setdefault(p.q, int(time.time() * 1000) // DAY_MS)
            qid, ids, in_stock = page
            for pos in m.clicks(rng, p, ids, in_stock):
                pid = ids[pos]
                self.event({"type": "click", "session": sid, "device": device, "query_id": qid, "product_id": pid, "position": pos + 1},
                           ("click", device, p.q, pid, pos + 1))
                self.event({"type": "view", "session": sid, "device": device, "product_id": pid}, ("view", device, None, None, 0))
                if in_stock[pos] and pid not in carted and m.carts(rng, p, pid):
                    carted.append(pid)
                    self.cart_event(sid, device, pid)
        for pid in m.browsing(rng):
            self.event({"type": "view", "session": sid, "device": device, "product_id": pid}, ("view", device, None, None, 0))
        if carted and rng.random() < self.a.buy:
            lines = m.order_lines(rng, carted)
            for pid in lines[len(carted):]:
                self.cart_event(sid, device, pid)
            self.buy(lines, hdr, device, searched)

    def cart_event(self, sid, device, pid):
        self.event({"type": "add_to_cart", "session": sid, "device": device, "product_id": pid, "quantity": 1},
                   ("add_to_cart", device, None, pid, 0))

    def search(self, p, hdr, device):
        self.sim.pacer.take(1)
        path = "/api/v1/products/search?" + urllib.parse.urlencode({"q": p.q, "limit": SHOWN})
        t0 = time.monotonic()
        st, body, _ = self.client.call("GET", path, headers=hdr)
        self.t.lat.append(time.monotonic() - t0)
        if st != 200 or not isinstance(body, dict) or not isinstance(body.get("results"), list):
            self.t.errors["GET /api/v1/products/search %s" % st] += 1
            return None
        self.t.dev[device]["searches"] += 1
        self.t.query[p.q]["searches"] += 1
        res = body["results"][:SHOWN]
        ids = [r.get("id") for r in res]
        in_stock = [r.get("in_stock") is not False for r in res]
        if ids != p.ids:
            self.t.result_mismatch += 1
        return body.get("query_id"), ids, in_stock

    def event(self, e, meta):
        self.buf.append(e)
        self.meta.append(meta)
        if len(self.buf) >= self.sim.batch:
            self.flush()

    def flush(self):
        if not self.buf:
            return
        buf, meta = self.buf, self.meta
        self.buf, self.meta = [], []
        self.sim.pacer.take(len(buf))
        st, body, _ = self.client.call("POST", "/api/v1/events", {"events": buf})
        self.t.batches += 1
        if st != 202 or not isinstance(body, dict):
            self.t.errors["POST /api/v1/events %s" % st] += 1
            if len(self.sim.examples) < 5:
                self.sim.examples.append("POST /api/v1/events -> %s %s" % (st, str(body)[:300]))
            return
        n = int(body.get("accepted") or 0)
        self.t.posted += n
        self.t.dropped += len(buf) - n
        for kind, device, q, pid, pos in meta[:n]:   # the server takes a batch's first `accepted` events
            self.t.dev[device][{"add_to_cart": "carts", "click": "clicks", "view": "views"}[kind]] += 1
            if kind == "click":
                self.t.query[q]["clicks"] += 1
                self.t.query[q]["position_sum"] += pos
                self.t.qprod[q][pid] += 1

    # Checkout.

    def auth(self, hdr):
        return dict(hdr, Authorization="Bearer " + self.customer)

    def login(self):
        email = "sim-%s-w%d@traffic-sim.example" % (self.sim.tag, self.k)
        st, body, _ = self.client.call("POST", "/api/v1/customers", {"email": email, "password": PASSWORD, "name": "Sim Shopper %d" % self.k})
        if st not in (201, 409):
            self.t.errors["POST /api/v1/customers %s" % st] += 1
            return False
        st, body, _ = self.client.call("POST", "/api/v1/sessions", {"email": email, "password": PASSWORD})
        if st != 201 or not isinstance(body, dict) or not body.get("token"):
            self.t.errors["POST /api/v1/sessions %s" % st] += 1
            return False
        self.customer = body["token"]
        return True

    def fill_cart(self, lines, hdr):
        c = self.client
        st, body, _ = c.call("DELETE", "/api/v1/cart", headers=self.auth(hdr))
        if st == 401:   # the session expired: log in again
            self.customer = None
            if not self.login():
                return None
            st, body, _ = c.call("DELETE", "/api/v1/cart", headers=self.auth(hdr))
        if st != 200:
            self.t.errors["DELETE /api/v1/cart %s" % st] += 1
            return None
        for pid in lines:
            st, body, _ = c.call("POST", "/api/v1/cart/items", {"product_id": pid, "quantity": 1}, headers=self.auth(hdr))
            if st != 200:
                self.t.errors["POST /api/v1/cart/items %s" % st] += 1
                return None
        st, body, _ = c.call("GET", "/api/v1/cart", headers=self.auth(hdr))
        if st != 200 or not isinstance(body, dict) or body.get("total") is None:
            self.t.errors["GET /api/v1/cart %s" % st] += 1
            return None
        return body["total"]

    def restock(self, pid):
        c, tok = self.client, {"Authorization": "Bearer " + self.a.token}
        st, inv, _ = c.call("GET", "/api/v1/inventory/" + urllib.parse.quote(pid, safe=""), headers=tok)
        if st != 200 or not isinstance(inv, dict):
            self.t.errors["GET /api/v1/inventory %s" % st] += 1
            return False
        have = int(inv.get("available") or 0)
        st, body, _ = c.call("PUT", "/api/v1/inventory/" + urllib.parse.quote(pid, safe=""),
                             {"available": have + 1000, "if_available": have, "reason": "restock"}, headers=tok)
        if st == 409:   # someone else changed it meanwhile: the retry will tell
            return True
        if st != 200:
            self.t.errors["PUT /api/v1/inventory %s" % st] += 1
            return False
        self.t.restocks += 1
        return True

    def buy(self, lines, hdr, device, searched):
        if self.customer is None and not self.login():
            return
        lines = list(lines)
        for attempt in range(4):
            if not lines:
                return
            total = self.fill_cart(lines, hdr)
            if total is None:
                return
            self.sim.pacer.take(1)
            body = {"shipping_address": ADDRESS, "payment_method_id": "pm_sim_card", "expected_total": total}
            key = str(uuid.uuid4())
            for _ in range(5):   # the same key again after a lost answer or 409 in_progress: never two orders
                st, ans, h = self.client.call("POST", "/api/v1/orders", body, headers=dict(self.auth(hdr), **{"Idempotency-Key": key}))
                if st is None or (st == 409 and isinstance(ans, dict) and ans.get("error") == "in_progress"):
                    time.sleep(0.2)
                    continue
                break
            code = ans.get("error") if isinstance(ans, dict) and st != 201 else None
            if st == 201:
                self.t.orders += 1
                self.t.dev[device]["purchases"] += 1
                day = int(time.time() * 1000) // DAY_MS
                for q, d in searched.items():
                    if d == day:
                        self.t.query[q]["conversions"] += 1
                for x, y in self.model.partner.items():
                    if x in lines:
                        self.t.anchor[x]["orders"] += 1
                        if y in lines:
                            self.t.anchor[x]["with_partner"] += 1
                return
            self.t.errors["POST /api/v1/orders %s%s" % (st, " " + code if code else "")] += 1
            if st == 409 and code == "out_of_stock" and ans.get("product_id") in lines:
                pid = ans["product_id"]
                if not (self.a.token and self.restock(pid)):
                    lines.remove(pid)
                    self.t.lines_dropped += 1
                continue
            if st == 409 and code == "totals_changed":
                continue
            if len(self.sim.examples) < 5:
                self.sim.examples.append("POST /api/v1/orders -> %s %s" % (st, str(ans)[:300]))
            return


class LiveSim:
    def __init__(self, model, a):
        self.model, self.a = model, a
        self.pacer = Pacer(a.rate)
        self.batch = max(1, min(1000, a.batch))
        self.lock = threading.Lock()
        self.issued = 0
        self.tag = uuid.uuid4().hex[:8]
        self.examples = []
        self.deadline = None
        self.limit = a.sessions if a.sessions is not None else (None if a.duration else 1000)

    def next_session(self):
        with self.lock:
            if self.limit is not None and self.issued >= self.limit:
                return None
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return None
            self.issued += 1
            return self.issued - 1

    def run(self):
        workers = [Worker(self, k) for k in range(self.a.concurrency)]
        t0 = time.monotonic()
        if self.a.duration:
            self.deadline = t0 + self.a.duration
        for w in workers:
            w.start()
        last = t0
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(0.5)
            if self.a.progress and time.monotonic() - last >= self.a.progress:
                last = time.monotonic()
                s = sum(w.t.sessions for w in workers)
                log("traffic_sim: %.0f s: %d sessions" % (last - t0, s))
        wall = time.monotonic() - t0
        t = Tally()
        for w in workers:
            t.merge(w.t)
        return t, wall


def live_report(model, t, wall, a, examples):
    dev = {d: dict(c) for d, c in sorted(t.dev.items())}
    searches = sum(c["searches"] for c in t.dev.values())
    purchases = sum(c["purchases"] for c in t.dev.values())
    recorded = searches + t.posted + purchases
    lat = t.lat
    rep = {
        "mode": "live", "url": a.url, "seed": a.seed, "sessions": t.sessions, "seconds": round(wall, 3),
        "searches": searches, "search_requests": len(lat), "events_posted": t.posted, "events_dropped": t.dropped, "batches": t.batches,
        "orders": t.orders, "restocks": t.restocks, "order_lines_dropped": t.lines_dropped,
        "events_per_s": {"posted": round(t.posted / wall, 1) if wall else None,
                         "recorded": round(recorded / wall, 1) if wall else None,
                         "target": a.rate or None},
        "search_latency_ms": {"p50": _ms(pct(lat, 50)), "p90": _ms(pct(lat, 90)), "p99": _ms(pct(lat, 99)), "max": _ms(max(lat) if lat else None)},
        "errors": dict(sorted(t.errors.items())), "error_examples": examples,
        "results_differing_from_lookup": t.result_mismatch, "per_device": dev,
    }
    return rep


def _ms(x):
    return None if x is None else round(x * 1000, 3)


def print_live(rep):
    e = rep["events_per_s"]
    lat = rep["search_latency_ms"]
    print("traffic_sim live: %d sessions in %.1f s against %s (seed %d)" % (rep["sessions"], rep["seconds"], rep["url"], rep["seed"]))
    print("  searches %d (requests %d), events posted %d (dropped %d, %d batches), orders %d"
          % (rep["searches"], rep["search_requests"], rep["events_posted"], rep["events_dropped"], rep["batches"], rep["orders"]))
    print("  events/s: %s posted, %s recorded in all (searches + posted + purchases)%s"
          % (e["posted"], e["recorded"], ("; target %s" % e["target"]) if e["target"] else ""))
    print("  search latency ms: p50 %s  p90 %s  p99 %s  max %s" % (lat["p50"], lat["p90"], lat["p99"], lat["max"]))
    print("  per device: " + "; ".join("%s %s" % (d, " ".join("%s=%d" % kv for kv in sorted(c.items()))) for d, c in rep["per_device"].items()))
    print("  errors: %s" % (rep["errors"] or "none"))
    for x in rep["error_examples"]:
        print("    e.g. " + x)
    if rep["results_differing_from_lookup"]:
        print("  note: %d searches answered other results than the look-up (clicks still follow each product's attractiveness)"
              % rep["results_differing_from_lookup"])


def sent_truth(model, t, top=20):
    top_q = [p.q for p in model.plans[:top]]
    return {
        "per_device": {d: {k: c[k] for k in ("searches", "clicks", "views", "carts", "purchases")} for d, c in sorted(t.dev.items())},
        "per_query": {q: {k: c[k] for k in ("searches", "clicks", "position_sum", "conversions")} for q, c in sorted(t.query.items())},
        "clicks_by_product": {q: dict(t.qprod[q].most_common()) for q in top_q if q in t.qprod},
        "anchors": {x: {"partner": model.partner[x], "orders": t.anchor[x]["orders"], "with_partner": t.anchor[x]["with_partner"]}
                    for x in model.partner},
        "orders": t.orders, "events_posted": t.posted, "events_dropped": t.dropped, "errors": dict(t.errors),
    }


# MARK: - Offline events

def offline(model, a):
    """Writes exactly a.events events to a.events_out; returns the report and the sent tally."""
    rng = random.Random("offline:%d" % a.seed)
    trng = random.Random("time:%d" % a.seed)
    now_ms = int(time.time() * 1000)
    start_ms = (now_ms // DAY_MS - (a.days - 1)) * DAY_MS
    # Events per session, estimated from a dry run of the same model, spread the sessions evenly.
    est = _estimate_events_per_session(model, a)
    n_sessions = max(1.0, a.events / est)
    end_ms = now_ms - 600_000   # sessions start until 10 minutes ago; no event is later than now
    gap = (end_ms - start_ms) / n_sessions   # re-aimed every 1,000 sessions below

    counts = collections.Counter()          # (day, device, kind) -> n
    q_searches = [0] * len(model.plans)
    q_clicks = [0] * len(model.plans)
    q_pos = [0] * len(model.plans)
    q_conv = [0] * len(model.plans)
    qprod = collections.defaultdict(collections.Counter)
    top_ranks = min(len(model.plans), 20)
    anchor = collections.defaultdict(collections.Counter)
    partner = model.partner
    jid = {}   # product id -> its JSON string
    for p in model.plans:
        for x in p.ids:
            jid[x] = json.dumps(x)
    left = a.events
    out_lines = []
    sess_n = qid_n = order_n = 0
    tag = "%x" % (a.seed & 0xffffffff)
    t_session = float(start_ms)
    f = sys.stdout if a.events_out == "-" else open(a.events_out, "w", encoding="utf-8", buffering=1 << 20)
    t0 = time.monotonic()
    written = 0
    rnd = rng.random
    trnd = trng.random
    device_fn, searches_fn, pick, clicks_fn, carts_fn = model.device, model.searches, model.pick, model.clicks, model.carts
    while left > 0:
        if sess_n and sess_n % 1000 == 0:   # re-aim: the sessions left at the rate seen so far end at end_ms
            per_session = (a.events - left) / sess_n
            gap = max(0.0, (end_ms - t_session) * per_session / left)
        t_session += gap * 2 * trnd()
        at = int(t_session)
        sess_n += 1
        sid = "sim%s-%x" % (tag, sess_n)
        device = device_fn(rng)
        head = ',"session":"%s","device":"%s","' % (sid, device)
        searched = {}
        carted = []
        for _ in range(searches_fn(rng)):
            if left <= 0:
                break
            p = pick(rng)
            qid_n += 1
            qid = "q%s-%x" % (tag, qid_n)
            at += 2000 + int(trnd() * 20000)
            took = int(p.took_us * (0.5 + trnd())) if p.took_us else 300 + int(trnd() * 700)
            out_lines.append('{"type":"search","at":%d%squery_id":"%s","query":%s,"total":%d,"took_us":%d}'
                             % (min(at, now_ms), head, qid, p.qjson, p.total, took))
            day = at // DAY_MS
            counts[(day, device, "searches")] += 1
            q_searches[p.rank] += 1
            searched.setdefault(p.rank, day)
            left -= 1
            for pos in clicks_fn(rng, p, p.ids, p.in_stock):
                if left <= 0:
                    break
                pid = p.ids[pos]
                at += 1000 + int(trnd() * 15000)
                day = at // DAY_MS
                out_lines.append('{"type":"click","at":%d%squery_id":"%s","product_id":%s,"position":%d}' % (min(at, now_ms), head, qid, jid[pid], pos + 1))
                counts[(day, device, "clicks")] += 1
                q_clicks[p.rank] += 1
                q_pos[p.rank] += pos + 1
                if p.rank < top_ranks:
                    qprod[p.rank][pid] += 1
                left -= 1
                if left <= 0:
                    break
                at += 200 + int(trnd() * 800)
                out_lines.append('{"type":"view","at":%d%sproduct_id":%s}' % (min(at, now_ms), head, jid[pid]))
                counts[(day, device, "views")] += 1
                left -= 1
                if left > 0 and p.in_stock[pos] and pid not in carted and carts_fn(rng, p, pid):
                    carted.append(pid)
                    at += 1000 + int(trnd() * 10000)
                    out_lines.append('{"type":"add_to_cart","at":%d%sproduct_id":%s,"quantity":1}' % (min(at, now_ms), head, jid[pid]))
                    counts[(at // DAY_MS, device, "carts")] += 1
                    left -= 1
        for pid in model.browsing(rng):
            if left <= 0:
                break
            at += 2000 + int(trnd() * 20000)
            out_lines.append('{"type":"view","at":%d%sproduct_id":%s}' % (min(at, now_ms), head, jid[pid]))
            counts[(at // DAY_MS, device, "views")] += 1
            left -= 1
        if left > 0 and carted and rnd() < a.buy:
            lines = model.order_lines(rng, carted)
            for pid in lines[len(carted):]:
                if left <= 1:   # keep room for the purchase itself
                    break
                at += 1000 + int(trnd() * 5000)
                out_lines.append('{"type":"add_to_cart","at":%d%sproduct_id":%s,"quantity":1}' % (min(at, now_ms), head, jid[pid]))
                counts[(at // DAY_MS, device, "carts")] += 1
                left -= 1
            if left > 0:
                order_n += 1
                at += 5000 + int(trnd() * 30000)
                day = at // DAY_MS
                out_lines.append('{"type":"purchase","at":%d%sorder_id":"sim%s-o%d","lines":[%s]}'
                                 % (min(at, now_ms), head, tag, order_n, ",".join('{"product_id":%s,"quantity":1}' % jid[x] for x in lines)))
                counts[(day, device, "purchases")] += 1
                left -= 1
                for r, d in searched.items():
                    if d == day:
                        q_conv[r] += 1
                for x in lines:
                    y = partner.get(x)
                    if y is not None:
                        anchor[x]["orders"] += 1
                        if y in lines:
                            anchor[x]["with_partner"] += 1
        if len(out_lines) >= 50_000:
            f.write("\n".join(out_lines))
            f.write("\n")
            written += len(out_lines)
            out_lines = []
            if a.progress and written % 1_000_000 < 50_000:
                el = time.monotonic() - t0
                log("traffic_sim: %d events in %.0f s (%.0f/s)" % (written, el, written / el if el else 0))
    if out_lines:
        f.write("\n".join(out_lines))
        f.write("\n")
        written += len(out_lines)
    if f is not sys.stdout:
        f.close()
    wall = time.monotonic() - t0
    day_name = lambda d: time.strftime("%Y-%m-%d", time.gmtime(d * 86400))   # noqa: E731
    per_day = collections.defaultdict(lambda: collections.defaultdict(dict))
    per_device = collections.defaultdict(collections.Counter)
    for (d, dev, k), n in sorted(counts.items()):
        per_day[day_name(d)][dev][k] = n
        per_device[dev][k] += n
    sent = {
        "per_device": {d: {k: c[k] for k in ("searches", "clicks", "views", "carts", "purchases")} for d, c in sorted(per_device.items())},
        "per_day": {d: dict(v) for d, v in sorted(per_day.items())},
        "per_query": {p.q: {"searches": q_searches[p.rank], "clicks": q_clicks[p.rank], "position_sum": q_pos[p.rank],
                            "conversions": q_conv[p.rank]} for p in model.plans if q_searches[p.rank]},
        "clicks_by_product": {model.plans[r].q: dict(c.most_common()) for r, c in sorted(qprod.items())},
        "anchors": {x: {"partner": partner[x], "orders": anchor[x]["orders"], "with_partner": anchor[x]["with_partner"]} for x in partner},
        "orders": order_n,
    }
    rep = {"mode": "offline", "events": written, "file": a.events_out, "sessions": sess_n, "orders": order_n,
           "days": a.days, "from": day_name(start_ms // DAY_MS), "to": day_name(now_ms // DAY_MS),
           "seconds": round(wall, 2), "events_per_s": round(written / wall) if wall else None}
    return rep, sent


def _estimate_events_per_session(model, a, n=4000):
    rng = random.Random("estimate:%d" % a.seed)
    total = 0
    for _ in range(n):
        model.device(rng)
        carted = []
        for _ in range(model.searches(rng)):
            p = model.pick(rng)
            total += 1
            for pos in model.clicks(rng, p, p.ids, p.in_stock):
                total += 2
                pid = p.ids[pos]
                if p.in_stock[pos] and pid not in carted and model.carts(rng, p, pid):
                    carted.append(pid)
                    total += 1
        total += len(model.browsing(rng))
        if carted and rng.random() < a.buy:
            lines = model.order_lines(rng, carted)
            total += 1 + len(lines) - len(carted)
    return total / n


def recovery(model, clicks_by_product, top=20):
    """How often the most clicked product (raw clicks, no position correction) of one of the `top`
    planted queries is its preferred product: (recovered, queries with clicks, rows)."""
    raw = ok_raw = 0
    rows = []
    for p in model.plans[:top]:
        c = clicks_by_product.get(p.q)
        if not c or p.pref is None:
            continue
        best = max(sorted(c), key=lambda x: c[x])
        raw += 1
        ok_raw += best == p.pref
        rows.append((p.q, p.pref, best, c.get(p.pref, 0), sum(c.values())))
    return ok_raw, raw, rows


# MARK: - Main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="aisle serve's base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--queries", required=True, help="synth queries JSONL (\"q\") or one query per line")
    ap.add_argument("--sessions", type=int, help="sessions to run (live; default 1000, unlimited with --duration)")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--concurrency", type=int, default=8, help="worker threads, each one keep-alive connection and one customer")
    ap.add_argument("--truth", help="write the plant and what was sent here (JSON)")
    ap.add_argument("--json", help="write the report here (JSON)")
    ap.add_argument("--token", default=os.environ.get("AISLE_API_TOKEN"), help="the shop's API token: restock at checkout when out of stock")
    ap.add_argument("--zipf", type=float, default=1.0, help="query popularity exponent (weight 1/rank^s)")
    ap.add_argument("--buy", type=float, default=0.6, help="P(a session with a cart buys)")
    ap.add_argument("--pairs", type=int, default=3, help="planted co-purchase pairs")
    ap.add_argument("--pair-rate", type=float, default=0.3, help="P(the partner joins an order with the anchor)")
    ap.add_argument("--browse", type=float, default=0, help="mean extra product views per session besides clicks (default 0)")
    ap.add_argument("--batch", type=int, default=100, help="events per POST /api/v1/events (at most 1000)")
    ap.add_argument("--rate", type=float, default=0, help="pace: searches + events posted + orders per second, in total")
    ap.add_argument("--duration", type=float, default=0, help="seconds to start sessions for (live)")
    ap.add_argument("--results-cache", help="the queries' result lists: read if it exists, else written")
    ap.add_argument("--events-out", help="offline: write the events here (JSON lines; - for stdout)")
    ap.add_argument("--events", type=int, help="offline: how many events")
    ap.add_argument("--days", type=int, default=30, help="offline: days the events cover, ending today")
    ap.add_argument("--progress", type=float, default=0, help="log progress every this many seconds (offline: every million events)")
    a = ap.parse_args(argv)
    if not (0 <= a.buy <= 1 and 0 <= a.pair_rate <= 1):
        raise SystemExit("--buy and --pair-rate are probabilities")
    if a.events_out and not a.events:
        raise SystemExit("--events-out needs --events N")
    if a.days < 1:
        raise SystemExit("--days must be at least 1")
    if not a.events_out and not a.url:
        raise SystemExit("live mode needs --url")

    queries = read_queries(a.queries)
    results = load_results(a, queries)
    model = Model(queries, results, a)
    with_results = sum(1 for p in model.plans if p.ids)
    log("traffic_sim: %d queries (%d with results); top: %s; pairs: %s" % (
        len(model.plans), with_results, ", ".join(repr(p.q) for p in model.plans[:3]),
        ", ".join("%s+%s" % (x, y) for x, y, _ in model.pairs) or "none"))
    truth = model.truth()

    if a.events_out:
        rep, sent = offline(model, a)
        ok, n, _ = recovery(model, sent["clicks_by_product"])
        rep["preferred_most_clicked_top20"] = "%d/%d" % (ok, n)
        print(file=sys.stderr if a.events_out == "-" else sys.stdout, *["traffic_sim offline: %d events (%d sessions, %d orders) over %s..%s to %s in %.1f s: %s events/s; "
              "preferred product most clicked in %d of %d top queries"
              % (rep["events"], rep["sessions"], rep["orders"], rep["from"], rep["to"], rep["file"], rep["seconds"],
                 "{:,}".format(rep["events_per_s"] or 0), ok, n)])
    else:
        sim = LiveSim(model, a)
        t, wall = sim.run()
        rep = live_report(model, t, wall, a, sim.examples)
        sent = sent_truth(model, t)
        ok, n, _ = recovery(model, sent["clicks_by_product"])
        rep["preferred_most_clicked_top20"] = "%d/%d" % (ok, n)
        print_live(rep)
        print("  preferred product most clicked (as sent) in %d of %d top queries" % (ok, n))
    truth["sent"] = sent
    truth["report"] = rep
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump(truth, f, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 1 if rep.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
