#!/usr/bin/env python3
"""HTTP abuse test: throw hostile, broken and expensive requests at a real `aisle serve`.

Usage:
    scripts/abuse.py --aisle BIN [--index DIR] [--products 3000] [--seed N]
                     [--seconds S] [--quick] [--report FILE.json] [--markdown FILE.md]
                     [--max-rss-growth-mb 300] [--max-search-ms 5000] [--max-restarts 25]
                     [--database URL --redis URL | --no-commerce] [--verbose]

    e.g. scripts/abuse.py --aisle .build/debug/aisle --quick
         AISLE_ABUSE_SEED=42 scripts/abuse.py --aisle .build/release/aisle --report abuse.json
         scripts/abuse.py --aisle .build/release/aisle --index /data/idx-1m --seconds 30

What it does:
 1. Without --index, generates a seeded catalog of --products random products (the format of
    corpora/sample-catalog.jsonl) in a temp dir and indexes it with `aisle index`. With --index,
    serves that index as it is (no rebuild). NOTE: the server is the index's writer, so the
    test's writes land in that index: they only touch ids starting with `zz-abuse-<seed>-`, and
    the test deletes them again at the end.
 2. Starts `aisle serve` on a free port with a bearer token and short connection limits
    (--idle-timeout-ms 1500 --read-timeout-ms 1500 --max-connections 64), waits for /healthz.
 3. Runs the input classes in this order, checking between classes that the process is alive
    and /healthz answers 200 within 1 s:
      numbers           out-of-range / huge / negative / fractional numbers everywhere
      query_syntax      broken and over-budget query strings (GET lenient, POST strict)
      expensive         the costliest requests the limits allow (plus a concurrent burst)
      malformed_bodies  invalid JSON, deep nesting, 70 KB bodies, garbage, wrong types, bad UTF-8
      query_strings     bad percent escapes, repeated / unknown parameters, 8 KB query strings
      recommendations   GET /api/v1/products/{id}/recommendations: hostile ids (long, percent-
                        encoded, unicode), bad / repeated limits, unknown parameters, long query
                        strings, odd products of our own, a burst; every 200 follows the rules
                        (at most limit, never the product itself or a product out of stock)
      analytics         the behaviour ranking option's values; then, with --database and --redis
                        (default AISLE_TEST_DATABASE_URL / AISLE_TEST_REDIS_URL; skipped, saying
                        so, without them), a second `aisle serve` with the commerce database: POST
                        /api/v1/events purchases with hostile lines (not an array, 101 lines, bad
                        quantities, long product ids, lines with product_id, NUL bytes), report
                        parameters, autocomplete and behaviour ranking fed by what was recorded;
                        every purchase accepted (202) must reach the funnel report
      writes            auth, bad numbers in PATCH / PUT (price must survive), attribute-key
                        explosion, _bulk with bad lines, atomic _bulk, a 33 MiB _bulk
      slow_connections  slow headers, slow bodies, idle and dripping connections, the
                        connection cap
      concurrent        4 writers (read-your-write checks) + 4 readers + 1 expensive searcher
                        for --seconds (default 10, --quick 4)
      routes            unknown routes, wrong methods, odd ids, protocol garbage
 4. Every answer must be 2xx, 4xx or exactly 503 (with Retry-After); 400 / 401 / 413 / 503 carry a
    JSON error body; cases with a known answer must get it (a 503 is always allowed). Searches
    must answer within --max-search-ms. A connection error is a failure except where the case
    provokes one on purpose (raw protocol garbage, slow and idle connections, the connection cap).
    Resident memory (VmRSS) is sampled before / after every class; its growth must stay below
    --max-rss-growth-mb. The server must still be alive at the end.
    When a request gets no answer because the server died, the crash is recorded against that
    case (with the fatal error and top frames from the server's log) and the server is restarted
    on the same index, so the remaining cases still run (at most --max-restarts times).
 5. Prints a table per class (cases, statuses, worst latency, survived, RSS before -> after),
    writes --report JSON / --markdown if asked, lists every failure, and exits 1 if there was
    any (0 otherwise). The seed printed first replays the run (AISLE_ABUSE_SEED=N).

Only the Python standard library is used; the temp dir and the server are always cleaned up.
"""
import argparse
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

DEADLINE_S = 2.0          # the server's default search deadline
IDLE_MS = 1500
READ_MS = 1500
MAX_CONN = 64
BODY_LIMIT = 64 * 1024
BULK_LIMIT = 32 << 20

# --------------------------------------------------------------------------------------------
# Catalog generation
# --------------------------------------------------------------------------------------------

CATEGORIES = {
    ("Furniture", "Living Room", "Sofas"): ["sofa", "couch", "sectional", "loveseat"],
    ("Furniture", "Living Room", "Coffee Tables"): ["coffee table", "side table", "nesting table"],
    ("Furniture", "Bedroom", "Beds"): ["bed frame", "platform bed", "headboard", "bunk bed"],
    ("Furniture", "Bedroom", "Dressers"): ["dresser", "chest of drawers", "nightstand"],
    ("Furniture", "Office", "Desks"): ["desk", "standing desk", "writing desk"],
    ("Furniture", "Office", "Chairs"): ["office chair", "task chair", "stool"],
    ("Kitchen", "Cookware", "Pans"): ["frying pan", "skillet", "saucepan", "wok"],
    ("Kitchen", "Cookware", "Pots"): ["stock pot", "dutch oven", "casserole"],
    ("Kitchen", "Appliances", "Blenders"): ["blender", "mixer", "food processor"],
    ("Kitchen", "Appliances", "Coffee"): ["coffee maker", "espresso machine", "kettle", "grinder"],
    ("Kitchen", "Tableware", "Plates"): ["dinner plate", "bowl", "mug", "platter"],
    ("Lighting", "Indoor", "Lamps"): ["floor lamp", "table lamp", "desk lamp", "pendant light"],
    ("Lighting", "Outdoor", "Lanterns"): ["lantern", "string lights", "wall light"],
    ("Garden", "Tools", "Hand Tools"): ["trowel", "pruner", "rake", "shovel", "hoe"],
    ("Garden", "Furniture", "Loungers"): ["sun lounger", "hammock", "garden bench"],
    ("Garden", "Watering", "Hoses"): ["garden hose", "sprinkler", "watering can"],
    ("Hardware", "Plumbing", "Pipes"): ["copper pipe", "pipe fitting", "valve", "faucet"],
    ("Hardware", "Tools", "Drills"): ["cordless drill", "impact driver", "drill bit set"],
    ("Hardware", "Fasteners", "Screws"): ["wood screws", "anchors", "bolts", "nails"],
    ("Electronics", "Audio", "Speakers"): ["bluetooth speaker", "soundbar", "subwoofer"],
    ("Electronics", "Audio", "Headphones"): ["headphones", "earbuds", "headset"],
    ("Electronics", "TV", "Stands"): ["tv stand", "wall mount", "media console"],
    ("Bath", "Towels", "Bath Towels"): ["bath towel", "hand towel", "bath mat"],
    ("Bath", "Storage", "Cabinets"): ["vanity cabinet", "medicine cabinet", "shelf"],
    ("Decor", "Rugs", "Area Rugs"): ["area rug", "runner rug", "doormat"],
    ("Decor", "Wall", "Mirrors"): ["wall mirror", "floor mirror", "picture frame"],
}
ADJECTIVES = ["modern", "classic", "rustic", "compact", "deluxe", "heavy-duty", "vintage", "slim",
              "premium", "ergonomic", "foldable", "waterproof", "portable", "handmade", "minimalist",
              "industrial", "scandinavian", "oversized", "stackable", "adjustable", "wireless",
              "cordless", "quiet", "rechargeable", "solid", "tufted", "velvet", "woven", "glazed"]
MATERIALS = ["oak", "walnut", "pine", "steel", "aluminum", "cast iron", "stainless steel", "copper",
             "linen", "cotton", "wool", "leather", "velvet", "ceramic", "glass", "bamboo", "rattan",
             "marble", "plastic", "brass", "teak", "jute"]
COLORS = ["black", "white", "grey", "navy", "emerald green", "red", "oatmeal", "cognac", "blue",
          "yellow", "pink", "natural", "charcoal", "ivory", "olive", "teal", "brown", "silver"]
SIZES = ["small", "medium", "large", "xl", "queen", "king", "twin", '1/2"', '3/4"', "10 in", "12 in"]
BRANDS = ["Northwind Home", "Acme Living", "Zed Works", "Harbor & Pine", "Kestrel", "Lumen Co",
          "Ironbark", "Bluefield", "Copperline", "Oakhaven", "Tidewater", "Summit Tools", "Brightway",
          "Meadowlark", "Granite Peak", "Foxglove", "Silverleaf", "Redwood Supply", "Aster", "Nimbus",
          "Orchard Lane", "Pioneer", "Stonebridge", "Willow & Co", "Atlas Hardware", "Cobalt Audio"]
FILLER = ["with", "for", "and", "easy", "assembly", "durable", "finish", "storage", "design", "home",
          "everyday", "use", "perfect", "small", "spaces", "comfortable", "seat", "sturdy", "frame",
          "includes", "warranty", "year", "quality", "crafted", "from", "premium", "materials", "clean",
          "lines", "fits", "most", "rooms", "kitchen", "garden", "office", "gift", "set", "pack"]


def make_product(rng, pid, extra_word=None):
    path, nouns = rng.choice(list(CATEGORIES.items()))
    material = rng.choice(MATERIALS)
    noun = rng.choice(nouns)
    words = [rng.choice(ADJECTIVES).capitalize(), material.title(), noun.title()]
    if rng.random() < 0.3:
        words.append(f"{rng.randint(2, 12)}-Piece")
    if extra_word:
        words.append(extra_word)
    desc = " ".join(rng.choice(FILLER + ADJECTIVES + [noun, material]) for _ in range(rng.randint(8, 24)))
    attrs = {"color": rng.choice(COLORS), "material": material}
    if rng.random() < 0.5:
        attrs["size"] = rng.choice(SIZES)
    return {
        "id": pid,
        "title": " ".join(words),
        "description": desc.capitalize() + ".",
        "brand": rng.choice(BRANDS),
        "category": list(path),
        "category_path": " > ".join(path),
        "price": round(rng.uniform(1.0, 3000.0), 2),
        "rating": None if rng.random() < 0.2 else round(rng.uniform(1.0, 5.0), 1),
        "review_count": rng.randint(0, 5000),
        "in_stock": rng.random() < 0.8,
        "attributes": attrs,
    }


def random_token(rng, n=10):
    return "qx" + "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


# --------------------------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------------------------

class Answer:
    """One exchange: status (None when there was no answer), headers, body, latency, error."""

    def __init__(self, status=None, headers=None, body=b"", ms=0.0, error=None):
        self.status, self.headers, self.body, self.ms, self.error = status, headers or {}, body, ms, error

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def closed(self):
        """The server closed / reset the connection without an answer."""
        return self.status is None and self.error is not None and any(
            w in self.error for w in ("closed", "reset", "Reset", "EOF", "Broken pipe", "RemoteDisconnected",
                                      "BadStatusLine", "IncompleteRead"))

    def __repr__(self):
        return f"<{self.status} {self.ms:.0f}ms {self.error or ''} {self.body[:120]!r}>"


def request(port, method, path, body=None, headers=None, timeout=15.0, chunked=False):
    """One request on a fresh connection (http.client); never raises."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            if chunked:
                for i in range(0, len(body), 8192):
                    part = body[i:i + 8192]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, (time.monotonic() - t0) * 1000)
    except (OSError, http.client.HTTPException, ValueError) as e:
        return Answer(None, None, b"", (time.monotonic() - t0) * 1000, f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def parse_raw_response(buf):
    """(status, headers, body, complete) of the first final HTTP response in buf (1xx skipped)."""
    while True:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            return None, {}, b"", False
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            return None, {}, b"", True
        if 100 <= status < 200 and status != 101:
            buf = rest
            continue
        break
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "content-length" in headers:
        n = int(headers["content-length"])
        return status, headers, rest[:n], len(rest) >= n
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return status, headers, rest, rest.endswith(b"0\r\n\r\n")
    return status, headers, rest, False


def raw(port, data, timeout=10.0, send_in_thread=False):
    """Sends raw bytes on a fresh connection and reads one response (or the close); never raises.

    send_in_thread: send from a thread while reading, for bodies the server may refuse early."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return Answer(None, None, b"", 0, f"connect: {e}")
    send_error = []

    def send():
        try:
            s.sendall(data)
        except OSError as e:
            send_error.append(e)

    sender = None
    try:
        if send_in_thread:
            sender = threading.Thread(target=send, daemon=True)
            sender.start()
        else:
            send()
        buf, error = b"", None
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                error = "timeout"
                break
            except OSError as e:
                error = f"reset: {e}"
                break
            if not chunk:
                error = "closed"
                break
            buf += chunk
            status, headers, body, complete = parse_raw_response(buf)
            if complete:
                return Answer(status, headers, body, (time.monotonic() - t0) * 1000)
        status, headers, body, _ = parse_raw_response(buf)
        ms = (time.monotonic() - t0) * 1000
        if status is not None:
            return Answer(status, headers, body, ms)
        if send_error and error == "closed":
            error = f"closed (send: {send_error[0]})"
        return Answer(None, None, buf, ms, error)
    finally:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
        if sender:
            sender.join(timeout=5)


def qs(pairs):
    """A query string from (key, value) pairs, percent-encoded as UTF-8."""
    if isinstance(pairs, dict):
        pairs = list(pairs.items())
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="")


def jdump(v):
    return json.dumps(v, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Recording and judging
# --------------------------------------------------------------------------------------------

OK_STATUS = "2xx, 4xx or 503"


def status_ok(s):
    return s is not None and (200 <= s < 300 or 400 <= s < 500 or s == 503)


class Recorder:
    def __init__(self, verbose=False):
        self.cases = []       # (class, label, status, ms)
        self.failures = []    # (class, label, status, detail)
        self.lock = threading.Lock()
        self.verbose = verbose

    def add(self, cls, label, status, ms):
        with self.lock:
            self.cases.append((cls, label, status, ms))

    def fail(self, cls, label, status, detail):
        with self.lock:
            self.failures.append((cls, label, status, detail))
        if self.verbose:
            print(f"  FAIL [{cls}] {label}: {status} {detail}", flush=True)


def check_scores(ans):
    """A 200 search answer is JSON whose hits / results carry numeric scores (not null / NaN)."""
    if ans.status != 200:
        return None
    j = ans.json()
    if not isinstance(j, dict):
        return f"200 whose body is not a JSON object: {ans.body[:200]!r}"
    hits = j.get("hits", j.get("results"))
    if not isinstance(hits, list):
        return f"200 without hits / results: {ans.body[:200]!r}"
    bad = [h for h in hits if not isinstance(h.get("score"), (int, float))]
    if bad:
        return f"{len(bad)} of {len(hits)} hits have a non-numeric score, e.g. {json.dumps(bad[0])[:120]}"
    return None


def check_recommendations(pid, limit):
    """A 200 recommendations answer names the product asked for and lists at most `limit` products,
    none of them the product itself, none twice, every one in stock, each with its source."""
    def check(ans):
        if ans.status != 200:
            return None
        j = ans.json()
        if not isinstance(j, dict) or not isinstance(j.get("recommendations"), list):
            return f"200 without a recommendations list: {ans.body[:200]!r}"
        if pid is not None and j.get("product_id") != pid:
            return f"product_id {str(j.get('product_id'))[:80]!r}, asked for {pid[:80]!r}"
        recs = j["recommendations"]
        if not all(isinstance(r, dict) for r in recs):
            return f"a recommendation is not an object: {ans.body[:200]!r}"
        ids = [r.get("id") for r in recs]
        if len(recs) > limit:
            return f"{len(recs)} recommendations for limit {limit}"
        if len(set(ids)) != len(ids):
            return f"a product recommended twice: {ids}"
        if pid is not None and pid in ids:
            return "the product recommends itself"
        bad = [r for r in recs if r.get("in_stock") is not True]
        if bad:
            return f"{len(bad)} recommended products not in stock, e.g. {json.dumps(bad[0])[:160]}"
        src = [r.get("source") for r in recs if r.get("source") not in ("similar", "bought_together")]
        if src:
            return f"unknown source {src[0]!r}"
        if not isinstance(j.get("took_us"), (int, float)):
            return "no took_us"
        return None
    return check


def both(*checks):
    """One check running several (the first problem wins)."""
    checks = [c for c in checks if c]

    def check(ans):
        for c in checks:
            problem = c(ans)
            if problem:
                return problem
        return None
    return check


class Tester:
    """The running server plus helpers that send a request, judge and record it."""

    def __init__(self, server, rec, args):
        self.server, self.token, self.rec, self.args = server, server.token, rec, args
        self.deaths = {}          # class -> times the server died during it
        self.death_lock = threading.Lock()
        self.recent = []          # the last case labels (to name a crash's suspects)
        self.prefix = f"zz-abuse-{args.seed}-"
        self.created = set()      # ids the test may have created (deleted at the end)
        self.created_lock = threading.Lock()
        self.base_ids = []
        self.words = []
        self.facets = []
        self.boost_fields = []

    # -- sending -------------------------------------------------------------------------

    @property
    def port(self):
        return self.server.port

    def auth(self, headers=None):
        h = dict(headers or {})
        h["Authorization"] = f"Bearer {self.token}"
        return h

    def judge(self, cls, label, ans, expect=None, allow_close=False, max_ms=None, check=None, json_error=True):
        """Records the case; records a failure when the answer breaks a rule. Returns ans."""
        status = ans.status if ans.status is not None else ("closed" if ans.closed else "error")
        with self.death_lock:
            self.recent = (self.recent + [label])[-4:]
        if ans.status is None and not (allow_close and ans.closed) and self.check_died(cls, label):
            self.rec.add(cls, label, "crash", ans.ms)
            return ans
        self.rec.add(cls, label, status, ans.ms)
        problem = None
        if ans.status is None:
            if not (allow_close and ans.closed):
                problem = f"no answer: {ans.error}"
        elif not status_ok(ans.status):
            problem = f"status {ans.status} is not {OK_STATUS}: {ans.body[:300]!r}"
        elif ans.status == 503 and "retry-after" not in ans.headers:
            problem = "503 without Retry-After"
        elif expect is not None and ans.status not in expect and ans.status != 503:
            problem = f"expected {'/'.join(map(str, sorted(expect)))}: {ans.body[:300]!r}"
        elif json_error and ans.status in (400, 401, 413, 503):
            j = ans.json()
            if not (isinstance(j, dict) and (isinstance(j.get("error"), str) or isinstance(j.get("errors"), list))):
                problem = f"{ans.status} without a JSON {{\"error\": ...}} body: {ans.body[:200]!r}"
        if problem is None and max_ms is not None and ans.ms > max_ms:
            problem = f"took {ans.ms:.0f} ms (limit {max_ms:.0f} ms)"
        if problem is None and check is not None and ans.status is not None and ans.status != 503:
            problem = check(ans)
        if problem:
            self.rec.fail(cls, label, status, problem)
        return ans

    def get(self, cls, label, path, expect=None, **kw):
        return self.judge(cls, label, request(self.port, "GET", path, timeout=kw.pop("timeout", 15)), expect, **kw)

    def post(self, cls, label, path, body, expect=None, headers=None, **kw):
        ans = request(self.port, "POST", path, body, headers=headers, timeout=kw.pop("timeout", 15),
                   chunked=kw.pop("chunked", False))
        return self.judge(cls, label, ans, expect, **kw)

    def search(self, cls, label, body, expect=None, **kw):
        kw.setdefault("max_ms", self.args.max_search_ms)
        kw["check"] = both(check_scores, kw.get("check"))
        return self.post(cls, label, "/api/v1/search", body, expect, **kw)

    def page(self, cls, label, pairs, expect=None, **kw):
        kw.setdefault("max_ms", self.args.max_search_ms)
        kw["check"] = both(check_scores, kw.get("check"))
        path = "/api/v1/products/search" + ("?" + (pairs if isinstance(pairs, str) else qs(pairs)) if pairs else "")
        return self.get(cls, label, path, expect, **kw)

    def send(self, cls, label, method, path, body=None, expect=None, token=True, headers=None, **kw):
        h = self.auth(headers) if token else dict(headers or {})
        ans = request(self.port, method, path, body, headers=h, timeout=kw.pop("timeout", 15))
        return self.judge(cls, label, ans, expect, **kw)

    def raw(self, cls, label, data, expect=None, allow_close=True, **kw):
        ans = raw(self.port, data, timeout=kw.pop("timeout", 10), send_in_thread=kw.pop("send_in_thread", False))
        return self.judge(cls, label, ans, expect, allow_close=allow_close, json_error=False, **kw)

    def check_died(self, cls, label, wait=5.0):
        """After a request got no answer: when the server process died (a crashing process may
        take a few seconds to exit while it prints its backtrace), records the crash with the log's
        fatal error and frames, restarts the server on the same index and returns True."""
        with self.death_lock:
            srv = self.server
            deadline = time.monotonic() + wait
            while srv.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if srv.alive():
                return False
            rc, why = srv.proc.returncode, srv.crash_summary()
            self.rec.fail(cls, label, "crash", f"the server died (exit {rc}): {why} [on this request or just "
                                               f"before it; the last cases: {'; '.join(self.recent[:-1]) or '-'}]")
            self.deaths[cls] = self.deaths.get(cls, 0) + 1
            print(f"abuse: [{cls}] the server died after {label!r}: {why}; restarting", flush=True)
            srv.start()
            return True

    def product(self, pid):
        """GET a product without recording: (status, fields or None)."""
        ans = request(self.port, "GET", "/api/v1/products/" + urllib.parse.quote(pid, safe=""), timeout=15)
        return ans.status, (ans.json() if ans.status == 200 else None)

    def remember(self, *ids):
        with self.created_lock:
            self.created.update(ids)

    # -- state ---------------------------------------------------------------------------

    def healthz(self, timeout=1.0):
        ans = request(self.port, "GET", "/healthz", timeout=timeout)
        return ans

    def rss_mb(self):
        try:
            with open(f"/proc/{self.server.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return None

    def discover(self):
        """Ids, common title words, facets and boost fields of the served index."""
        ans = request(self.port, "POST", "/api/v1/search", {"q": "", "limit": 1000, "fields": ["title"]}, timeout=30)
        hits = (ans.json() or {}).get("hits", []) if ans.status == 200 else []
        counts = {}
        for h in hits:
            if h["id"].startswith("zz-abuse-"):
                continue
            self.base_ids.append(h["id"])
            for w in str((h.get("fields") or {}).get("title", "")).lower().replace("-", " ").split():
                w = "".join(c for c in w if c.isalnum())
                if len(w) >= 3 and w.isalpha():
                    counts[w] = counts.get(w, 0) + 1
        self.words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))] or ["sofa", "lamp", "oak"]
        candidates = ["brand", "category", "price", "rating", "review_count", "in_stock", "attributes.color",
                      "attributes.material", "attributes.size", {"field": "brand", "size": 1000},
                      {"field": "attributes.color", "size": 1000},
                      {"field": "price", "ranges": [{"from": i * 10, "to": (i + 1) * 10} for i in range(99)] + [{"from": 990}]}]
        for f in candidates:
            a = request(self.port, "POST", "/api/v1/search", {"q": "", "limit": 0, "facets": [f]}, timeout=30)
            if a.status == 200:
                self.facets.append(f)
        for b in ["rating", "review_count", "price", "popularity", "in_stock"]:
            a = request(self.port, "POST", "/api/v1/search", {"q": "x", "limit": 0, "boost": [{"field": b, "weight": 0.1}]}, timeout=30)
            if a.status == 200:
                self.boost_fields.append(b)

    def common_words(self, n):
        return [self.words[i % len(self.words)] for i in range(n)]


# --------------------------------------------------------------------------------------------
# Input classes
# --------------------------------------------------------------------------------------------

S200, S400, S404, S413, S401 = {200}, {400}, {404}, {413}, {401}
S200_400 = {200, 400}


def class_numbers(t, rng):
    c = "numbers"
    cases = [
        # (label, raw JSON body, expected statuses)
        ("brand 1e300", '{"filters": {"brand": 1e300}}', S200),
        ("brand 1e999", '{"filters": {"brand": 1e999}}', S400),
        ("brand -1e999", '{"filters": {"brand": [-1e999]}}', S400),
        ("brand 5e-324", '{"filters": {"brand": 5e-324}}', S200_400),
        ("search_after doc 1e19", '{"q": "sofa", "search_after": [1.0, 1e19]}', S400),
        ("search_after doc -1", '{"q": "sofa", "search_after": [1.0, -1]}', S400),
        ("search_after doc 2.5", '{"q": "sofa", "search_after": [1.0, 2.5]}', S400),
        ("search_after doc 1e300", '{"q": "sofa", "search_after": [1.0, 1e300]}', S400),
        ("search_after doc 1e999", '{"q": "sofa", "search_after": [1.0, 1e999]}', S400),
        ("search_after doc 2^63", '{"q": "sofa", "search_after": [1.0, 9223372036854775808]}', S400),
        ("search_after doc 2^63-1", '{"q": "sofa", "search_after": [1.0, 9223372036854775807]}', S200_400),
        ("search_after doc 2^53+1", '{"q": "sofa", "search_after": [1.0, 9007199254740993]}', S200_400),
        ("search_after doc -0.0", '{"q": "sofa", "search_after": [1.0, -0.0]}', S200_400),
        ("search_after doc string", '{"q": "sofa", "search_after": [1.0, "P1"]}', S400),
        ("search_after score 1e300", '{"q": "sofa", "search_after": [1e300, 5]}', S400),
        ("search_after score 1e999", '{"q": "sofa", "search_after": [1e999, 5]}', S400),
        ("search_after score -3e38", '{"q": "sofa", "search_after": [-3e38, 0]}', S200),
        ("search_after score null", '{"q": "sofa", "search_after": [null, 0]}', S400),
        ("search_after price 1e308", '{"q": "", "sort": "price_asc", "search_after": [1e308, "P1"]}', S200),
        ("search_after price 1e999", '{"q": "", "sort": "price_asc", "search_after": [1e999, "P1"]}', S400),
        ("search_after price -1e308", '{"q": "", "sort": "price_desc", "search_after": [-1e308, ""]}', S200_400),
        ("search_after price null", '{"q": "", "sort": "price_asc", "search_after": [null, "zzz"]}', S200),
        ("search_after price id number", '{"q": "", "sort": "price_asc", "search_after": [12, 5]}', S400),
        ("search_after price value str", '{"q": "", "sort": "price_asc", "search_after": ["12", "P1"]}', S400),
        ("search_after 3 items", '{"q": "", "sort": "price_asc", "search_after": [1, "P1", 3]}', S400),
        ("price_min 1e999", '{"filters": {"price_min": 1e999}}', S400),
        ("price_max -1e999", '{"filters": {"price_max": -1e999}}', S400),
        ("price_min 1e308", '{"filters": {"price_min": 1e308}}', S200_400),
        ("price_max -1e308", '{"filters": {"price_max": -1e308}}', S200_400),
        ("price_min > price_max", '{"filters": {"price_min": 500, "price_max": 5}}', S200_400),
        ("price_min -0", '{"filters": {"price_min": -0}}', S200),
        ("rating_min 1e-320", '{"filters": {"rating_min": 1e-320}}', S200_400),
        ("rating_max 1e16", '{"filters": {"rating_max": 1e16}}', S200_400),
        ("price_min 400 digits", '{"filters": {"price_min": 1' + "0" * 400 + '}}', S400),
        ("price_min 0.000..1", '{"filters": {"price_min": 0.' + "0" * 400 + '1}}', S200_400),
        ("range 1e999", '{"facets": [{"field": "price", "ranges": [{"from": 1e999}]}]}', S400),
        ("range to -1e999", '{"facets": [{"field": "price", "ranges": [{"to": -1e999}]}]}', S400),
        ("range ±1e308", '{"facets": [{"field": "price", "ranges": [{"from": -1e308, "to": 1e308}]}]}', S200),
        ("range from>to", '{"facets": [{"field": "price", "ranges": [{"from": 1e308, "to": -1e308}]}]}', S400),
        ("range denormals", '{"facets": [{"field": "price", "ranges": [{"from": 5e-324, "to": 1e-323}]}]}', S200),
        ("range from=to", '{"facets": [{"field": "price", "ranges": [{"from": 5, "to": 5}]}]}', S400),
        ("100 tiny ranges", jdump({"facets": [{"field": "price", "ranges": [{"from": i * 1e-300, "to": (i + 1) * 1e-300} for i in range(100)]}]}), S200),
        ("101 ranges", jdump({"facets": [{"field": "price", "ranges": [{"from": i, "to": i + 1} for i in range(101)]}]}), S400),
        ("facet size 1e300", '{"facets": [{"field": "brand", "size": 1e300}]}', S400),
        ("facet size 0.5", '{"facets": [{"field": "brand", "size": 0.5}]}', S400),
        ("facet size -1", '{"facets": [{"field": "brand", "size": -1}]}', S400),
        ("facet size 1e999", '{"facets": [{"field": "brand", "size": 1e999}]}', S400),
        ("facet size 1000", '{"facets": [{"field": "brand", "size": 1000}]}', S200),
        ("limit 1e999", '{"q": "sofa", "limit": 1e999}', S400),
        ("limit 1e300", '{"q": "sofa", "limit": 1e300}', S400),
        ("limit 1e19", '{"q": "sofa", "limit": 1e19}', S400),
        ("limit -1", '{"q": "sofa", "limit": -1}', S400),
        ("limit 2.5", '{"q": "sofa", "limit": 2.5}', S400),
        ("limit 1001", '{"q": "sofa", "limit": 1001}', S400),
        ("limit 2^63-1", '{"q": "sofa", "limit": 9223372036854775807}', S400),
        ("limit 2^63", '{"q": "sofa", "limit": 9223372036854775808}', S400),
        ("limit -2^63", '{"q": "sofa", "limit": -9223372036854775808}', S400),
        ("limit 1.0", '{"q": "sofa", "limit": 1.0}', S200_400),
        ("limit 1e1", '{"q": "sofa", "limit": 1e1}', S200_400),
        ("limit -0", '{"q": "sofa", "limit": -0}', S200_400),
        ("offset -1", '{"q": "sofa", "offset": -1}', S400),
        ("offset 1e19", '{"q": "sofa", "offset": 1e19}', S400),
        ("offset 2^63-1", '{"q": "sofa", "offset": 9223372036854775807, "limit": 10}', S400),
        ("offset 2^63-1 limit 1000", '{"q": "sofa", "offset": 9223372036854775807, "limit": 1000}', S400),
        ("offset 9999 limit 1", '{"q": "", "offset": 9999, "limit": 1}', S200),
        ("offset 10000 limit 1", '{"q": "", "offset": 10000, "limit": 1}', S400),
        ("offset+search_after", '{"q": "", "sort": "price_asc", "offset": 5, "search_after": [1, "P1"]}', S400),
        ("track_total_hits 1e999", '{"q": "sofa", "track_total_hits": 1e999}', S400),
        ("track_total_hits -1", '{"q": "sofa", "track_total_hits": -1}', S400),
        ("track_total_hits 1e9", '{"q": "sofa", "track_total_hits": 1000000000}', S200),
        ("track_total_hits 2^63-1", '{"q": "sofa", "track_total_hits": 9223372036854775807}', S200_400),
        ("boost weight 1e308", '{"q": "sofa", "boost": [{"field": "rating", "weight": 1e308}]}', S200_400),
        ("boost weight 1e999", '{"q": "sofa", "boost": [{"field": "rating", "weight": 1e999}]}', S400),
        ("boost weight -1e308", '{"q": "sofa", "boost": [{"field": "rating", "weight": -1e308}]}', S200_400),
        ("boost missing 1e308", '{"q": "sofa", "boost": [{"field": "rating", "weight": 1, "missing": 1e308, "modifier": "none"}]}', S200_400),
        ("boost missing -1e308 sqrt", '{"q": "sofa", "boost": [{"field": "rating", "weight": 1, "missing": -1e308, "modifier": "sqrt"}]}', S200_400),
        ("ranking rescore 1e999", '{"q": "sofa", "ranking": {"rescore_window": 1e999}}', S400),
        ("ranking rescore -1", '{"q": "sofa", "ranking": {"rescore_window": -1}}', S400),
        ("ranking slop 1e300", '{"q": "sofa", "ranking": {"proximity_slop": 1e300}}', S400),
        ("ranking typo_weight 1e308", '{"q": "sofa", "ranking": {"typo_weight": 1e308}}', S400),
        ("ranking typo_rare_ratio 1e9", '{"q": "sofa", "ranking": {"typo_rare_ratio": 1e9}}', S200),
        ("phrase slop huge", '{"q": "\\"oak table\\"~99999999999999999999999"}', S200_400),
        ("phrase slop 1e999", '{"q": "\\"oak table\\"~1e999", "syntax": "strict"}', S200_400),
        ("retrieval lexical", '{"q": "sofa", "retrieval": "lexical"}', S200),
        ("retrieval hybrid without vectors", '{"q": "sofa", "retrieval": "hybrid"}', S400),
        ("retrieval bogus mode", '{"q": "sofa", "retrieval": "psychic"}', S400),
        ("retrieval window 1e999", '{"q": "sofa", "retrieval": {"mode": "lexical", "window": 1e999}}', S400),
        ("retrieval k 2^63", '{"q": "sofa", "retrieval": {"k": 9223372036854775808}}', S400),
        ("retrieval weight nan-ish", '{"q": "sofa", "retrieval": {"vector_weight": -1e308}}', S400),
        ("retrieval nested junk", '{"q": "sofa", "retrieval": {"mode": {"mode": "hybrid"}}}', S400),
    ]
    for label, body, expect in cases:
        t.search(c, label, body, expect)

    gets = [
        ("min_price=1e999", "min_price=1e999", S400),
        ("min_price=-1e999", "min_price=-1e999", S400),
        ("max_price=1e308", "max_price=1e308", S200),
        ("min_price=-1e308", "min_price=-1e308", S200),
        ("min_price=nan", "min_price=nan", S400),
        ("min_price=inf", "min_price=inf", S400),
        ("min_price=infinity", "min_price=-Infinity", S400),
        ("min_price=0x10", "min_price=0x10", S200_400),
        ("min_price=1_000", "min_price=1_000", S400),
        ("min_price=400 digits", "min_price=1" + "0" * 400, S400),
        ("min_price=+1e3", "min_price=%2B1e3", S200),
        ("min_price=' 5'", "min_price=%205", S400),
        ("min_price>max_price", "min_price=900&max_price=5", S200_400),
        ("page=99999999999999999999", "page=99999999999999999999", S400),
        ("page=9223372036854775807", "page=9223372036854775807", S400),
        ("page=0", "page=0", S400),
        ("page=-1", "page=-1", S400),
        ("page=1.5", "page=1.5", S400),
        ("page=1e2", "page=1e2", S400),
        ("page=10000", "page=10000", S400),
        ("page=100 limit=100", "page=100&limit=100", S200),
        ("page=101 limit=100", "page=101&limit=100", S400),
        ("retrieval=lexical", "q=sofa&retrieval=lexical", S200),
        ("retrieval=vector without vectors", "q=sofa&retrieval=vector", S400),
        ("retrieval=NUL", "q=sofa&retrieval=%00", S400),
        ("retrieval twice", "q=sofa&retrieval=lexical&retrieval=hybrid", S400),
        ("limit=-1", "limit=-1", S400),
        ("limit=0", "limit=0", S400),
        ("limit=101", "limit=101", S400),
        ("limit=1e2", "limit=1e2", S400),
        ("limit=+5", "limit=%2B5", S200_400),
        ("limit=05", "limit=05", S200),
        ("limit=-9223372036854775808", "limit=-9223372036854775808", S400),
        ("in_stock=2", "in_stock=2", S400),
        ("in_stock=TRUE", "in_stock=TRUE", S400),
    ]
    for label, query, expect in gets:
        t.page(c, label, query, expect)


def broken_queries(t, rng, n_random):
    """(label, q, GET expect, strict POST expect, lenient-marker expected on GET)."""
    w = t.common_words(400)
    uniq = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(3)) for _ in range(2000)})
    rng.shuffle(uniq)
    out = [
        ("NOT x498 sofa", "NOT " * 498 + "sofa", S400, S400, False),
        ("-( x666 sofa )x666", "-(" * 666 + "sofa" + ")" * 666, S400, S400, False),
        ("-( x400 sofa )x400", "-(" * 400 + "sofa" + ")" * 400, S400, S400, False),
        ("( x32 sofa )x32", "(" * 32 + "sofa" + ")" * 32, S200, S200, False),
        ("( x33 sofa )x33", "(" * 33 + "sofa" + ")" * 33, S400, S400, False),
        ("( x999 unclosed", "(" * 999 + "sofa", S200_400, S400, False),
        ("600 x U+FDFA", "\ufdfa" * 600, S200_400, S200_400, False),
        ("unclosed quote", '"leather sofa', S200, S400, True),
        ("unclosed paren", "(sofa chair", S200, S400, True),
        ("stray close paren", "sofa) chair", S200, S400, True),
        ("dangling AND", "sofa AND", S200, S400, True),
        ("leading OR", "OR sofa", S200, S400, True),
        ("1/2\" pipe (copper", '1/2" pipe (copper', S200, S400, True),
        ("unknown field", "colour:red sofa", S200, S400, True),
        ("empty field value", "title: sofa", S200_400, S200_400, False),
        ("only operators", "AND OR NOT", S200, S200_400, False),
        ("lone NOT", "NOT", S200, S200_400, False),
        ("colons", ":::", S200, S200_400, False),
        ("stars", "***", S200, S200_400, False),
        ("star", "*", S200, S200_400, False),
        ("minus", "-", S200, S200_400, False),
        ("plus", "+", S200, S200_400, False),
        ("tilde", "~", S200, S200_400, False),
        ("quote", '"', S200, S200_400, False),
        ("empty phrase", '""', S200, S200_400, False),
        ("empty parens", "()", S200, S200_400, False),
        ("slop overflow", '"oak table"~99999999999999999999999', S200_400, S200_400, False),
        ("tilde word", "sofa~ chair~2 lamp^3", S200, S200_400, False),
        ("NUL and controls", "sofa\x00chair\x01\x02\t\n\r", S200, S200_400, False),
        ("combining marks", "e" + "\u0301" * 999, S200_400, S200_400, False),
        ("zero width", "so\u200bfa\u200d \ufeffchair", S200, S200_400, False),
        ("rtl mixed", "\u202esofa \u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0633\u0644\u0627\u0645 \u4e2d\u6587", S200, S200_400, False),
        ("emoji", "\U0001f6cb\ufe0f sofa \U0001f4a1" * 20, S200, S200_400, False),
        ("one 1999-byte word", "x" * 1999, S200, S200, False),
        ("2000 bytes", "sofa " * 399 + "sofa", S200_400, S200_400, False),
        ("2001 bytes", "a" * 2001, S400, S400, False),
        ("2001 bytes multibyte", "\u00e9" * 1000 + "a", S400, S400, False),
        ("401 x sofa", "sofa " * 401, S400, S400, False),
        ("255 words", " ".join(uniq[:255]), S200, S200, False),
        ("256 words", " ".join(uniq[:256]), S200_400, S200_400, False),
        ("257 words", " ".join(uniq[:257]), S400, S400, False),
        ("300 common words", " ".join(w[:300]), S400, S400, False),
        ("8 prefix words", " ".join(x[:2] + "*" for x in uniq[:8]), S200, S200, False),
        ("9 prefix words", " ".join(x[:2] + "*" for x in uniq[:9]), S400, S400, False),
        ("9 prefix one-letter", " ".join(c + "*" for c in "abcdefghi"), S400, S400, False),
        ("fields with prefixes", " ".join(f"title:{x[:1]}*" for x in uniq[:9]), S400, S400, False),
        ("128 words OR-ed (255 parts)", " OR ".join(uniq[:128]), S200, S200, False),
        ("255 words OR-ed (operators count)", " OR ".join(uniq[:255]), S400, S400, False),
        ("260 words OR-ed", " OR ".join(uniq[:260]), S400, S400, False),
        ("x AND y AND z", "oak AND table AND desk", S200, S200, False),
        ("130 words AND-ed", " AND ".join(uniq[:130]), S400, S400, False),
    ]
    pieces = ['"', "(", ")", "+", "-", ":", "~", "*", " AND ", " OR ", " NOT ", " ", "title:", "brand:", "\\"]
    for i in range(n_random):
        parts, size = [], 0
        target = rng.randint(1900, 2000)
        while True:
            p = rng.choice(pieces) if rng.random() < 0.45 else rng.choice(w)
            if size + len(p.encode()) > target:
                break
            parts.append(p)
            size += len(p.encode())
        out.append((f"random 2000-byte #{i}", "".join(parts), S200_400, S200_400, False))
    return out


def class_query_syntax(t, rng):
    c = "query_syntax"
    n_random = 4 if t.args.quick else 10

    def lenient_or_limit(marker):
        def check(ans):
            j = ans.json() or {}
            if ans.status == 400 and "limit" not in str(j.get("error", "")).lower():
                return f"lenient search answered 400 without naming a limit: {ans.body[:200]!r}"
            if ans.status == 200 and marker and j.get("query_syntax") != "lenient":
                return "broken syntax answered 200 without \"query_syntax\": \"lenient\""
            return None
        return check

    for label, q, get_expect, strict_expect, marker in broken_queries(t, rng, n_random):
        t.page(c, "GET " + label, [("q", q)], get_expect, check=lenient_or_limit(marker))
        t.search(c, "POST strict " + label, jdump({"q": q, "syntax": "strict"}), strict_expect)
        t.search(c, "POST lenient " + label, jdump({"q": q, "operator": "or"}), get_expect,
                 check=lenient_or_limit(False))


def expensive_requests(t):
    """The costliest requests the limits allow: (label, body, expect)."""
    words = t.common_words(250)
    q250 = " ".join(words)
    heavy = {"q": q250, "operator": "or", "limit": 1000, "fields": ["*"], "facets": t.facets[:32],
             "track_total_hits": True,
             "ranking": {"rescore_window": 100000, "proximity_slop": 100, "typo_candidates": 16,
                         "typo_rare_docs": 1000000, "relax_below": 10000, "coordination_max_words": 256,
                         "feedback": True, "feedback_docs": 100, "feedback_terms": 200, "feedback_keep": 1000}}
    out = [("250 OR words, all facets, limit 1000", heavy, S200)]
    b = dict(heavy, sort="price_asc")
    out.append(("250 OR words sorted by price", b, S200))
    b = dict(heavy, boost=[{"field": f, "weight": 0.5, "modifier": m}
                           for f, m in zip(t.boost_fields, ["log1p", "sqrt", "none"] * 3)])
    out.append((f"250 OR words, {len(t.boost_fields)} boosts", b, S200))
    if t.boost_fields:
        # Valid input (weights of one signal add up); tested once, not in the concurrent loop.
        f = t.boost_fields[0]
        b = dict(heavy, boost=[{"field": f, "weight": 0.5, "modifier": "log1p"}, {"field": f, "weight": 0.5, "modifier": "sqrt"}])
        out.append(("250 OR words, 2 boosts on one field", b, S200_400))
    out.append(("250 AND words", {"q": q250, "operator": "and", "limit": 1000, "fields": ["*"],
                                  "facets": t.facets[:32], "track_total_hits": True}, S200))
    typos = " ".join(w[:-1] + "q" if len(w) > 3 else w + "q" for w in words)
    out.append(("250 OR misspelled words", dict(heavy, q=typos), S200))
    prefixes = " ".join(w[:1] + "*" for w in t.common_words(8)) + " " + " ".join(words[:200])
    out.append(("8 one-letter prefixes + 200 OR words", dict(heavy, q=prefixes), S200))
    phrase = " ".join('"%s"~100' % " ".join(words[i:i + 5]) for i in range(0, 120, 5))
    out.append(("24 sloppy phrases", dict(heavy, q=phrase), S200))
    out.append(("offset 9000 limit 1000", dict(heavy, offset=9000), S200))
    out.append(("empty q, everything, limit 1000", {"q": "", "limit": 1000, "fields": ["*"], "facets": t.facets[:32],
                                                    "track_total_hits": True, "sort": "price_desc"}, S200))
    out.append(("explain limit 20", dict(heavy, explain=True, limit=20), S200))
    out.append(("explain limit 21", dict(heavy, explain=True, limit=21), S400))
    out.append(("explain limit 1000", dict(heavy, explain=True, limit=1000), S400))
    return out


def class_expensive(t, rng):
    c = "expensive"
    reqs = expensive_requests(t)
    for label, body, expect in reqs:
        a = t.search(c, label, body, expect)
        if label.startswith("250 OR words, all facets") and a.status == 200:
            j = a.json() or {}
            if j.get("total_relation") != "eq":
                t.rec.fail(c, label, a.status, "track_total_hits true but total_relation is not eq")
    q250 = " ".join(t.common_words(250))
    t.page(c, "GET 250 words page 100 x 100", [("q", q250), ("page", "100"), ("limit", "100"), ("sort", "price_asc")], S200_400)
    t.page(c, "GET 250 words, 3 brands, category", [("q", q250), ("brand", "Acme Living"), ("brand", "Kestrel"),
                                                    ("brand", "Zed Works"), ("category", "Furniture"),
                                                    ("limit", "100")], S200)
    # A burst: more heavy searches at once than the server has search threads.
    burst = 6 if t.args.quick else 12
    heavy = reqs[0][1]
    threads = [threading.Thread(target=t.search, args=(c, f"burst #{i}", heavy, S200)) for i in range(burst)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def class_malformed_bodies(t, rng):
    c = "malformed_bodies"
    cases = [
        ("not json", b"not json", S400),
        ("truncated object", b'{"q": "sofa"', S400),
        ("truncated string", b'{"q": "so', S400),
        ("truncated number", b'{"limit": 1', S400),
        ("truncated escape", b'{"q": "\\u00', S400),
        ("trailing comma", b'{"q": "sofa",}', S400),
        ("single quotes", b"{'q': 'sofa'}", S400),
        ("comments", b'{"q": "sofa" /* hi */}', S400),
        ("100 nested arrays", b"[" * 100 + b"]" * 100, S400),
        ("100 nested in q", b'{"q": ' + b"[" * 100 + b"]" * 100 + b"}", S400),
        ("100 nested objects", b'{"filters": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}", S400),
        ("100 nested brand", b'{"filters": {"brand": ' + b"[" * 100 + b'"x"' + b"]" * 100 + b"}}", S400),
        ("32000 nested arrays", b"[" * 32000 + b"]" * 32000, S400),
        ("60000 open brackets", b"[" * 60000, S400),
        ("70 KB body", jdump({"q": "sofa", "pad": "a" * 70000}).encode(), S413),
        ("65537 bytes", b'{"q": "sofa"}' + b" " * (BODY_LIMIT + 1 - 13), S413),
        ("65536 bytes", b'{"q": "sofa"}' + b" " * (BODY_LIMIT - 13), S200),
        ("binary garbage", bytes(rng.randrange(256) for _ in range(2000)), S400),
        ("empty body", b"", S400),
        ("whitespace body", b" \r\n\t ", S400),
        ("string", b'"sofa"', S400),
        ("number", b"123", S400),
        ("null", b"null", S400),
        ("true", b"true", S400),
        ("array", b'[{"q": "sofa"}]', S400),
        ("two objects", b'{"q": "a"}{"q": "b"}', S400),
        ("trailing garbage", b'{"q": "sofa"} xyz', S400),
        ("trailing NUL", b'{"q": "sofa"}\x00', S400),
        ("duplicate keys", b'{"q": "sofa", "q": "lamp"}', S200_400),
        ("duplicate limit", b'{"q": "sofa", "limit": 5, "limit": 1e999}', S400),
        ("unknown key", b'{"qq": "sofa"}', S400),
        ("unknown key long", jdump({"k" * 5000: 1}).encode(), S400),
        ("unknown filter", b'{"filters": {"colour": "red"}}', S400),
        ("escaped NUL in q", b'{"q": "so\\u0000fa"}', S200),
        ("raw NUL in q", b'{"q": "so\x00fa"}', S400),
        ("raw newline in q", b'{"q": "so\nfa"}', S400),
        ("invalid UTF-8", b'{"q": "\xff\xfe"}', S200_400),
        ("overlong UTF-8", b'{"q": "\xc0\xaf"}', S200_400),
        ("UTF-8 surrogate", b'{"q": "\xed\xa0\x80"}', S200_400),
        ("truncated UTF-8", b'{"q": "\xe2\x82"}', S200_400),
        ("invalid UTF-8 key", b'{"\xff": 1}', S400),
        ("escaped lone surrogate", b'{"q": "\\ud800 sofa"}', S200_400),
        ("escaped reversed pair", b'{"q": "\\udc00\\ud800"}', S200_400),
        ("bad escape", b'{"q": "\\x41"}', S400),
        ("BOM", b'\xef\xbb\xbf{"q": "sofa"}', S200_400),
        ("UTF-16", '{"q": "sofa"}'.encode("utf-16"), S400),
        ("NaN literal", b'{"limit": NaN}', S400),
        ("Infinity literal", b'{"limit": Infinity}', S400),
        ("hex number", b'{"limit": 0x10}', S400),
        ("leading zeros", b'{"limit": 010}', S400),
        ("plus number", b'{"limit": +5}', S400),
        ("bare minus", b'{"limit": -}', S400),
        ("dot number", b'{"limit": .5}', S400),
        ("exp without digits", b'{"limit": 1e}', S400),
        ("3000 unknown keys", ("{" + ",".join(f'"k{i}": {i}' for i in range(3000)) + "}").encode(), S400),
        ("many facets", jdump({"facets": ["brand"] * 33}).encode(), S400),
        ("many boosts", jdump({"q": "x", "boost": [{"field": "rating", "weight": 1}] * 9}).encode(), S400),
        ("many fields", jdump({"q": "x", "fields": ["title"] * 6000}).encode(), S200_400),
        ("huge brand list", jdump({"filters": {"brand": [f"b{i}" for i in range(6000)]}}).encode(), S200_400),
        ("long category", jdump({"filters": {"category": " > ".join(["A"] * 10000)}}).encode(), S200_400),
    ]
    wrong = {
        "q": [1, [], {}, True],
        "operator": [1, "xor", None, []],
        "syntax": [1, "weird", None],
        "limit": ["10", True, None, [], {}],
        "offset": ["0", False, [1]],
        "filters": [[], "x", 1, None],
        "facets": ["brand", {}, 1, [1], [{}], [{"field": 1}], [{"field": "price", "ranges": "x"}],
                   [{"field": "price", "ranges": []}], [{"field": "price", "ranges": [1]}],
                   [{"field": "price", "ranges": [{"from": "a"}]}], [{"field": "price", "ranges": [{"x": 1}]}],
                   [{"field": "nosuchfield"}], [{"field": "brand", "size": "5"}], [{"field": "brand", "bogus": 1}]],
        "sort": [1, "nosuch", "price_asc_desc", None, ["price_asc"], "title_asc"],
        "search_after": ["x", [], [1], [1, 2, 3], {}, None],
        "boost": [1, "nosuchfield", [{"field": "title"}], [{"field": "rating", "weight": "x"}],
                  [{"field": "rating", "modifier": "exp"}], [{}], [1], {"weight": 1}],
        "ranking": [1, [], "x", {"nosuch": 1}, {"rescore_window": "x"}, {"typo": "yes"}, {"typo_keep": 2}],
        "track_total_hits": ["x", [], 1.5, None],
        "explain": ["yes", 1, None],
        "fields": ["title", [1], {}, [None]],
    }
    for key, values in wrong.items():
        for v in values:
            cases.append((f"{key}={jdump(v)[:40]}", jdump({"q": "sofa", key: v}).encode(), S400 if v is not None else S200_400))
    filter_wrong = [("brand", {}), ("brand", True), ("brand", [1, [2]]), ("brand", [{}]), ("price_min", "10"),
                    ("price_min", []), ("price_min", {}), ("price_min", True), ("in_stock", "yes"), ("in_stock", 1),
                    ("in_stock", [True, 5]), ("category", 1), ("category", {}), ("category", [[]]), ("title", "x"),
                    ("attributes.color", {}), ("attributes.", "x"), ("price_min_max", 5)]
    for k, v in filter_wrong:
        cases.append((f"filters.{k}={jdump(v)[:30]}", jdump({"filters": {k: v}}).encode(), S400 if k not in ("brand", "category", "in_stock", "attributes.color") else S200_400))
    for label, body, expect in cases:
        t.search(c, label, body, expect)
    # Transport variants of a body.
    t.search(c, "chunked body", b'{"q": "sofa"}', S200, chunked=True)
    t.search(c, "chunked 70 KB", jdump({"q": "sofa", "pad": "a" * 70000}).encode(), S413, chunked=True)
    t.search(c, "content-type text/plain", b'{"q": "sofa"}', S200, headers={"Content-Type": "text/plain"})
    t.search(c, "content-type form", b'{"q": "sofa"}', S200_400, headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.post(c, "POST /search?x=1", "/api/v1/search?x=1", b'{"q": "sofa"}', S200_400)
    hdr = b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    t.raw(c, "no content-length, no body", hdr + b"\r\n", {400})
    t.raw(c, "content-length shorter", hdr + b"Content-Length: 5\r\n\r\n" + b'{"q": "sofa"}', {400})
    t.raw(c, "content-length negative", hdr + b"Content-Length: -5\r\n\r\n{}", {400})
    t.raw(c, "content-length huge", hdr + b"Content-Length: 99999999999999999999\r\n\r\n{}", {400, 413})
    t.raw(c, "content-length 2^63", hdr + b"Content-Length: 9223372036854775808\r\n\r\n{}", {400, 413})
    t.raw(c, "content-length 1 GB", hdr + b"Content-Length: 1073741824\r\n\r\n{}", {413})
    t.raw(c, "two content-lengths", hdr + b"Content-Length: 2\r\nContent-Length: 13\r\n\r\n" + b'{"q": "sofa"}', {400})
    t.raw(c, "CL and TE", hdr + b"Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n" + b'{"q": "sofa"}' + b"\r\n0\r\n\r\n", {200, 400})
    t.raw(c, "bad chunk size", hdr + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", {400, 413})
    t.raw(c, "chunk size overflow", hdr + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n", {400, 413})
    t.raw(c, "TE gzip", hdr + b"Transfer-Encoding: gzip\r\n\r\n{}", {400, 413})


def class_query_strings(t, rng):
    c = "query_strings"
    P = "/api/v1/products/search?"
    cases = [
        ("lone %", "q=%", S400),
        ("%z", "q=%z", S400),
        ("%zz", "q=%zz", S400),
        ("%C3 alone", "q=%C3", S400),
        ("%C3 then ASCII", "q=%C3a", S400),
        ("%FF%FE", "q=%FF%FE", S400),
        ("overlong %C0%AF", "q=%C0%AF", S400),
        ("surrogate %ED%A0%80", "q=%ED%A0%80", S400),
        ("%F4%90%80%80 > U+10FFFF", "q=%F4%90%80%80", S400),
        ("% in key", "%=1", S400),
        ("%zz key", "%zz=sofa", S400),
        ("%00 in q", "q=so%00fa", S200),
        ("%00 key", "%00=1", S400),
        ("q=a&q=b", "q=a&q=b", S400),
        ("limit twice", "q=a&limit=5&limit=5", S400),
        ("page twice", "page=1&page=1", S400),
        ("sort twice", "sort=price_asc&sort=price_asc", S400),
        ("min_price twice", "min_price=1&min_price=2", S400),
        ("in_stock twice", "in_stock=true&in_stock=false", S400),
        ("category twice", "category=A&category=B", S400),
        ("brand twice (any-of)", "brand=Acme+Living&brand=Kestrel", S200),
        ("unknown param", "foo=1", S400),
        ("unknown param Q", "Q=sofa", S400),
        ("empty key", "=sofa", S400),
        ("q without =", "q", S200),
        ("q==sofa", "q==sofa", S200),
        ("&&&", "&&&", S200),
        ("trailing &", "q=sofa&", S200),
        ("only ?", "", S200),
        ("plus signs", "q=oak+table+%2B+chair", S200),
        ("semicolons", "q=sofa;limit=5", S200),
        ("8 KB q", "q=" + "a" * 8000, S400),
        ("8 KB q escaped", "q=" + "%41" * 2700, S400),
        ("8 KB of brands", "&".join(f"brand=b{i}" for i in range(900)), S200),
        ("8 KB of attributes", "&".join(f"attributes.color=c{i}" for i in range(600)), S200_400),
        ("8 KB unknown params", "&".join(f"x{i}=1" for i in range(1000)), S400),
        ("attributes. empty key", "attributes.=red", S200_400),
        ("attributes.. ", "attributes..=red", S200_400),
        ("attributes.color twice", "attributes.color=red&attributes.color=blue", S200),
        ("attributes.unknown", "attributes.nosuchkey=red", S200_400),
        ("attributes long key", "attributes." + "k" * 1000 + "=x", S200_400),
        ("attributes NUL key", "attributes.%00=x", S200_400),
        ("long category", "category=" + urllib.parse.quote(" > ".join(["Furniture"] * 700)), S200_400),
        ("brand NUL", "brand=%00", S200),
        ("sort long", "sort=" + "x" * 5000, S400),
        ("sort unknown", "sort=title_asc", S400),
        ("page empty", "page=", S200),
        ("limit empty", "limit=", S200),
        ("in_stock empty", "in_stock=", S200),
        ("limit 0x10", "limit=0x10", S400),
        ("unicode raw-escaped q", "q=" + urllib.parse.quote("caf\u00e9 \u2603 \U0001f6cb"), S200),
    ]
    for label, query, expect in cases:
        t.page(c, label, query, expect)
    # Raw request targets http.client would refuse to send.
    base = b"GET /api/v1/products/search?%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    t.raw(c, "raw UTF-8 in query", base % "q=caf\u00e9".encode(), {200, 400})
    t.raw(c, "raw invalid UTF-8 in query", base % b"q=\xff\xfe", {200, 400})
    t.raw(c, "raw space in query", base % b"q=oak table", {400})
    t.raw(c, "raw tab in query", base % b"q=oak\ttable", {400})
    t.raw(c, "raw NUL in query", base % b"q=oak\x00table", {400})
    t.raw(c, "fragment", base % b"q=sofa#frag", {200, 400})
    t.raw(c, "100 KB query string", base % (b"q=" + b"a" * 100_000), {400, 414, 431})
    t.raw(c, "1 MB query string", base % (b"q=" + b"a" * 1_000_000), {400, 414, 431})
    t.get(c, "openapi.json with query garbage", "/api/v1/openapi.json?%zz", {200, 400})
    t.get(c, "healthz with params", "/healthz?x=%zz&y", {200, 400})
    # Autocomplete: every bad parameter a clear 400, hostile text just text.
    S = "/api/v1/suggest?"
    for label, query, expect in [
        ("suggest empty", "", S200), ("suggest q", "q=so", S200), ("suggest one letter", "q=s", S200),
        ("suggest trailing space", "q=sofa+", S200), ("suggest unicode", "q=" + urllib.parse.quote("caf\u00e9 \u2603"), S200),
        ("suggest markup", "q=" + urllib.parse.quote("<img src=x onerror=alert(1)> so"), S200),
        ("suggest 201 bytes", "q=" + "a" * 201, S400), ("suggest 8 KB", "q=" + "a" * 8000, S400),
        ("suggest %zz", "q=%zz", S400), ("suggest limit 0", "q=a&limit=0", S400), ("suggest limit 21", "q=a&limit=21", S400),
        ("suggest limit -1", "q=a&limit=-1", S400), ("suggest limit huge", "q=a&limit=" + "9" * 40, S400),
        ("suggest limit 1e3", "q=a&limit=1e3", S400), ("suggest limit twice", "q=a&limit=2&limit=3", S400),
        ("suggest unknown param", "q=a&x=1", S400), ("suggest q twice", "q=a&q=b", S400),
    ]:
        t.get(c, label, S + query, expect)
    # Analytics (issue 19). This server has no commerce database: events are 503 whatever the
    # body, reports need the token first; never a 500, never a crash. Bad bodies and parameters
    # with the database are in CommerceRoutesTests.
    S503 = {400, 413, 503}
    for label, body in [
        ("events empty", b""), ("events not json", b"{"), ("events array", b"[1]"), ("events huge at", b'{"events": [{"at": 1e300}]}'),
        ("events deep", b'{"events": ' + b"[" * 3000 + b"]" * 3000 + b"}"), ("events markup", jdump({"events": [{"type": "<script>", "session": "<b>"}]})),
        ("events 2 MB", b'{"events": ["' + b"x" * (2 << 20) + b'"]}'),
    ]:
        t.post(c, label, "/api/v1/events", body, S503)
    for q in ["", "from=2026-13-01", "from=%zz", "limit=" + "9" * 40, "to=2026-05-01&from=2026-06-01", "x=1"]:
        t.send(c, "analytics queries " + q, "GET", "/api/v1/analytics/queries?" + q, expect={400, 401, 403, 503})
        t.send(c, "analytics funnel " + q, "GET", "/api/v1/analytics/funnel?" + q, expect={400, 401, 403, 503})
    # The shopper headers of a search are data: odd ones never fail the search.
    for label, v in [("long", "s" * 2000), ("markup", "<img src=x>"), ("empty", "")]:
        t.send(c, "search with session header " + label, "GET", "/api/v1/products/search?q=sofa", expect={200},
               headers={"X-Aisle-Session": v, "X-Aisle-Device": v})
    # Native search of a --data index: without --data every name is unknown.
    t.post(c, "search ?index= unknown", "/api/v1/search?index=nope", b'{"q": "sofa"}', {400, 404})
    t.post(c, "search ?index= twice", "/api/v1/search?index=a&index=b", b'{"q": "sofa"}', S400)
    t.post(c, "search unknown parameter", "/api/v1/search?foo=1", b'{"q": "sofa"}', S400)
    t.post(c, "search ?index=%zz", "/api/v1/search?index=%zz", b'{"q": "sofa"}', S400)


def quote_id(x):
    return urllib.parse.quote(x, safe="")


def recommendations(t, c, label, id_path, query=None, expect=S200, pid=None, limit=8):
    """GET /api/v1/products/{id_path}/recommendations[?query], judged by check_recommendations."""
    path = "/api/v1/products/" + id_path + "/recommendations" + ("" if query is None else "?" + query)
    return t.get(c, label, path, expect, check=check_recommendations(pid, limit), max_ms=t.args.max_search_ms)


def class_recommendations(t, rng):
    """GET /api/v1/products/{id}/recommendations (issue 19): hostile ids and query strings, odd
    products of our own, a burst. This server has no commerce database, so every answer is similar
    products only (the commerce path runs in the analytics class)."""
    c = "recommendations"
    q = quote_id

    def rec(label, id_path, query=None, expect=S200, pid=None, limit=8):
        return recommendations(t, c, label, id_path, query, expect, pid, limit)

    base = t.base_ids or ["G000000"]
    b = base[0]
    for i, pid in enumerate(base[:6 if t.args.quick else 20]):
        rec(f"base id #{i}", q(pid), None, S200, pid)
    rec("limit 1", q(b), "limit=1", S200, b, 1)
    rec("limit 50", q(b), "limit=50", S200, b, 50)
    # limit: 1 to 50, one value; anything else a 400 naming it.
    for label, v, expect, n in [
        ("-1", "-1", S400, 0), ("0", "0", S400, 0), ("51", "51", S400, 0), ("1e9", "1e9", S400, 0),
        ("abc", "abc", S400, 0), ("empty (default 8)", "", S200, 8), ("1.5", "1.5", S400, 0), ("5.0", "5.0", S400, 0),
        ("0x10", "0x10", S400, 0), ("-0", "-0", S400, 0), ("05", "05", S200, 5), ("%2B5 (+5)", "%2B5", S200_400, 5),
        ("+5 (space 5)", "+5", S400, 0), ("%205", "%205", S400, 0), ("40 nines", "9" * 40, S400, 0),
        ("5,000 digits", "1" * 5000, S400, 0), ("%00", "%00", S400, 0), ("NaN", "NaN", S400, 0),
        ("Infinity", "Infinity", S400, 0), ("fullwidth 5", q("\uff15"), S400, 0), ("%zz", "%zz", S400, 0),
        ("-9223372036854775808", "-9223372036854775808", S400, 0), ("9223372036854775808", "9223372036854775808", S400, 0),
    ]:
        rec(f"limit {label}", q(b), "limit=" + v, expect, b, n or 8)
    for label, query, expect, n in [
        ("limit twice", "limit=2&limit=2", S400, 8), ("limit twice, one empty", "limit=&limit=3", S400, 8),
        ("1,000 limits", "&".join(["limit=1"] * 1000), S400, 8), ("LIMIT", "LIMIT=5", S400, 8),
        ("unknown q", "q=sofa", S400, 8), ("unknown with limit", "limit=3&x=1", S400, 8), ("unknown %zz value", "x=%zz", S400, 8),
        ("%zz key", "%zz=1", S400, 8), ("%FF key", "%FF=1", S400, 8), ("empty key", "=5", S400, 8),
        ("unicode key", q("caf\u00e9") + "=1", S400, 8), ("markup key", q("<script>") + "=1", S400, 8),
        ("limit without =", "limit", S200, 8), ("&&&", "&&&", S200, 8), ("only ?", "", S200, 8),
        ("trailing &", "limit=3&", S200, 3), ("semicolons", "limit=3;x=1", S400, 8), ("escaped #", "limit=3%23x", S400, 8),
        ("8 KB unknown params", "&".join(f"x{i}=1" for i in range(1000)), S400, 8),
        ("8 KB limit value", "limit=" + "1" * 8000, S400, 8),
        ("8 KB escaped key", "%41" * 2700 + "=1", S400, 8),
    ]:
        rec(f"query {label}", q(b), query, expect, b, n)
    # Hostile ids: at most 512 bytes; bad escapes 400; anything else simply unknown.
    ids = [("2 KB id", "i" * 2048, S400), ("513-byte id", "i" * 513, S400), ("512-byte id", "i" * 512, S404),
           ("60 KB escaped id", "%41" * 20000, {400, 404, 414, 431}), ("%00", "%00", {400, 404}),
           ("a%00b", "a%00b", {400, 404}), ("..", "..", {400, 404}), ("%2E%2E", "%2E%2E", {400, 404}),
           ("%2F", "%2F", {400, 404}), ("a%2Fb", "a%2Fb", S404), ("%2F..%2Fhealthz", "%2F..%2Fhealthz", {400, 404}),
           ("snowman", "%E2%98%83", S404), ("emoji", "%F0%9F%9B%8B", S404),
           ("170 snowmen (510 bytes)", "%E2%98%83" * 170, S404), ("171 snowmen (513 bytes)", "%E2%98%83" * 171, S400),
           ("128 emoji (512 bytes)", "%F0%9F%9B%8B" * 128, S404), ("%FF", "%FF", S400),
           ("overlong %C0%AF", "%C0%AF", S400), ("surrogate %ED%A0%80", "%ED%A0%80", S400), ("%zz", "%zz", S400),
           ("lone %", "%", {400, 404}), ("space", "a%20b", S404), ("plus", "a+b", S404),
           ("markup", q("<script>alert(1)</script>"), S404), ("RTL override", q("\u202eabc"), S404),
           ("combining marks", q("e" + "\u0301" * 100), S404), ("search", "search", S404), ("_bulk", "_bulk", S404),
           ("base id upper-cased", q(b.upper() if b.upper() != b else b.lower()), S404),
           ("base id + space", q(b + " "), S404), ("base id + %00", q(b) + "%00", {400, 404})]
    for label, p, expect in ids:
        rec(f"id {label}", p, None, expect)
    for m in ("POST", "PUT", "PATCH", "DELETE"):
        t.send(c, f"{m} recommendations", m, f"/api/v1/products/{q(b)}/recommendations", b"{}", {401, 404, 405}, token=False)
    t.send(c, "HEAD recommendations", "HEAD", f"/api/v1/products/{q(b)}/recommendations", None, {200, 404, 405},
           token=False, json_error=False)
    t.get(c, "recommendations/ extra segment", f"/api/v1/products/{q(b)}/recommendations/x", {404, 405})
    t.get(c, "no id", "/api/v1/products//recommendations", {400, 404})
    base_raw = b"GET /api/v1/products/%s/recommendations%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    t.raw(c, "raw UTF-8 id", base_raw % ("caf\u00e9".encode(), b""), {400, 404})
    t.raw(c, "raw invalid UTF-8 id", base_raw % (b"\xff\xfe", b""), {400, 404})
    t.raw(c, "raw NUL id", base_raw % (b"a\x00b", b""), {400, 404})
    t.raw(c, "raw space in id", base_raw % (b"a b", b""), {400, 404})
    t.raw(c, "raw 100 KB query string", base_raw % (q(b).encode(), b"?limit=" + b"1" * 100_000), {400, 414, 431})
    t.raw(c, "raw 1 MB query string", base_raw % (q(b).encode(), b"?x=" + b"a" * 1_000_000), {400, 414, 431})
    t.raw(c, "raw space in query", base_raw % (q(b).encode(), b"?limit=1 2"), {400})

    # Odd products of our own (written through the API, deleted at the end): whatever a product
    # lacks or holds, its recommendations answer 200 and follow the rules.
    cat = None
    _, fields = t.product(b)
    if isinstance(fields, dict):
        cat = fields.get("category_path")
    words6k = " ".join(f"w{rng.randrange(10**9)}" for _ in range(6000))
    odd = [("empty product", {}), ("numbers-only title", {"title": "1234 5678 90"}),
           ("out of stock itself", {"title": "Velvet Sofa", "in_stock": False, "price": 0}),
           ("markup everywhere", {"title": "<img src=x onerror=alert(1)> sofa", "brand": "<b>", "category_path": "<script>", "price": 1e-300}),
           ("the dearest product", {"title": " ".join(t.common_words(3)), "price": 1_000_000_000, "category_path": cat or "Furniture"}),
           ("price 0 in a category", {"title": " ".join(t.common_words(2)), "price": 0, "category_path": cat or "Furniture"}),
           ("stop words only", {"title": "the and of with for a an"}),
           ("one word 5,000 times", {"title": (t.words[0] + " ") * 5000}),
           ("6,000 distinct words", {"title": words6k}),
           ("unicode title", {"title": "caf\u00e9 \u2603 \U0001f6cb \ufdfd \u202e sofa", "category_path": "\u2603 > \U0001f6cb"}),
           ("700-level category", {"title": "oak table", "category_path": " > ".join(["Furniture"] * 700)})]
    for i, (label, doc) in enumerate(odd):
        pid = f"{t.prefix}rec-{i}"
        t.remember(pid)
        put = t.send(c, f"PUT {label}", "PUT", "/api/v1/products/" + q(pid) + "?refresh=true", jdump(doc), {200, 201, 400})
        rec(f"recommendations of {label}", q(pid), None, {200} if put.status in (200, 201) else S404, pid)
    long_id = t.prefix + "x" * (512 - len(t.prefix))
    t.remember(long_id)
    put = t.send(c, "PUT a 512-byte id", "PUT", "/api/v1/products/" + q(long_id) + "?refresh=true",
                 jdump({"title": " ".join(t.common_words(2))}), {200, 201})
    rec("recommendations of a 512-byte id", q(long_id), "limit=50", {200} if put.status in (200, 201) else S404, long_id, 50)
    gone = f"{t.prefix}rec-gone"
    t.remember(gone)
    t.send(c, "PUT then DELETE", "PUT", "/api/v1/products/" + q(gone) + "?refresh=true", jdump({"title": "oak table"}), {200, 201})
    t.send(c, "DELETE it", "DELETE", "/api/v1/products/" + q(gone) + "?refresh=true", None, {200, 204})
    rec("recommendations of a deleted product", q(gone), None, S404)

    # A burst: the costliest (limit 50) from many threads at once; 503 with Retry-After allowed.
    burst = 8 if t.args.quick else 24
    threads = [threading.Thread(target=rec, args=(f"burst #{i}", q(base[i % len(base)]), "limit=50", S200, base[i % len(base)], 50))
               for i in range(burst)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


BEHAVIOUR_CASES = [
    ("on", {"behaviour": True}, S200), ("weight 10", {"behaviour": True, "behaviour_weight": 10}, S200),
    ("weight 0", {"behaviour": True, "behaviour_weight": 0}, S200), ("off with weight", {"behaviour": False, "behaviour_weight": 10}, S200),
    ("weight 10.5", {"behaviour": True, "behaviour_weight": 10.5}, S400), ("weight -1", {"behaviour": True, "behaviour_weight": -1}, S400),
    ("weight string", {"behaviour": True, "behaviour_weight": "x"}, S400), ("weight null", {"behaviour": True, "behaviour_weight": None}, S200_400),
    ("window 1", {"behaviour": True, "behaviour_window": 1}, S200), ("window 1000", {"behaviour": True, "behaviour_window": 1000}, S200),
    ("window 1001", {"behaviour": True, "behaviour_window": 1001}, S400), ("window 0", {"behaviour": True, "behaviour_window": 0}, S400),
    ("window 2.5", {"behaviour": True, "behaviour_window": 2.5}, S400), ("window -1", {"behaviour": True, "behaviour_window": -1}, S400),
    ("window 1e18", {"behaviour": True, "behaviour_window": 1e18}, S400), ("behaviour 'yes'", {"behaviour": "yes"}, S400),
    ("behaviour 1", {"behaviour": 1}, S400), ("behaviour []", {"behaviour": []}, S400),
]


def behaviour_requests(t, c, q):
    """The opt-in behaviour ranking option: bad values a 400 naming them; with it on, any page,
    sort and window answers with numeric scores."""
    for label, ranking, expect in BEHAVIOUR_CASES:
        t.search(c, f"behaviour {label}", {"q": q, "ranking": ranking}, expect)
    t.search(c, "behaviour weight 1e999", '{"q": "%s", "ranking": {"behaviour": true, "behaviour_weight": 1e999}}' % q, S400)
    on = {"behaviour": True, "behaviour_weight": 10, "behaviour_window": 1000}
    for label, extra in [("page 1,000", {"limit": 1000}), ("deep offset", {"offset": 9990, "limit": 10}),
                         ("sort price_asc", {"sort": "price_asc"}), ("facets", {"facets": ["brand", "category", "price"]}),
                         ("explain", {"explain": True, "limit": 5}), ("operator and", {"operator": "and"}),
                         ("every product", {"q": ""}), ("search_after", {"sort": "price_asc", "search_after": [10.0, "G000001"]}),
                         ("with boosts", {"boost": [{"field": f, "weight": 0.5} for f in t.boost_fields[:2]]}),
                         ("feedback off", {"ranking": dict(on, feedback=False)})]:
        body = dict({"q": q, "ranking": on, "limit": 20}, **extra)
        t.search(c, f"behaviour on, {label}", body, S200)


def analytics_stores(args):
    """(database URL, Redis URL) for the analytics class, or None with the reason it is skipped."""
    if args.no_commerce:
        return None, "--no-commerce"
    if not (args.database and args.redis):
        return None, "no stores (give --database and --redis, or AISLE_TEST_DATABASE_URL and AISLE_TEST_REDIS_URL)"
    return (args.database, args.redis), None


def class_analytics(t, rng):
    """Issue 19 with the commerce database: the behaviour ranking option, POST /api/v1/events with
    hostile purchase lines (and NUL bytes), reports' parameters, autocomplete and recommendations
    fed by what was recorded. A second `aisle serve` on the same index (read-only) gets a fresh
    PostgreSQL database and Redis; every purchase it accepted must show in the funnel report."""
    c = "analytics"
    words = t.common_words(3)
    behaviour_requests(t, c, words[0])           # the main server: no analytics, no signals
    stores, why = analytics_stores(t.args)
    if stores is None:
        print(f"abuse: analytics: the commerce cases are skipped: {why}", flush=True)
        return {"commerce": "skipped"}
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pgwire import PG
    db_name = f"aisle_abuse_{os.getpid()}"
    base_db, redis = stores
    admin = PG(base_db)
    admin.query(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    admin.query(f"CREATE DATABASE {db_name}")
    admin.close()
    db = re.sub(r"^(postgres(?:ql)?://[^/]+)(/[^?]*)?", r"\1/" + db_name, base_db)
    redis = re.sub(r"/\d*$", "", redis.rstrip("/")) + "/12"
    srv = Server(t.server.aisle, t.server.idx, t.server.work, t.token, name="commerce",
                 env={"DATABASE_URL": db, "REDIS_URL": redis,
                      "AISLE_ATTRIBUTES": os.path.join(t.server.work, "product_attributes.json")},
                 args=["--search-feedback-seconds", "1"])
    details = {}
    try:
        srv.start()
        ct = Tester(srv, t.rec, t.args)
        ct.deaths, ct.base_ids, ct.words, ct.boost_fields, ct.prefix = t.deaths, t.base_ids, t.words, t.boost_fields, t.prefix
        details = analytics_with_commerce(ct, c, rng, words)
    finally:
        srv.stop()
        try:
            admin = PG(base_db)
            admin.query(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
            admin.close()
        except (SystemExit, RuntimeError, OSError) as e:
            print(f"abuse: analytics: could not drop {db_name}: {e}", flush=True)
    return details


def analytics_with_commerce(ct, c, rng, words):
    q = quote_id
    session = {"X-Aisle-Session": "abuse-shopper", "X-Aisle-Device": "desktop"}
    expected = [0]                  # purchases accepted (202), each must reach the funnel report
    orders = iter(range(1, 10**9))

    def purchase(**kw):
        e = {"type": "purchase", "session": "abuse-shopper", "device": "desktop", "order_id": f"abuse-o{next(orders)}"}
        e.update(kw)
        return e

    def events(label, evs, expect, body=None):
        ans = ct.post(c, label, "/api/v1/events", body if body is not None else {"events": evs}, expect)
        if ans.status == 202:
            j = ans.json() or {}
            if j.get("dropped"):
                ct.rec.fail(c, label, 202, f"events dropped with an empty queue: {ans.body[:200]!r}")
            expected[0] += sum(1 for e in evs if isinstance(e, dict) and e.get("type") == "purchase")
        return ans

    # Searches the server records (with words, a session and a device), then clicks on their results.
    shown = {}
    for w in words[:2]:
        ans = ct.send(c, f"search {w!r} with a session", "GET", "/api/v1/products/search?" + qs({"q": w}), None, S200,
                      token=False, headers=session)
        j = ans.json() or {}
        if ans.status == 200 and not isinstance(j.get("query_id"), str):
            ct.rec.fail(c, f"search {w!r} with a session", 200, "no query_id in the answer")
        shown[w] = (j.get("query_id"), [r["id"] for r in j.get("results", [])[:3]])
    clicks = [{"type": "click", "session": "abuse-shopper", "device": "desktop", "query_id": qid, "product_id": pid, "position": i + 1}
              for qid, ids in shown.values() if qid for i, pid in enumerate(ids) for _ in range(3)]
    if clicks:
        events("clicks on the results", clicks, {202})
    top = [ids[0] for _, ids in shown.values() if ids] or ct.base_ids[:1] or ["G000000"]

    # Purchase lines: an array of at most 100 {product_id (1-512 bytes), quantity (1-10000)}.
    line = lambda pid, **kw: dict({"product_id": pid}, **kw)
    cases = [
        ("lines of the bought products", [purchase(lines=[line(p, quantity=2) for p in top])], {202}),
        ("lines an object", [purchase(lines={"product_id": "p"})], S400), ("lines a string", [purchase(lines="p1")], S400),
        ("lines a number", [purchase(lines=5)], S400), ("lines true", [purchase(lines=True)], S400),
        ("lines null (an order without products)", [purchase(lines=None)], {202}),
        ("lines [] (an order without products)", [purchase(lines=[])], {202}),
        ("lines [[]]", [purchase(lines=[[]])], S400), ("lines [null]", [purchase(lines=[None])], S400),
        ("lines [\"p1\"]", [purchase(lines=["p1"])], S400), ("lines [{}]", [purchase(lines=[{}])], S400),
        ("line product_id null", [purchase(lines=[line(None)])], S400), ("line product_id 5", [purchase(lines=[line(5)])], S400),
        ("line product_id object", [purchase(lines=[line({"a": 1})])], S400), ("line product_id empty", [purchase(lines=[line("")])], S400),
        ("line unknown key", [purchase(lines=[line("p", price=1)])], S400),
        ("100 lines", [purchase(lines=[line(f"p{i}") for i in range(100)])], {202}),
        ("101 lines", [purchase(lines=[line(f"p{i}") for i in range(101)])], S400),
        ("10,000 lines", [purchase(lines=[line(f"p{i}") for i in range(10_000)])], S400),
        ("60,000 lines (1.5 MB)", [purchase(lines=[line(f"p{i}") for i in range(60_000)])], S413),
        ("bad quantity in line 57 of 100", [purchase(lines=[line(f"p{i}", quantity=10_001 if i == 57 else 1) for i in range(100)])], S400),
        ("the same product on two lines", [purchase(lines=[line("p1"), line("p1", quantity=3)])], {202}),
        ("lines with product_id", [purchase(lines=[line("p1")], product_id="p2")], S400),
        ("lines with quantity", [purchase(lines=[line("p1")], quantity=2)], S400),
        ("lines [] with product_id", [purchase(lines=[], product_id="p2")], {202, 400}),
        ("lines null with product_id (one line)", [purchase(lines=None, product_id="p2")], {202}),
        ("quantity without product_id", [purchase(quantity=2)], S400),
        ("lines on a click", [{"type": "click", "session": "s", "device": "d", "query_id": "q", "product_id": "p", "position": 1,
                               "lines": [line("p")]}], S400),
        ("lines on a view", [{"type": "view", "session": "s", "device": "d", "product_id": "p", "lines": []}], S400),
        ("lines on add_to_cart", [{"type": "add_to_cart", "session": "s", "device": "d", "product_id": "p", "lines": [line("p")]}], S400),
        ("purchase without order_id", [{"type": "purchase", "session": "s", "device": "d", "lines": [line("p")]}], S400),
        ("order_id 513 bytes", [purchase(order_id="o" * 513, lines=[line("p")])], S400),
        ("line product_id 512 bytes", [purchase(lines=[line("p" * 512)])], {202}),
        ("line product_id 513 bytes", [purchase(lines=[line("p" * 513)])], S400),
        ("line product_id 64 KB", [purchase(lines=[line("p" * 65536)])], S400),
        ("line product_id 170 snowmen (510 bytes)", [purchase(lines=[line("\u2603" * 170)])], {202}),
        ("line product_id 171 snowmen (513 bytes)", [purchase(lines=[line("\u2603" * 171)])], S400),
        ("line product_id 128 emoji (512 bytes)", [purchase(lines=[line("\U0001f6cb" * 128)])], {202}),
        ("line product_id markup", [purchase(lines=[line("<img src=x onerror=alert(1)>"), line("'; DROP TABLE orders; --")])], {202}),
        ("line product_id 512-byte base id", [purchase(lines=[line(ct.prefix + "x" * (512 - len(ct.prefix)))])], {202}),
        ("1,000 purchases of one line", [purchase(lines=[line(top[i % len(top)])]) for i in range(1000)], {202}),
        ("1,001 events", [purchase() for _ in range(1001)], S413),
        ("a good purchase and a bad one", [purchase(lines=[line("p1")]), purchase(lines=[line("p1", quantity=0)])], S400),
    ]
    for label, value in [("0", 0), ("-1", -1), ("10,001", 10_001), ("1.5", 1.5), ("\"2\"", "2"), ("1e300", 1e300),
                         ("2^63-1", 2**63 - 1), ("2^64", 2**64), ("10^20", 10**20), ("true", True), ("[]", [])]:
        cases.append((f"line quantity {label}", [purchase(lines=[line("p1", quantity=value)])], S400))
    for label, value in [("1", 1), ("10,000", 10_000), ("null (default 1)", None)]:
        cases.append((f"line quantity {label}", [purchase(lines=[line("p1", quantity=value)])], {202} if value is not None else {202, 400}))
    for label, evs, expect in cases:
        events(f"purchase {label}", evs, expect)
    head, tail = b'{"events": [{"type": "purchase", "session": "s", "device": "d", "order_id": "o", ', b"}]}"
    raw_cases = [
        ("lines nested 3,000 deep", head + b'"lines": ' + b"[" * 3000 + b"]" * 3000 + tail, S400),
        ("line quantity 1e999", head + b'"lines": [{"product_id": "p", "quantity": 1e999}]' + tail, S400),
        ("line product_id lone surrogate", head + b'"lines": [{"product_id": "\\ud800"}]' + tail, {202, 400}),
        ("line product_id invalid UTF-8", head + b'"lines": [{"product_id": "\xff\xfe"}]' + tail, {202, 400}),
        ("lines key twice", head + b'"lines": [], "lines": [{"product_id": "p"}]' + tail, {202, 400}),
    ]
    for label, body, expect in raw_cases:
        ans = ct.post(c, f"purchase {label}", "/api/v1/events", body, expect)
        if ans.status == 202:
            expected[0] += 1
    # NUL bytes: PostgreSQL text cannot hold them. Whatever the answer, the good purchase sent with
    # them must not be lost (the funnel check below).
    for label, bad in [("line product_id", purchase(lines=[line("a\u0000b")])), ("session", purchase(session="s\u0000", lines=[line("p1")])),
                       ("device", purchase(device="d\u0000", lines=[line("p1")])), ("order_id", purchase(order_id="o\u0000", lines=[line("p1")]))]:
        events(f"NUL in a purchase's {label}, with a good purchase", [purchase(lines=[line(top[0])]), bad], {202, 400})
    ct.send(c, "search with a NUL in q, then a good purchase", "GET", "/api/v1/products/search?q=so%00fa", None, S200,
            token=False, headers=session)
    events("a good purchase after the NUL search", [purchase(lines=[line(top[0])])], {202})
    ct.raw(c, "search with a NUL in X-Aisle-Session", b"GET /api/v1/products/search?q=" + words[0].encode()
           + b" HTTP/1.1\r\nHost: x\r\nX-Aisle-Session: a\x00b\r\nConnection: close\r\n\r\n", {200, 400})
    events("a good purchase after the NUL session header", [purchase(lines=[line(top[0])])], {202})

    # Every accepted purchase reaches the funnel (rollups are written within a few seconds).
    got, deadline = None, time.monotonic() + 20
    while time.monotonic() < deadline:
        a = request(ct.port, "GET", "/api/v1/analytics/funnel", headers=ct.auth(), timeout=15)
        if a.status == 200:
            got = sum(int(d.get("purchases", 0)) for d in (a.json() or {}).get("days", []))
            if got >= expected[0]:
                break
        time.sleep(0.5)
    ct.rec.add(c, "every accepted purchase is in the funnel", 200 if got == expected[0] else "lost", 0.0)
    if got != expected[0]:
        log = [x for x in ct.server.log_tail(100_000).splitlines() if x.startswith("analytics")]
        short = [re.sub(r'"\{[^;]{60,}', lambda m: m.group(0)[:60] + "...", x)[:240] for x in log[-2:]]
        ct.rec.fail(c, "every accepted purchase is in the funnel", got,
                    f"{expected[0]} purchases were accepted (202), the funnel report counts {got}; the server's log has "
                    f"{len(log)} analytics error(s): {' | '.join(short) or '(none)'}")

    # Reports with the token: bad parameters a 400, any range answered.
    for query, expect in [("", S200), ("limit=1000", S200), ("limit=0", S400), ("limit=1001", S400), ("limit=1&limit=2", S400),
                          ("limit=" + "9" * 40, S400), ("from=2026-13-01", S400), ("from=2026-02-30", S400), ("from=%zz", S400),
                          ("x=1", S400), ("from=0001-01-01&to=9999-12-31", S200_400), ("from=2026-06-01&to=2026-05-01", S200_400),
                          ("from=" + "9" * 5000, S400), ("from=" + q("2026-01-01\u0000"), S400)]:
        for report in ("queries", "zero-results", "funnel"):
            e = S400 if report == "funnel" and "limit" in query else expect     # the funnel takes no limit
            ct.send(c, f"report {report} {query[:40]}", "GET", f"/api/v1/analytics/{report}" + ("?" + query if query else ""),
                    None, e, max_ms=ct.args.max_search_ms)

    # What search learned (refreshed every second): autocomplete and the behaviour signal.
    time.sleep(2.5)
    for w in words[:2]:
        for label, typed in [("prefix", w[:2]), ("word", w + " "), ("markup", "<img " + w[:2]), ("NUL", w[:2] + "\u0000")]:
            ct.get(c, f"suggest {label} of {w!r}", "/api/v1/suggest?" + qs({"q": typed}), S200 if label != "NUL" else S200_400)
        behaviour_requests(ct, c, w)
    # Recommendations read bought together from the commerce database here.
    for i, pid in enumerate(top + ct.base_ids[:3]):
        recommendations(ct, c, f"recommendations with commerce #{i}", q(pid), "limit=50", S200, pid, 50)
    recommendations(ct, c, "recommendations with commerce, unknown id", "nope-" + q("\u2603"), None, S404)
    recommendations(ct, c, "recommendations with commerce, 513-byte id", "i" * 513, None, S400)
    return {"purchases accepted": expected[0], "in the funnel": got}


def class_writes(t, rng):
    c = "writes"
    pfx = t.prefix + "w-"
    pid = pfx + "a"
    quoted = urllib.parse.quote(pid, safe="")
    path = "/api/v1/products/" + quoted
    prod = make_product(rng, pid)
    prod["price"], prod["rating"] = 123.45, 4.5
    t.remember(pid)
    t.send(c, "PUT good", "PUT", path + "?refresh=true", prod, S200)
    status, got = t.product(pid)
    if status != 200 or got is None or got.get("price") != 123.45:
        t.rec.fail(c, "PUT good", status, f"GET after PUT ?refresh=true: {got}")

    def unchanged(label, field="price", value=123.45):
        st, g = t.product(pid)
        if st != 200 or g is None or g.get(field) != value:
            t.rec.fail(c, label, st, f"after the refused write, {field} is {None if g is None else g.get(field, '<missing>')!r}, expected {value!r} (product: {g})")

    # Auth.
    bad_auth = [("no token", {}), ("wrong token", {"Authorization": "Bearer nope"}),
                ("lowercase bearer", {"Authorization": f"bearer {t.token}"}),
                ("token + x", {"Authorization": f"Bearer {t.token}x"}),
                ("two spaces", {"Authorization": f"Bearer  {t.token}"}),
                ("token prefix", {"Authorization": f"Bearer {t.token[:-1]}"}),
                ("basic auth", {"Authorization": "Basic dXNlcjpwYXNz"}),
                ("10 KB token", {"Authorization": "Bearer " + "x" * 10000}),
                ("empty bearer", {"Authorization": "Bearer "})]
    for label, h in bad_auth:
        t.send(c, f"PATCH {label}", "PATCH", path, {"price": 1}, S401, token=False, headers=h)
        t.send(c, f"PUT {label}", "PUT", path, dict(prod, price=2), S401, token=False, headers=h)
    t.send(c, "DELETE no token", "DELETE", path, None, S401, token=False)
    t.send(c, "DELETE wrong token", "DELETE", path, None, S401, token=False, headers={"Authorization": "Bearer x"})
    t.send(c, "_bulk no token", "POST", "/api/v1/products/_bulk", '{"op":"delete","id":"%s"}\n' % pid, S401, token=False)
    t.send(c, "_bulk wrong token", "POST", "/api/v1/products/_bulk", '{"op":"delete","id":"%s"}\n' % pid, S401,
           token=False, headers={"Authorization": "Bearer " + t.token + "x"})
    t.send(c, "PUT no token 70 KB", "PUT", path, jdump(dict(prod, description="d" * 70000)), {401, 413}, token=False)
    unchanged("after 401s")
    st, _ = t.product(pid)
    if st != 200:
        t.rec.fail(c, "DELETE no token", st, "product gone after unauthorized DELETE")

    # PATCH with bad numbers: 400 and the price stays.
    patches = [("price 1e999", '{"price": 1e999}'), ("price -1e999", '{"price": -1e999}'), ("price -1", '{"price": -1}'),
               ("price 1e300", '{"price": 1e300}'), ("price 1e16", '{"price": 1e16}'), ("price 2e9", '{"price": 2e9}'),
               ("price -0.01", '{"price": -0.01}'), ("rating 1e308", '{"rating": 1e308}'), ("rating 5.01", '{"rating": 5.01}'),
               ("rating -0.5", '{"rating": -0.5}'), ("review_count 1e300", '{"review_count": 1e300}'),
               ("review_count -1", '{"review_count": -1}'),
               ("price string", '{"price": "12"}'), ("price array", '{"price": [12]}'), ("price object", '{"price": {}}'),
               ("in_stock string", '{"in_stock": "yes"}'), ("title", '{"title": "x"}'), ("unknown", '{"nosuch": 1}'),
               ("price ok then 1e999", '{"price": 5, "rating": 1e999}'), ("dup price", '{"price": 7, "price": 1e999}'),
               ("price 400 digits", '{"price": 1' + "0" * 400 + "}"), ("array", "[]"), ("string", '"x"'),
               ("invalid JSON", "{price: 1}"), ("truncated", '{"price": 1'), ("empty", ""),
               ("invalid UTF-8", b'{"price": 1, "\xff": 2}'), ("100 nested", '{"price": ' + "[" * 100 + "]" * 100 + "}")]
    for label, body in patches:
        t.send(c, f"PATCH {label}", "PATCH", path + "?refresh=true", body, S400)
        unchanged(f"PATCH {label}")
    t.send(c, "PATCH 70 KB", "PATCH", path, jdump({"price": 1, "x": "a" * 70000}), S413)
    unchanged("PATCH 70 KB")
    t.send(c, "PATCH review_count 2.5", "PATCH", path + "?refresh=true", '{"review_count": 2.5}', S200_400)
    unchanged("PATCH review_count 2.5")
    t.send(c, "PATCH {}", "PATCH", path + "?refresh=true", "{}", S200_400)
    unchanged("PATCH {}")
    t.send(c, "PATCH price null", "PATCH", path + "?refresh=true", '{"price": null}', S200_400)
    st, g = t.product(pid)
    t.send(c, "PATCH unknown param", "PATCH", path + "?refresh=true&force=1", '{"price": 9}', S400)
    t.send(c, "PATCH price 12.5", "PATCH", path + "?refresh=true", '{"price": 12.5, "rating": 4}', S200)
    st, g = t.product(pid)
    if st != 200 or g is None or g.get("price") != 12.5 or g.get("rating") != 4:
        t.rec.fail(c, "PATCH price 12.5", st, f"after PATCH ?refresh=true the product is {g}")
    t.send(c, "PATCH price 1e9", "PATCH", path + "?refresh=true", '{"price": 1e9}', S200)
    t.send(c, "PATCH price 0", "PATCH", path + "?refresh=true", '{"price": 0}', S200)
    t.send(c, "PATCH back to 123.45", "PATCH", path + "?refresh=true", '{"price": 123.45, "rating": 4.5}', S200)
    unchanged("PATCH back to 123.45")
    t.send(c, "PATCH unknown id", "PATCH", "/api/v1/products/" + urllib.parse.quote(pfx + "nosuch"), '{"price": 1}', S404)
    t.send(c, "DELETE unknown id", "DELETE", "/api/v1/products/" + urllib.parse.quote(pfx + "nosuch"), None, S404)

    # PUT with bad numbers / bodies: 400 and the product stays as it was.
    puts = [("price 1e999", "price", "1e999"), ("price -1", "price", "-1"), ("price 2e9", "price", "2e9"),
            ("price 1e16", "price", "1e16"), ("rating 5.5", "rating", "5.5"), ("rating 1e308", "rating", "1e308"),
            ("review_count 1e300", "review_count", "1e300"), ("review_count -5", "review_count", "-5"),
            ("price string", "price", '"abc"'), ("price -1e999", "price", "-1e999"),
            ("popularity 1e999", "popularity", "1e999"), ("stock -1e300", "stock", "-1e300"),
            ("price 400 digits", "price", "1" + "0" * 400)]
    for label, key, value in puts:
        body = json.dumps(dict(prod, title="CHANGED " + prod["title"])).replace(
            f'"{key}": {json.dumps(prod.get(key))}', f'"{key}": {value}') if key in prod else \
            json.dumps(dict(prod, title="CHANGED"))[:-1] + f', "{key}": {value}}}'
        t.send(c, f"PUT {label}", "PUT", path + "?refresh=true", body, S400)
        unchanged(f"PUT {label}")
        unchanged(f"PUT {label} (title)", "title", prod["title"])
    put_bodies = [("id mismatch", jdump(dict(prod, id=pfx + "other"))), ("array", "[]"), ("string", '"x"'), ("null", "null"),
                  ("empty", ""), ("invalid JSON", '{"title": '),
                  ("category object", jdump(dict(prod, category={"a": 1}))),
                  ("attributes array", jdump(dict(prod, attributes=[1, 2]))),
                  ("attributes nested 100", jdump(prod)[:-1] + ', "attributes": ' + '{"a":' * 100 + "1" + "}" * 100 + "}"),
                  ("trailing garbage", jdump(prod) + " x"), ("NUL after the object", jdump(prod) + "\x00")]
    for label, body in put_bodies:
        t.send(c, f"PUT {label}", "PUT", path + "?refresh=true", body, S400)
        unchanged(f"PUT {label}")
    # Accepted or refused, but never half-applied: the price stays either way.
    t.send(c, "PUT title number", "PUT", path + "?refresh=true", jdump(dict(prod, title=5)), S200_400)
    unchanged("PUT title number")
    t.send(c, "PUT invalid UTF-8 title", "PUT", path + "?refresh=true",
           jdump(prod).encode().replace(prod["title"].encode(), b"\xff\xfe \xc0\xaf"), S200_400)
    unchanged("PUT invalid UTF-8 title")
    t.send(c, "PUT 70 KB", "PUT", path, jdump(dict(prod, description="d" * 70000)), S413)
    t.send(c, "PUT 2 KB id", "PUT", "/api/v1/products/" + "i" * 2048, jdump(prod), S400)
    t.send(c, "PUT unknown param", "PUT", path + "?refresh=true&x=1", jdump(prod), S400)
    unchanged("PUT 70 KB / 2 KB id")

    # Attribute-key explosion: 4,000 new keys in one PUT.
    boom = pfx + "attrs"
    t.remember(boom)
    attrs = {f"q{i:03x}": "v" for i in range(4000)}
    body = jdump(dict(make_product(rng, boom), attributes=attrs))
    if len(body) > BODY_LIMIT:
        t.rec.fail(c, "PUT 4000 attribute keys", None, f"test bug: body is {len(body)} bytes")
    a = t.send(c, "PUT 4000 attribute keys", "PUT", "/api/v1/products/" + urllib.parse.quote(boom) + "?refresh=true",
               body, S400, max_ms=5000,
               check=lambda a: None if "max_attribute_fields" in a.body.decode("utf-8", "replace")
               else f"400 does not mention max_attribute_fields: {a.body[:200]!r}")
    st, _ = t.product(boom)
    if st != 404:
        t.rec.fail(c, "PUT 4000 attribute keys", st, "the refused product exists")

    # _bulk: good and bad lines mixed.
    b1, b2, b3 = pfx + "b1", pfx + "b2", pfx + "b3"
    t.remember(b1, b2, b3)
    lines = [jdump(dict(make_product(rng, b1), op="upsert")),
             '{"op": "upsert", "id": "%s", "title": "bad", "price": 1e999}' % b3,
             '{"op": "set", "id": "%s", "price": 7}' % pid,
             '{"op": "set", "id": "%s", "rating": 9}' % pid,
             '{"op": "set", "id": "%s", "price": -1}' % pid,
             '{"op": "delete", "id": "%s"}' % (pfx + "nosuch"),
             "{not json",
             "",
             '{"op": "explode", "id": "x"}',
             '{"op": "upsert"}',
             "[1, 2]",
             '{"op": "set", "id": "%s", "price": 1e300}' % pid,
             jdump(dict(make_product(rng, b2), op="upsert"))]
    a = t.send(c, "_bulk mixed", "POST", "/api/v1/products/_bulk?refresh=true", "\n".join(lines) + "\n", S200)
    j = a.json() or {}
    if a.status == 200 and (not j.get("errors") or j.get("rejected")):
        t.rec.fail(c, "_bulk mixed", a.status, f"expected per-line errors: {a.body[:300]!r}")
    for x, want in ((b1, 200), (b2, 200), (b3, 404)):
        st, _ = t.product(x)
        if a.status == 200 and st != want:
            t.rec.fail(c, "_bulk mixed", st, f"GET {x}: {st}, expected {want}")
    unchanged("_bulk mixed (price set to 7)", "price", 7)
    t.send(c, "PATCH back to 123.45 (2)", "PATCH", path + "?refresh=true", '{"price": 123.45}', S200)

    # _bulk atomic with a bad line: nothing applied.
    c1, c2 = pfx + "c1", pfx + "c2"
    t.remember(c1, c2)
    lines = [jdump(dict(make_product(rng, c1), op="upsert")), '{"op": "set", "id": "%s", "price": 1}' % pid,
             jdump(dict(make_product(rng, c2), op="upsert")), '{"op": "set", "id": "%s", "price": 1e999}' % pid]
    t.send(c, "_bulk atomic bad line", "POST", "/api/v1/products/_bulk?atomic=true&refresh=true", "\n".join(lines), S400)
    for x in (c1, c2):
        st, _ = t.product(x)
        if st != 404:
            t.rec.fail(c, "_bulk atomic bad line", st, f"{x} of the rejected batch is there")
    unchanged("_bulk atomic bad line")
    t.send(c, "_bulk empty", "POST", "/api/v1/products/_bulk", "", S400)
    t.send(c, "_bulk only blank lines", "POST", "/api/v1/products/_bulk", "\n\n\n", S200_400)
    t.send(c, "_bulk unknown param", "POST", "/api/v1/products/_bulk?x=1", '{"op":"delete","id":"q"}', S400)
    t.send(c, "_bulk 10000 bad lines", "POST", "/api/v1/products/_bulk", "{bad\n" * 10000, S200_400)
    t.send(c, "_bulk 5000 deletes of unknown ids", "POST", "/api/v1/products/_bulk",
           "".join('{"op":"delete","id":"%snone%d"}\n' % (pfx, i) for i in range(5000)), S200)
    t.send(c, "_bulk binary", "POST", "/api/v1/products/_bulk", bytes(rng.randrange(256) for _ in range(4000)), S200_400)
    t.send(c, "_bulk 100 nested", "POST", "/api/v1/products/_bulk", "[" * 100 + "]" * 100, S200_400)

    # 33 MiB bulk body: 413 (sent from a thread; the server may answer before reading it all).
    big = ('{"op": "set", "id": "%s", "price": 1}\n' % (pfx + "none")).encode()
    body = big * ((BULK_LIMIT + (1 << 20)) // len(big) + 1)
    head = (f"POST /api/v1/products/_bulk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t.token}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    a = raw(t.port, head + body, timeout=60, send_in_thread=True)
    t.judge(c, "_bulk 33 MiB", a, S413)
    del body

    # Ids a URL path must escape (space, non-ASCII, "/", "%"): the path segment is percent-decoded,
    # so GET / PATCH / DELETE / PUT on the escaped path reach the product with the decoded id.
    for i, odd in enumerate([pfx + "sp ace", pfx + "caf\u00e9", pfx + "a/b?c"]):
        t.remember(odd)
        esc = "/api/v1/products/" + urllib.parse.quote(odd, safe="")
        p = make_product(rng, odd)
        t.send(c, f"_bulk upsert odd id #{i}", "POST", "/api/v1/products/_bulk?refresh=true", jdump(dict(p, op="upsert")), S200)
        t.get(c, f"GET escaped id {odd[len(pfx):]!r}", esc, S200,
              check=lambda a, odd=odd: None if (a.json() or {}).get("id") == odd else f"answered {a.body[:150]!r}")
        t.send(c, f"PATCH escaped id {odd[len(pfx):]!r}", "PATCH", esc + "?refresh=true", '{"price": 3.5}', S200)
        tok = random_token(rng)
        body = {k: v for k, v in p.items() if k != "id"}     # the id comes from the path
        put = t.send(c, f"PUT escaped id {odd[len(pfx):]!r}", "PUT", esc + "?refresh=true",
                     jdump(dict(body, title=p["title"] + " " + tok)), S200)
        a = request(t.port, "POST", "/api/v1/search", {"q": tok, "limit": 5})
        got = [h["id"] for h in (a.json() or {}).get("hits", [])] if a.status == 200 and put.status == 200 else None
        if got is not None and got != [odd]:
            t.rec.fail(c, f"PUT escaped id {odd[len(pfx):]!r}", a.status,
                       f"PUT {esc} stored the product under {got}, expected [{odd!r}] (the path is not percent-decoded)")
            for x in got:
                t.remember(x)
        t.send(c, f"DELETE escaped id {odd[len(pfx):]!r}", "DELETE", esc + "?refresh=true", None, S200)

    # DELETE and read-after-delete.
    t.send(c, "DELETE", "DELETE", path + "?refresh=true", None, S200)
    st, _ = t.product(pid)
    if st != 404:
        t.rec.fail(c, "DELETE", st, "product still there after DELETE ?refresh=true")
    t.send(c, "DELETE again", "DELETE", path + "?refresh=true", None, S404)


def class_slow_connections(t, rng):
    c = "slow_connections"
    port = t.port
    socks = []   # (label, socket, opened_at)

    def open_sock(label, payload=b""):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if payload:
            s.sendall(payload)
        s.setblocking(False)
        socks.append([label, s, time.monotonic()])

    for i in range(6):
        open_sock(f"slow header #{i}", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    for i in range(6):
        open_sock(f"slow body #{i}", b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"q\":")
    for i in range(6):
        open_sock(f"idle #{i}")
    for i in range(3):
        # An idle keep-alive connection after one complete request.
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf or not parse_raw_response(buf)[3]:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.setblocking(False)
        socks.append([f"idle keep-alive #{i}", s, time.monotonic()])
    drips = []
    for i in range(2):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        entry = [f"drip header byte/300ms #{i}", s, time.monotonic()]
        socks.append(entry)
        drips.append(entry)

    limit = (IDLE_MS + 2000) / 1000.0
    t0 = time.monotonic()
    pending = {id(e[1]): e for e in socks}
    drip_data = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Drip: " + b"a" * 10000
    drip_pos, next_drip = 0, t0
    while pending and time.monotonic() - t0 < limit:
        now = time.monotonic()
        if now >= next_drip:
            for e in drips:
                if id(e[1]) in pending:
                    try:
                        e[1].send(drip_data[drip_pos:drip_pos + 1])
                    except OSError:
                        pass
            drip_pos += 1
            next_drip = now + 0.3
        ready, _, _ = select.select([e[1] for e in pending.values()], [], [], 0.05)
        for s in ready:
            e = pending[id(s)]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""     # ECONNRESET: closed
            if not data:
                t.rec.add(c, e[0], "closed", (time.monotonic() - e[2]) * 1000)
                del pending[id(s)]
            else:
                st = parse_raw_response(data)[0]
                if st is not None and not status_ok(st):
                    t.rec.fail(c, e[0], st, f"answered {st}: {data[:200]!r}")
    for e in pending.values():
        t.rec.add(c, e[0], "open", (time.monotonic() - e[2]) * 1000)
        t.rec.fail(c, e[0], "open", f"still open {limit:.1f} s after it was opened (idle timeout {IDLE_MS} ms)")
    for e in socks:
        e[1].close()

    # The connection cap: open max + 10; the extra ones are closed at once.
    time.sleep(0.3)
    extra = MAX_CONN + 10
    many, t0 = [], time.monotonic()
    for i in range(extra):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            many.append((s, time.monotonic()))
        except OSError as e:
            t.rec.fail(c, f"cap: connect #{i}", "error", str(e))
    closed, deadline = set(), time.monotonic() + min(1.0, IDLE_MS / 1000.0 * 0.6)
    while time.monotonic() < deadline and len(closed) < 10:
        ready, _, _ = select.select([s for s, _ in many if s.fileno() not in closed], [], [], 0.05)
        for s in ready:
            try:
                data = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed.add(s.fileno())
                opened = next(o for x, o in many if x is s)
                t.rec.add(c, "cap: extra connection", "closed", (time.monotonic() - opened) * 1000)
    if len(closed) < 10:
        t.rec.add(c, "cap: extra connections", "open", (time.monotonic() - t0) * 1000)
        t.rec.fail(c, "cap: extra connections", "open",
                   f"only {len(closed)} of {extra} connections were closed within {deadline - t0:.1f} s (cap {MAX_CONN})")
    for s, _ in many:
        s.close()
    # After the flood a normal request works (allow the server a moment to notice the closes).
    ok, a = False, None
    for _ in range(20):
        a = request(port, "GET", "/healthz", timeout=2)
        if a.status == 200:
            ok = True
            break
        time.sleep(0.1)
    t.judge(c, "request after the cap flood", a, S200)
    if ok:
        t.page(c, "search after the cap flood", [("q", "sofa")], S200)
        h = request(port, "GET", "/healthz", timeout=2).json() or {}
        return {"connections_refused": h.get("connections_refused"), "connections_timed_out": h.get("connections_timed_out")}


def class_concurrent(t, rng):
    c = "concurrent"
    seconds = t.args.seconds
    stop_at = time.monotonic() + seconds
    stats = {"anomalies": 0, "503": 0, "writes": 0, "reads": 0, "verified": 0}
    lock = threading.Lock()

    def count(k, n=1):
        with lock:
            stats[k] += n

    def anomaly(label, status, detail):
        count("anomalies")
        t.rec.fail(c, label, status, detail)

    def rec(label, ans, expect, search=False):
        t.judge(c, label, ans, expect, max_ms=t.args.max_search_ms if search else None)
        if ans.status == 503:
            count("503")
        return ans

    def search_ids(q):
        a = rec("verify search", request(t.port, "POST", "/api/v1/search", {"q": q, "limit": 20}), S200, search=True)
        if a.status != 200:
            return None
        return [h["id"] for h in (a.json() or {}).get("hits", [])]

    def writer(i, wrng):
        live = {}      # id -> (token, title, price)
        n = 0
        while time.monotonic() < stop_at:
            op = wrng.choices(["put", "replace", "patch", "delete", "bulk"], [35, 15, 20, 12, 18])[0]
            if op != "put" and op != "bulk" and not live:
                op = "put"
            if op in ("put", "replace"):
                if op == "put":
                    pid = f"{t.prefix}c{i}-{n}"
                    n += 1
                    t.remember(pid)
                else:
                    pid = wrng.choice(list(live))
                tok = random_token(wrng)
                p = make_product(wrng, pid, extra_word=tok)
                a = rec(f"writer {op}", request(t.port, "PUT", "/api/v1/products/" + pid + "?refresh=true", p,
                                             headers=t.auth()), S200)
                count("writes")
                if a.status != 200:
                    live.pop(pid, None)
                    continue
                old = live.get(pid)
                live[pid] = (tok, p["title"], p["price"])
                st, g = t.product(pid)
                if st != 200 or g.get("title") != p["title"] or g.get("price") != p["price"]:
                    anomaly(f"read-your-write {op}", st, f"GET {pid} after PUT ?refresh=true: {g}, expected title {p['title']!r} price {p['price']}")
                ids = search_ids(tok)
                if ids is not None and pid not in ids:
                    anomaly(f"read-your-write {op} search", 200, f"search for {tok!r} misses {pid} after PUT ?refresh=true: {ids}")
                if old is not None:
                    ids = search_ids(old[0])
                    if ids is not None and pid in ids:
                        anomaly("replace: old token still found", 200, f"search for the replaced title word {old[0]!r} finds {pid}")
                count("verified")
            elif op == "patch":
                pid = wrng.choice(list(live))
                price = round(wrng.uniform(1, 1000), 2)
                a = rec("writer patch", request(t.port, "PATCH", f"/api/v1/products/{pid}?refresh=true", {"price": price},
                                             headers=t.auth()), S200)
                count("writes")
                if a.status != 200:
                    live.pop(pid)
                    continue
                live[pid] = (live[pid][0], live[pid][1], price)
                st, g = t.product(pid)
                if st != 200 or g.get("price") != price:
                    anomaly("read-your-write patch", st, f"GET {pid} after PATCH price {price}: {g}")
                a = rec("verify price filter", request(t.port, "POST", "/api/v1/search",
                                                   {"q": live[pid][0], "filters": {"price_min": price, "price_max": price}}),
                        S200, search=True)
                if a.status == 200 and pid not in [h["id"] for h in (a.json() or {}).get("hits", [])]:
                    anomaly("read-your-write patch filter", 200, f"price filter {price} misses {pid} after PATCH ?refresh=true")
                count("verified")
            elif op == "delete":
                pid = wrng.choice(list(live))
                a = rec("writer delete", request(t.port, "DELETE", f"/api/v1/products/{pid}?refresh=true", headers=t.auth()), S200)
                count("writes")
                tok = live.pop(pid)[0]
                if a.status != 200:
                    continue
                st, g = t.product(pid)
                if st != 404:
                    anomaly("read-your-write delete", st, f"GET {pid} after DELETE ?refresh=true: {st} {g}")
                ids = search_ids(tok)
                if ids is not None and pid in ids:
                    anomaly("read-your-write delete search", 200, f"search for {tok!r} still finds deleted {pid}")
                count("verified")
            else:
                lines, expect = [], {}
                for _ in range(wrng.randint(5, 20)):
                    r = wrng.random()
                    if r < 0.5 or not live:
                        pid = f"{t.prefix}c{i}-{n}"
                        n += 1
                        t.remember(pid)
                        tok = random_token(wrng)
                        p = make_product(wrng, pid, extra_word=tok)
                        lines.append(jdump(dict(p, op="upsert")))
                        expect[pid] = (tok, p["title"], p["price"])
                    elif r < 0.8:
                        pid = wrng.choice(list(live))
                        price = round(wrng.uniform(1, 1000), 2)
                        lines.append(jdump({"op": "set", "id": pid, "price": price}))
                        prev = expect.get(pid) or live.get(pid)
                        expect[pid] = (prev[0], prev[1], price) if prev else None
                    else:
                        pid = wrng.choice(list(live))
                        lines.append(jdump({"op": "delete", "id": pid}))
                        expect[pid] = None
                    if expect.get(pid) is None and pid in live:
                        live.pop(pid)
                a = rec("writer _bulk", request(t.port, "POST", "/api/v1/products/_bulk?refresh=true",
                                             "\n".join(lines) + "\n", headers=t.auth()), S200)
                count("writes")
                j = a.json() or {}
                if a.status != 200:
                    for pid in expect:
                        live.pop(pid, None)
                    continue
                if j.get("errors") or j.get("not_found"):
                    anomaly("writer _bulk", 200, f"good lines reported bad: {a.body[:300]!r}")
                for pid, want in expect.items():
                    st, g = t.product(pid)
                    if want is None:
                        if st != 404:
                            anomaly("read-your-write _bulk delete", st, f"GET {pid}: {g}")
                        live.pop(pid, None)
                    else:
                        live[pid] = want
                        if st != 200 or g.get("title") != want[1] or g.get("price") != want[2]:
                            anomaly("read-your-write _bulk", st, f"GET {pid}: {g}, expected title {want[1]!r} price {want[2]}")
                count("verified")

    def reader(i, rrng):
        while time.monotonic() < stop_at:
            r = rrng.random()
            if r < 0.35:
                q = " ".join(rrng.choice(t.words) for _ in range(rrng.randint(1, 4)))
                pairs = [("q", q), ("page", str(rrng.randint(1, 5))), ("limit", str(rrng.choice([10, 20, 50, 100])))]
                if rrng.random() < 0.3:
                    pairs.append(("sort", rrng.choice(["price_asc", "price_desc", "rating"])))
                if rrng.random() < 0.3:
                    pairs += [("min_price", "10"), ("max_price", "900")]
                rec("reader GET search", request(t.port, "GET", "/api/v1/products/search?" + qs(pairs)), S200, search=True)
            elif r < 0.7:
                body = {"q": " ".join(rrng.choice(t.words) for _ in range(rrng.randint(1, 6))),
                        "operator": rrng.choice(["and", "or"]), "limit": rrng.choice([10, 50, 200]),
                        "facets": t.facets[:rrng.randint(0, 4)]}
                if rrng.random() < 0.3:
                    body["sort"] = "price_asc"
                rec("reader POST search", request(t.port, "POST", "/api/v1/search", body), S200, search=True)
            elif t.base_ids:
                pid = rrng.choice(t.base_ids)
                rec("reader GET product", request(t.port, "GET", "/api/v1/products/" + urllib.parse.quote(pid, safe="")),
                    S200, search=True)
            count("reads")

    def expensive():
        reqs = [r for r in expensive_requests(t) if r[2] == S200]
        k = 0
        while time.monotonic() < stop_at:
            label, body, expect = reqs[k % len(reqs)]
            rec("expensive " + label, request(t.port, "POST", "/api/v1/search", body), expect, search=True)
            k += 1

    threads = [threading.Thread(target=writer, args=(i, random.Random(rng.random()))) for i in range(4)]
    threads += [threading.Thread(target=reader, args=(i, random.Random(rng.random()))) for i in range(4)]
    threads.append(threading.Thread(target=expensive))
    for th in threads:
        th.daemon = True
        th.start()
    for th in threads:
        th.join(timeout=seconds + 60)
        if th.is_alive():
            t.rec.fail(c, "thread", None, f"{th.name} still running {seconds + 60} s after the end")
    h = request(t.port, "GET", "/healthz", timeout=2).json() or {}
    stats.update(searches_refused=h.get("searches_refused"), searches_demoted=h.get("searches_demoted"))
    return stats


def class_routes(t, rng):
    c = "routes"
    t.get(c, "GET / (the storefront)", "/", {200})
    t.get(c, "GET /static/../ (no path escapes)", "/static/..%2F..%2Fetc%2Fpasswd", S404)
    t.get(c, "GET /static/nope.js", "/static/nope.js", S404)
    t.get(c, "GET /nope", "/nope", S404)
    t.get(c, "GET /api/v1/nope", "/api/v1/nope", S404)
    t.get(c, "GET /api/v2/products/search", "/api/v2/products/search", S404)
    t.get(c, "GET /api/v1/search", "/api/v1/search", {404, 405})
    t.get(c, "GET /api/v1/products/", "/api/v1/products/", {404, 400})
    t.get(c, "GET /api/v1/products", "/api/v1/products", {404, 405})
    t.get(c, "GET /api/v1/products/search/", "/api/v1/products/search/", {200, 404})
    t.get(c, "GET //api/v1/products/search", "//api/v1/products/search", {200, 404})
    t.get(c, "GET /API/V1/PRODUCTS/SEARCH", "/API/V1/PRODUCTS/SEARCH", S404)
    t.get(c, "GET /healthz/", "/healthz/", {200, 404})
    t.get(c, "GET /api/v1/openapi.json", "/api/v1/openapi.json", S200)
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        t.send(c, f"{m} /healthz", m, "/healthz", b"{}", {404, 405}, token=False)
    t.send(c, "DELETE /api/v1/search", "DELETE", "/api/v1/search", None, {404, 405}, token=False)
    t.send(c, "PUT /api/v1/search", "PUT", "/api/v1/search", b"{}", {404, 405}, token=False)
    t.send(c, "POST /api/v1/products/search", "POST", "/api/v1/products/search", b"{}", {404, 405}, token=False)
    t.send(c, "PUT /api/v1/products/search (no token)", "PUT", "/api/v1/products/search", b"{}", {401, 404, 405}, token=False)
    t.send(c, "POST /api/v1/products/x", "POST", "/api/v1/products/x", b"{}", {404, 405}, token=False)
    t.send(c, "GET /api/v1/products/_bulk", "GET", "/api/v1/products/_bulk", None, S404, token=False)
    for m in ("OPTIONS", "TRACE", "PROPFIND", "FOO", "CONNECT"):
        t.send(c, f"{m} /api/v1/search", m, "/api/v1/search", None, {400, 404, 405}, token=False, json_error=False)
    t.send(c, "HEAD /healthz", "HEAD", "/healthz", None, {200}, token=False, json_error=False)
    ids = [("2 KB id", "i" * 2048, S400), ("1025-byte id", "i" * 1025, S400), ("1024-byte id", "i" * 1024, S400),
           ("512-byte id", "i" * 512, S404), ("513-byte id", "i" * 513, S400),
           ("%00", "%00", {400, 404}), ("a%00b", "a%00b", {400, 404}), ("..", "..", {400, 404}),
           ("%2E%2E", "%2E%2E", {400, 404}), ("../../healthz", "../../healthz", {200, 400, 404}),
           ("%2F..%2Fhealthz", "%2F..%2Fhealthz", {400, 404}), ("snowman", "%E2%98%83", S404),
           ("emoji", "%F0%9F%9B%8B", S404), ("invalid UTF-8 %FF", "%FF", {400, 404}),
           ("%zz", "%zz", {400, 404}), ("%", "%", {400, 404}), ("space", "a%20b", S404), ("plus", "a+b", S404),
           ("query only", "?x=1", {400, 404}), ("search?q=", "search?q=%zz", S400), ("_bulk", "_bulk", S404)]
    ids += [(f"base id #{i}", urllib.parse.quote(x, safe=""), S200) for i, x in enumerate(t.base_ids[:5])]
    for label, p, expect in ids:
        t.get(c, f"GET product {label}", "/api/v1/products/" + p, expect, max_ms=t.args.max_search_ms)
    for label, p, expect in ids[:8]:
        t.send(c, f"PATCH product {label}", "PATCH", "/api/v1/products/" + p, '{"price": 1}', {400, 404})
    # Raw protocol abuse.
    t.raw(c, "raw UTF-8 id", "GET /api/v1/products/caf\u00e9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), {400, 404})
    t.raw(c, "raw NUL id", b"GET /api/v1/products/a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404})
    t.raw(c, "HTTP/1.0 no Host", b"GET /healthz HTTP/1.0\r\n\r\n", S200)
    t.raw(c, "HTTP/1.1 no Host", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", {200, 400})
    t.raw(c, "two Hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", {200, 400})
    t.raw(c, "absolute URI", b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {200, 400, 404})
    t.raw(c, "OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {400, 404, 405})
    t.raw(c, "HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 404, 405})
    t.raw(c, "HTTP/9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n", {200, 400})
    t.raw(c, "TLS ClientHello", bytes.fromhex("16030100a5010000a10303") + bytes(rng.randrange(256) for _ in range(160)), {400})
    t.raw(c, "garbage line", b"\x00\x01\x02 / HTTP/1.1\r\n\r\n", {400})
    t.raw(c, "LF only", b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n", {200, 400})
    t.raw(c, "bad header line", b"GET /healthz HTTP/1.1\r\nHost x\r\nConnection: close\r\n\r\n", {400})
    t.raw(c, "NUL in header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n", {200, 400})
    t.raw(c, "obs-fold header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n", {200, 400})
    t.raw(c, "60 KB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60000 + b"\r\nConnection: close\r\n\r\n", {200, 400, 431})
    t.raw(c, "1 MB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\nConnection: close\r\n\r\n", {400, 431})
    t.raw(c, "2000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"Connection: close\r\n\r\n", {200, 400, 431})
    t.raw(c, "pipelined 50 requests", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 50 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", S200)
    t.raw(c, "Expect: 100-continue", b"POST /api/v1/search HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 13\r\nConnection: close\r\n\r\n" + b'{"q": "sofa"}', {100, 200})
    t.raw(c, "Upgrade: websocket", b"GET /healthz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", {200, 400, 404}, timeout=3)


# --------------------------------------------------------------------------------------------
# Server lifecycle and the run
# --------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_index(aisle, work, n, seed):
    rng = random.Random(seed)
    corpus = os.path.join(work, "catalog.jsonl")
    with open(corpus, "w") as f:
        for i in range(n):
            f.write(json.dumps(make_product(rng, f"G{i:06d}")) + "\n")
    idx = os.path.join(work, "index")
    t0 = time.monotonic()
    r = subprocess.run([aisle, "index", "--corpus", corpus, "--index", idx, "--quiet"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise SystemExit(f"abuse: aisle index failed ({r.returncode}):\n{r.stdout}")
    print(f"abuse: indexed {n} generated products in {time.monotonic() - t0:.1f} s", flush=True)
    return idx


class Server:
    """An `aisle serve` child process on a free port (restarted after a crash)."""

    def __init__(self, aisle, idx, work, token, env=None, args=(), name="serve"):
        """env: variables for this server (stores); args: more `aisle serve` flags."""
        self.aisle, self.idx, self.work, self.token = aisle, idx, work, token
        self.extra_env, self.extra_args, self.name = dict(env or {}), list(args), name
        self.proc, self.port, self.log, self.starts = None, None, None, 0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MONGODB_URI", "AISLE_API_TOKEN")}
        env.update(self.extra_env)
        for _ in range(3):
            self.starts += 1
            self.port = free_port()
            self.log = os.path.join(self.work, f"{self.name}-{self.starts}.log")
            cmd = [self.aisle, "serve", "--index", self.idx, "--host", "127.0.0.1", "--port", str(self.port),
                   "--token", self.token, "--no-sync", "--idle-timeout-ms", str(IDLE_MS),
                   "--read-timeout-ms", str(READ_MS), "--max-connections", str(MAX_CONN)] + self.extra_args
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.work, env=env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.alive():
                if request(self.port, "GET", "/healthz", timeout=1).status == 200:
                    return
                time.sleep(0.1)
            self.stop()
            print(f"abuse: aisle serve did not come up on port {self.port}:\n{self.log_tail(2000)}", file=sys.stderr)
        raise SystemExit("abuse: could not start aisle serve")

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; returns (exit code, how it ended)."""
        proc = self.proc
        if proc is None:
            return None, "never started"
        if proc.poll() is not None:
            return proc.returncode, "already exited"
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=15), "SIGTERM"
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(), "SIGKILL (did not stop within 15 s of SIGTERM)"

    def log_tail(self, n):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def crash_summary(self):
        """The fatal error line and the crashed thread's first frames in this project's code."""
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no server log)"
        lines = text.splitlines()
        fatal = [x.strip() for x in lines if "Fatal error" in x or "fatal error" in x or "Program crashed" in x]
        frames = []
        for i, x in enumerate(lines):
            if x.rstrip().endswith("crashed:"):
                for y in lines[i + 1:i + 40]:
                    m = re.search(r"0x[0-9a-f]+ (.*?)(?: \+ \d+)? in aisle at \S*/Sources/(\S+)", y)
                    if m:
                        frames.append(f"{m.group(1)} @ {m.group(2)}")
                    if len(frames) >= 3:
                        break
                break
        return " | ".join(fatal[:2] + frames) or "no crash report in the log: " + " ".join(lines[-3:])[-300:]


def cleanup_writes(t):
    """Deletes every id the test may have created (ids under its own prefix)."""
    ids = sorted(t.created)
    for i in range(0, len(ids), 2000):
        lines = "".join(json.dumps({"op": "delete", "id": x}) + "\n" for x in ids[i:i + 2000])
        request(t.port, "POST", "/api/v1/products/_bulk", lines, headers=t.auth(), timeout=60)


CLASSES = [("numbers", class_numbers), ("query_syntax", class_query_syntax), ("expensive", class_expensive),
           ("malformed_bodies", class_malformed_bodies), ("query_strings", class_query_strings),
           ("recommendations", class_recommendations), ("analytics", class_analytics),
           ("writes", class_writes), ("slow_connections", class_slow_connections),
           ("concurrent", class_concurrent), ("routes", class_routes)]


def fmt_statuses(statuses):
    keys = sorted(statuses, key=lambda k: (isinstance(k, str), str(k) if isinstance(k, str) else k))
    return " ".join(f"{k}:{statuses[k]}" for k in keys)


def summarize(rec, rows):
    out = []
    for row in rows:
        cases = [x for x in rec.cases if x[0] == row["class"]]
        st = {}
        for _, _, s, _ in cases:
            st[s] = st.get(s, 0) + 1
        worst = max(cases, key=lambda x: x[3], default=None)
        row.update(cases=len(cases), statuses={str(k): v for k, v in st.items()}, statuses_text=fmt_statuses(st),
                   worst_ms=round(worst[3], 1) if worst else 0.0, worst_case=worst[1] if worst else "",
                   failures=sum(1 for f in rec.failures if f[0] == row["class"]))
        out.append(row)
    return out


def mb(x):
    return "?" if x is None else f"{x:.0f}"


def survived_text(r):
    if r["crashes"]:
        return f"NO (crashed {r['crashes']}x, restarted)"
    return "yes" if r["survived"] else "NO"


def print_table(rows):
    hdr = ["class", "cases", "statuses", "worst ms", "survived", "RSS MB", "fails"]
    data = [[r["class"], str(r["cases"]), r["statuses_text"], f"{r['worst_ms']:.0f}",
             survived_text(r), f"{mb(r['rss_before_mb'])} -> {mb(r['rss_after_mb'])}" + ("*" if r["crashes"] else ""),
             str(r["failures"])] for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) for i, h in enumerate(hdr)]
    line = "  ".join(h.ljust(w) for h, w in zip(hdr, widths))
    print(line)
    print("-" * len(line))
    for d in data:
        print("  ".join(x.ljust(w) for x, w in zip(d, widths)))
    if any(r["crashes"] for r in rows):
        print("* RSS of the restarted server")


def markdown(rows, meta):
    lines = [f"# aisle abuse test (seed {meta['seed']})", "",
             f"{meta['products']} products, `{meta['aisle']}`, {meta['seconds']} s concurrent; "
             f"RSS {mb(meta['rss_start_mb'])} -> {mb(meta['rss_end_mb'])} MB; "
             f"{len(meta['failures'])} failure(s); {'PASS' if meta['ok'] else 'FAIL'}", "",
             "| class | cases | statuses | worst ms | survived | RSS before -> after MB | failures |",
             "| --- | ---: | --- | ---: | --- | --- | ---: |"]
    for r in rows:
        lines.append(f"| {r['class']} | {r['cases']} | {r['statuses_text']} | {r['worst_ms']:.0f} | "
                     f"{survived_text(r)} | {mb(r['rss_before_mb'])} -> {mb(r['rss_after_mb'])}{'*' if r['crashes'] else ''} | {r['failures']} |")
    if meta["failures"]:
        lines += ["", "## Failures", "", "| class | case | status | detail |", "| --- | --- | --- | --- |"]
        for f in meta["failures"]:
            lines.append("| " + " | ".join(str(x).replace("|", "\\|").replace("\n", " ")[:300] for x in
                                           (f["class"], f["case"], f["status"], f["detail"])) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description="HTTP abuse test against a real `aisle serve`.")
    ap.add_argument("--aisle", required=True, help="the aisle binary (.build/debug/aisle or .build/release/aisle)")
    ap.add_argument("--index", help="serve this existing index instead of a generated one (not rebuilt)")
    ap.add_argument("--products", type=int, default=3000, help="generated catalog size (default 3000)")
    ap.add_argument("--seed", type=int, help="random seed (default: $AISLE_ABUSE_SEED, else random)")
    ap.add_argument("--seconds", type=float, help="length of the concurrent class (default 10, --quick 4)")
    ap.add_argument("--quick", action="store_true", help="fewer random cases and a 4 s concurrent class")
    ap.add_argument("--report", help="write a JSON report here")
    ap.add_argument("--markdown", help="write a Markdown table here")
    ap.add_argument("--max-rss-growth-mb", type=float, default=300.0, help="allowed RSS growth (default 300)")
    ap.add_argument("--max-search-ms", type=float, default=(DEADLINE_S + 3.0) * 1000,
                    help="a search must answer within this (default: 2 s deadline + 3 s slack = 5000)")
    ap.add_argument("--max-restarts", type=int, default=25,
                    help="stop the run after the server had to be restarted this often (default 25)")
    ap.add_argument("--database", default=os.environ.get("AISLE_TEST_DATABASE_URL"),
                    help="PostgreSQL for the analytics class's commerce server (a fresh database is made and dropped); "
                         "default $AISLE_TEST_DATABASE_URL; without it and --redis those cases are skipped")
    ap.add_argument("--redis", default=os.environ.get("AISLE_TEST_REDIS_URL"),
                    help="Redis for that server (its database 12; nothing is deleted); default $AISLE_TEST_REDIS_URL")
    ap.add_argument("--no-commerce", action="store_true", help="skip the analytics class's commerce server")
    ap.add_argument("--verbose", action="store_true", help="print failures as they happen")
    args = ap.parse_args()
    if args.seed is None:
        env = os.environ.get("AISLE_ABUSE_SEED")
        args.seed = int(env) if env else random.SystemRandom().randrange(1, 2**31)
    if args.seconds is None:
        args.seconds = 4.0 if args.quick else 10.0
    print(f"abuse: seed {args.seed} (replay with AISLE_ABUSE_SEED={args.seed})", flush=True)
    aisle = os.path.abspath(args.aisle)
    if not os.access(aisle, os.X_OK):
        raise SystemExit(f"abuse: {aisle} is not an executable")

    started = time.monotonic()
    rng = random.Random(args.seed)
    rec = Recorder(args.verbose)
    work = tempfile.mkdtemp(prefix="aisle-abuse-")
    server, rows, t = None, [], None
    exit_info = None
    rss_start = rss_end = None
    documents = None
    try:
        idx = os.path.abspath(args.index) if args.index else build_index(aisle, work, args.products, args.seed)
        token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
        server = Server(aisle, idx, work, token)
        server.start()
        t = Tester(server, rec, args)
        h = t.healthz(5).json() or {}
        print(f"abuse: serving {h.get('documents')} documents on port {server.port} (pid {server.proc.pid})", flush=True)
        if not h.get("writable", False):
            rec.fail("setup", "healthz", 200, f"the index is not writable: {h}")
        t.discover()
        rss_start = t.rss_mb()
        documents = (request(t.port, "GET", "/healthz", timeout=2).json() or {}).get("documents")
        for name, fn in CLASSES:
            before = t.rss_mb()
            t0 = time.monotonic()
            details = None
            try:
                details = fn(t, random.Random(rng.random()))
            except Exception as e:  # a bug in the test itself: report it, keep going
                import traceback
                traceback.print_exc()
                rec.fail(name, "test error", None, f"{type(e).__name__}: {e}")
            alive = server.alive()
            hz = t.healthz(1.0) if alive else Answer(None, None, b"", 0, "server process exited")
            survived = alive and hz.status == 200 and not t.deaths.get(name)
            if not alive or hz.status != 200:
                rec.fail(name, "survival", hz.status, f"after the class: process alive={alive}, /healthz {hz.status} {hz.error or ''}".strip())
            after = t.rss_mb()
            if not alive:
                t.check_died(name, "(after the class)", wait=0)
            rows.append({"class": name, "survived": survived, "crashes": t.deaths.get(name, 0),
                         "rss_before_mb": None if before is None else round(before, 1),
                         "rss_after_mb": None if after is None else round(after, 1),
                         "seconds": round(time.monotonic() - t0, 2), "details": details or {}})
            print(f"abuse: {name}: {sum(1 for x in rec.cases if x[0] == name)} cases in {time.monotonic() - t0:.1f} s, "
                  f"{sum(1 for f in rec.failures if f[0] == name)} failure(s), RSS {mb(before)} -> {mb(after)} MB"
                  + ("; " + ", ".join(f"{k} {v}" for k, v in details.items()) if details else ""), flush=True)
            if server.starts - 1 > args.max_restarts:
                rec.fail(name, "restarts", None, f"the server crashed more than --max-restarts {args.max_restarts} times; stopping")
                break
        rss_end = t.rss_mb()
        if not server.alive():
            rec.fail("end", "alive", None, f"the server exited with {server.proc.returncode}")
        elif t.healthz(1.0).status != 200:
            rec.fail("end", "healthz", None, "/healthz is not 200 at the end")
        if rss_start is not None and rss_end is not None and rss_end - rss_start > args.max_rss_growth_mb:
            rec.fail("end", "rss", None, f"RSS grew {rss_end - rss_start:.0f} MB ({rss_start:.0f} -> {rss_end:.0f}), "
                                         f"limit {args.max_rss_growth_mb:.0f} MB")
        if server.alive():
            cleanup_writes(t)
        if server.starts > 1:
            rec.fail("end", "restarts", None, f"the server had to be restarted {server.starts - 1} time(s)")
    finally:
        if server is not None:
            exit_info = server.stop()
            if rec.failures and not t.deaths:
                print("abuse: server log (tail):\n" + server.log_tail(3000), flush=True)
        shutil.rmtree(work, ignore_errors=True)

    rows = summarize(rec, rows)
    print()
    print_table(rows)
    total = len(rec.cases)
    print(f"\nabuse: {total} cases in {time.monotonic() - started:.1f} s; RSS {mb(rss_start)} -> {mb(rss_end)} MB "
          f"(limit +{args.max_rss_growth_mb:.0f}); server stopped by {exit_info[1] if exit_info else '?'} "
          f"(exit {exit_info[0] if exit_info else '?'})")
    failures = [{"class": f[0], "case": f[1], "status": f[2], "detail": f[3]} for f in rec.failures]
    meta = {"seed": args.seed, "aisle": args.aisle, "index": args.index or "(generated)",
            "products": documents if documents is not None else args.products, "seconds": args.seconds,
            "rss_start_mb": rss_start and round(rss_start, 1), "rss_end_mb": rss_end and round(rss_end, 1), "failures": failures, "ok": not failures,
            "server_exit": exit_info[0] if exit_info else None}
    if args.report:
        with open(args.report, "w") as f:
            json.dump(dict(meta, classes=[{k: v for k, v in r.items() if k != "statuses_text"} for r in rows]), f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows, meta))
    if failures:
        print(f"\nabuse: FAIL: {len(failures)} failure(s) (replay with AISLE_ABUSE_SEED={args.seed}):")
        for f in failures:
            print(f"  [{f['class']}] {f['case']}: {f['status']}: {f['detail']}")
        return 1
    print(f"abuse: PASS (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
