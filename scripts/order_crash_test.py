#!/usr/bin/env python3
"""Order crash test: prove `kill -9` of `aisle serve` during an order storm loses nothing.

Buyers place, pay, ship, deliver and cancel orders through the HTTP API while the server is killed
with SIGKILL at random moments and restarted. Afterwards there must be no partial order, no lost
acknowledged order, no order twice for one Idempotency-Key, and every stock invariant must hold.

Usage:
    scripts/order_crash_test.py [--kills 10] [--aisle BIN] [--work DIR] [--seed S] [--buyers 12]
                                [--products 300] [--min-storm 0.3] [--max-storm 2.5]
                                [--order-expiry 6] [--port 18495] [--no-round-checks]
                                [--keep] [--keep-services] [--verbose]

    e.g. scripts/order_crash_test.py --kills 5 --seed 1
         scripts/order_crash_test.py --aisle .build/release/aisle --kills 50

Exit status 0 when every check held after every kill, 1 otherwise (the seed, the kept work
directory, the server log and a dump of the order tables tell what happened), 2 when the test
could not be set up.

What it does:
 1. Stores: PostgreSQL and Redis from `scripts/services.sh` on their own ports (55495 / 56495),
    stopped at the end, unless DATABASE_URL and REDIS_URL are set; a fresh database
    `aisle_order_crash` in that PostgreSQL either way.
 2. Catalog: --products generated products (ids P0000..), written as a JSONL corpus with a `stock`
    per product: 20 "hot" products hold 5..15 units (a fifth of the lines buyers add name one, so
    out_of_stock happens), 2% hold none, half of the rest 5..50, the others 100..400.
    `aisle catalog load`, `aisle reindex`, then `aisle serve --token T [--order-expiry E]` with
    DATABASE_URL and REDIS_URL; /healthz must answer 200.
 3. --buyers customers are registered and logged in once (sessions live in Redis, which is never
    killed, so the tokens survive restarts). Each buyer thread loops:
      - now and then a transition on one of its own orders: payment, shipment, delivery (API
        token) or cancel (its session), legal or not; the answer must be what its model of the
        order predicts (200 with the new status, or 409 illegal_transition naming the status);
      - DELETE /api/v1/cart, 1-4 lines added (quantity 1-3), GET /api/v1/cart, then
        POST /api/v1/orders with a fresh Idempotency-Key and the total it saw.
    A 201 is recorded as acknowledged (id, key, lines, total) after checking it: status pending,
    version 1, the cart's lines, the total it expected, sum of the lines, an id no other key got.
    A connection error or timeout on an order or a transition is retried with the SAME request
    (same key) once the server is back (a 5xx answer is a failure, sent again up to --max-5xx
    times); the final answer must be 201 or a 409 (out_of_stock; totals_changed and cart_empty
    are accepted on a retry but noted); in_progress is waited out.
    A cart change that got no answer starts the iteration over (the cart is cleared first).
 4. --kills rounds: the storm runs a random --min-storm..--max-storm s, the server gets SIGKILL,
    then (unless --no-round-checks) the database is checked while no server runs: `aisle
    inventory check`, and in one REPEATABLE READ snapshot the SQL checks below (every order
    acknowledged so far must be there), then the server is restarted and /healthz awaited.
 5. After the last restart the buyers finish what they started (retries resolve) and stop. Then:
    the read model must catch up (order_summaries = orders' status and version); every
    acknowledged order is read with GET /api/v1/orders/{id} (API token): same lines, total and
    customer, a status its model allows; each buyer's GET /api/v1/orders pages list exactly its
    acknowledged orders; the server is stopped with SIGTERM and the final checks run on a quiet
    database:
      1. `aisle inventory check` exits 0;
      2. every acknowledged order exists with the same customer, lines (product, quantity, unit
         price) and total (its OrderPlaced event), and a status its model allows;
      3. no partial order: every order has lines, exactly `version` events (the first an
         OrderPlaced whose lines and total are its order_lines'), one idempotency key; no event,
         line or key names a missing order;
      4. per product: initial stock - quantities of live (not canceled / expired) orders =
         inventory.available, and nothing is negative or oversold (an oracle independent of the
         ledger);
      5. one order per key: order_idempotency rows = orders = distinct orders of the keys, and
         the keys in the database are exactly the keys answered 201, each with its order (so no
         order exists that no buyer was told about, and no key answered 409 has an order);
      6. `aisle orders rebuild` exits 0.
 6. Prints a row per round and a summary (orders acknowledged, retried requests and how they
    ended, 409s by code, transitions, kills with requests in flight); exits 1 on any failure.

The binary is copied into the work directory first, so a rebuild of --aisle during the run cannot
mix two builds in one database. Only the Python standard library is used (a minimal PostgreSQL
client is below; psql is not needed). The work directory (a fresh temp dir unless --work is
given; it must be empty or absent) is removed after a clean run unless --keep, and kept after a
failure, with serve.log and the order tables dumped as TSV (dump/*.tsv).
"""

import argparse
import collections
import datetime
import hashlib
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
from decimal import Decimal, InvalidOperation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import PG  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_PORT, REDIS_PORT, HTTP_PORT = "55495", "56495", 18495
DB_NAME = "aisle_order_crash"
now = time.monotonic

# ---------------------------------------------------------------------------
# A minimal PostgreSQL client (simple query protocol; from Benchmarks/cart_load.py)
# ---------------------------------------------------------------------------


def sql_text(s):
    return "'" + str(s).replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection. `call` raises a TRANSPORT_ERRORS exception when no answer came
    (refused, reset, closed mid-answer, timed out); the connection is then dropped."""

    def __init__(self, port, timeout=20.0):
        self.port, self.timeout, self.conn = port, timeout, None

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None else None
        if self.conn is None:
            self.conn = _Conn("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            raw = r.read()
        except TRANSPORT_ERRORS:
            self.close()
            raise
        if (r.getheader("Connection") or "").lower() == "close":
            self.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return r.status, parsed, {k.lower(): v for k, v in r.getheaders()}

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


def short(body, n=300):
    try:
        s = json.dumps(body) if not isinstance(body, str) else body
    except (TypeError, ValueError):
        s = repr(body)
    return s if len(s) <= n else s[:n] + "..."


def dec(x):
    try:
        return Decimal(str(x))
    except (InvalidOperation, TypeError, ValueError):
        return None


def parse_time(s):
    """ISO 8601 (`2026-12-01T10:00:00Z`, fractions allowed) -> epoch seconds, or None."""
    if not isinstance(s, str):
        return None
    try:
        t = s.strip()
        if t.endswith("Z"):
            t = t[:-1] + "+00:00"
        d = datetime.datetime.fromisoformat(t)
        if d.tzinfo is None:
            d = d.replace(tzinfo=datetime.timezone.utc)
        return d.timestamp()
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------

ADJECTIVES = ["classic", "modern", "compact", "deluxe", "rustic", "sleek", "vintage", "portable", "soft", "ergonomic"]
MATERIALS = ["oak", "steel", "linen", "velvet", "bamboo", "leather", "glass", "ceramic", "cotton", "walnut"]
NOUNS = ["sofa", "lamp", "chair", "table", "kettle", "blender", "backpack", "headphones", "rug", "mug", "jacket"]
BRANDS = ["Acme", "Northwind Home", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]
CATEGORIES = [["Furniture", "Living Room", "Sofas"], ["Furniture", "Office", "Desks"], ["Kitchen", "Appliances", "Blenders"],
              ["Electronics", "Audio", "Headphones"], ["Home", "Lighting", "Lamps"], ["Apparel", "Outerwear", "Jackets"]]
HOT = 20


def make_catalog(rng, n):
    """[(product dict with `stock`)], the hot ids."""
    products = []
    for i in range(n):
        pid = "P%04d" % i
        adj, mat, noun = rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(NOUNS)
        if i < HOT:
            stock = rng.randint(5, 15)
        else:
            r = rng.random()
            stock = 0 if r < 0.02 else rng.randint(5, 50) if r < 0.55 else rng.randint(100, 400)
        cat = rng.choice(CATEGORIES)
        products.append({
            "id": pid,
            "title": "%s %s %s %d" % (adj.capitalize(), mat, noun, i),
            "description": "A %s %s made of %s." % (adj, noun, mat),
            "brand": rng.choice(BRANDS),
            "category": cat,
            "category_path": " > ".join(cat),
            "price": round(rng.uniform(1, 300), 2),
            "rating": round(rng.uniform(1, 5), 1),
            "review_count": rng.randrange(0, 500),
            "in_stock": stock > 0,
            "stock": stock,
            "attributes": {"color": rng.choice(["red", "blue", "black", "white"]), "material": mat},
        })
    return products, ["P%04d" % i for i in range(min(HOT, n))]


# ---------------------------------------------------------------------------
# The shared state of a run
# ---------------------------------------------------------------------------

class Abort(Exception):
    pass


class Ctx:
    def __init__(self, args, port, api_token, seed, products, hot):
        self.args, self.port, self.api_token, self.seed = args, port, api_token, seed
        self.products, self.hot = products, hot
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.failures = []          # (kind, text)
        self.acked = {}             # order id -> OrderRec
        self.keys = {}              # (customer id, key) -> final answer: ("201", id) | ("409", code) | ...
        self.expiry = args.order_expiry

    def count(self, name, n=1):
        with self.lock:
            self.counts[name] += n

    def fail(self, kind, text):
        with self.lock:
            self.failures.append((kind, text))
            self.counts["fail:" + kind] += 1
            n = self.counts["fail:" + kind]
        if n <= 10:
            print("  FAIL %s: %s" % (kind, text), flush=True)
        elif n == 11:
            print("  FAIL %s: (more; not printed as they come)" % kind, flush=True)

    def note(self, text):
        if self.args.verbose:
            print("  " + text, flush=True)


class OrderRec:
    """An acknowledged order and its buyer's model of it."""

    def __init__(self, oid, customer, key, lines, total, expires_at, retried):
        self.id, self.customer, self.key = oid, customer, key
        self.lines = lines            # product id -> (quantity, unit price Decimal)
        self.total = total
        self.expires_at = expires_at  # epoch seconds (server's), or None
        self.status = "pending"       # the last status the buyer knows for sure
        self.version = 1              # None once unknown
        self.retried = retried

    def may_have_expired(self, ctx, slack=2.0):
        if self.status != "pending" or not ctx.expiry:
            return False
        return self.expires_at is None or time.time() >= self.expires_at - slack


TRANSITIONS = {
    # name: (path suffix, allowed from, to, by)
    "pay": ("payment", {"pending"}, "paid", "shop"),
    "ship": ("shipment", {"paid"}, "shipped", "shop"),
    "deliver": ("delivery", {"shipped"}, "delivered", "shop"),
    "cancel": ("cancel", {"pending", "paid"}, "canceled", "owner"),
}


# ---------------------------------------------------------------------------
# A buyer
# ---------------------------------------------------------------------------

class Buyer(threading.Thread):
    def __init__(self, ctx, n, email, password, token, customer_id):
        super().__init__(name="buyer-%d" % n, daemon=True)
        self.ctx, self.n = ctx, n
        self.email, self.password, self.token, self.customer_id = email, password, token, customer_id
        self.rng = random.Random(ctx.seed * 1000 + n)
        self.client = Client(ctx.port, timeout=ctx.args.request_timeout)
        self.orders = []              # OrderRec, oldest first
        self.inflight = None          # what it is waiting for: "order", "transition", "cart"
        self.seq = 0
        self.address = {"name": "Buyer %d" % n, "line1": "%d Crash Street" % (n + 1), "city": "Killtown",
                        "postal_code": "%05d" % (10000 + n), "country": "US"}
        self.finished = False

    # -- requests --

    def answered(self, method, path, body=None, token=None, headers=None, what="request"):
        """Sends until an answer comes (the server may be down: wait for it). Returns
        (status, body, headers, transport_failures). A 5xx answer is a failure; the request is
        sent again up to --max-5xx times in a row, then that answer is returned."""
        failures = 0
        first = None
        delay = 0.05
        errors_5xx = 0
        while True:
            if self.ctx.abort.is_set():
                raise Abort()
            try:
                st, b, h = self.client.call(method, path, body, token, headers)
            except TRANSPORT_ERRORS as e:
                failures += 1
                self.ctx.count("transport_errors")
                if first is None:
                    first = now()
                    self.ctx.note("buyer %d: %s %s: %s" % (self.n, method, path, type(e).__name__))
                elif now() - first > self.ctx.args.unreachable_s:
                    self.ctx.fail("unreachable", "buyer %d: %s %s got no answer for %.0f s (last: %r)"
                                  % (self.n, method, path, now() - first, e))
                    raise Abort()
                time.sleep(delay + self.rng.random() * 0.05)
                delay = min(0.25, delay * 1.5)
                continue
            if st >= 500:
                self.ctx.fail("server_error", "buyer %d: %s %s (%s) -> %d %s" % (self.n, method, path, what, st, short(b)))
                errors_5xx += 1
                if errors_5xx >= self.ctx.args.max_5xx:
                    return st, b, h, failures
                time.sleep(0.2)
                failures += 1
                continue
            return st, b, h, failures

    # -- the loop --

    def run(self):
        try:
            while not self.ctx.stop.is_set() and not self.ctx.abort.is_set():
                if self.orders and self.rng.random() < self.ctx.args.transition_share:
                    self.transition()
                if self.ctx.stop.is_set():
                    break
                self.place()
        except Abort:
            pass
        except Exception as e:  # a bug in the test itself: report it, do not hang the run
            self.ctx.fail("test_error", "buyer %d: %s: %s" % (self.n, type(e).__name__, e))
        finally:
            self.inflight = None
            self.client.close()
            self.finished = True

    def pick_lines(self):
        k = self.rng.randint(1, 4)
        chosen = []
        while len(chosen) < k:
            pool = self.ctx.hot if self.rng.random() < 0.2 else self.ctx.products
            pid = self.rng.choice(pool)
            if pid not in chosen:
                chosen.append(pid)
        return [(pid, self.rng.randint(1, 3)) for pid in chosen]

    def place(self):
        ctx = self.ctx
        self.inflight = "cart"
        st, b, _, _ = self.answered("DELETE", "/api/v1/cart", token=self.token, what="clear cart")
        if st != 200:
            if st < 500:
                ctx.fail("wrong_status", "buyer %d: DELETE /api/v1/cart -> %d %s" % (self.n, st, short(b)))
            time.sleep(0.5)
            return
        want = self.pick_lines()
        for pid, q in want:
            if ctx.stop.is_set():
                return
            try:
                st, b, _ = self.client.call("POST", "/api/v1/cart/items", {"product_id": pid, "quantity": q}, self.token)
            except TRANSPORT_ERRORS:
                ctx.count("cart_interrupted")
                time.sleep(0.05)
                return                # no answer: the add may or may not stand; start over
            if st >= 500:
                ctx.fail("server_error", "buyer %d: POST /api/v1/cart/items -> %d %s" % (self.n, st, short(b)))
                time.sleep(0.2)
                return
            if st != 200:
                ctx.fail("wrong_status", "buyer %d: POST /api/v1/cart/items %s x%d -> %d %s" % (self.n, pid, q, st, short(b)))
                return
        st, cart, _, _ = self.answered("GET", "/api/v1/cart", token=self.token, what="read cart")
        if st != 200 or not isinstance(cart, dict):
            if st < 500:
                ctx.fail("wrong_status", "buyer %d: GET /api/v1/cart -> %d %s" % (self.n, st, short(cart)))
            return
        items = {it.get("product_id"): it.get("quantity") for it in cart.get("items", [])}
        if items != dict(want):
            ctx.fail("cart", "buyer %d: the cart holds %s after adding %s to an empty cart" % (self.n, items, dict(want)))
            return
        total = cart.get("total")
        if ctx.stop.is_set():
            return

        self.seq += 1
        key = "oc-%d-%d-%d" % (ctx.seed, self.n, self.seq)
        body = {"shipping_address": self.address, "payment_method_id": "pm_crash_%d" % self.n, "expected_total": total}
        self.inflight = "order"
        retried = 0
        in_progress = 0
        while True:
            st, b, h, fails = self.answered("POST", "/api/v1/orders", body, self.token, {"Idempotency-Key": key}, "place order")
            retried += fails
            if st == 409 and isinstance(b, dict) and b.get("error") == "in_progress":
                in_progress += 1
                ctx.count("in_progress_answers")
                if not retried:
                    ctx.fail("wrong_status", "buyer %d: key %s answered in_progress on its first attempt" % (self.n, key))
                if in_progress > 120:
                    ctx.fail("in_progress", "buyer %d: key %s still in_progress after %d tries" % (self.n, key, in_progress))
                    break
                try:
                    time.sleep(min(5.0, float(h.get("retry-after", "1") or 1)))
                except ValueError:
                    time.sleep(1)
                continue
            break
        self.inflight = None
        ctx.count("order_requests")
        if retried:
            ctx.count("order_requests_retried")
        code = b.get("error") if isinstance(b, dict) else None

        if st == 201:
            self.acknowledge(key, b, want, total, retried)
            return
        with ctx.lock:
            ctx.keys[(self.customer_id, key)] = (str(st), code)
        if st >= 500:
            # Already a failure; the key stays unresolved (an order may or may not stand for it).
            ctx.count("order_requests_unresolved")
            return
        ctx.count("answer:%d %s" % (st, code))
        if retried:
            ctx.count("retried_final:%d %s" % (st, code))
        if st == 409 and code == "out_of_stock":
            q = dict(want).get(b.get("product_id"))
            avail = b.get("available")
            if q is None or not isinstance(avail, int) or avail >= q:
                ctx.fail("wrong_status", "buyer %d: out_of_stock for %s (available %s) but the cart asks %s of it: %s"
                         % (self.n, b.get("product_id"), avail, q, short(b)))
            return
        if st == 409 and code in ("totals_changed", "cart_empty") and retried:
            ctx.note("buyer %d: key %s: retried request answered %s" % (self.n, key, code))
            return
        ctx.fail("wrong_status", "buyer %d: POST /api/v1/orders (key %s, %s, cart %s, total %s) -> %d %s"
                 % (self.n, key, "retried %d times" % retried if retried else "first attempt", dict(want), total, st, short(b)))

    def acknowledge(self, key, b, want, expected_total, retried):
        ctx = self.ctx
        if not isinstance(b, dict) or not isinstance(b.get("id"), int):
            ctx.fail("wrong_body", "buyer %d: 201 without an order id: %s" % (self.n, short(b)))
            return
        oid = b["id"]
        lines = {}
        line_sum = Decimal(0)
        bad = []
        for ln in b.get("lines") or []:
            up, q = dec(ln.get("unit_price")), ln.get("quantity")
            if up is None or not isinstance(q, int):
                bad.append("unreadable line %s" % short(ln, 120))
                continue
            lines[ln.get("product_id")] = (q, up)
            line_sum += up * q
            if dec(ln.get("subtotal")) != up * q:
                bad.append("line %s subtotal %s != %s x %d" % (ln.get("product_id"), ln.get("subtotal"), up, q))
        total = dec(b.get("total"))
        if {p: q for p, (q, _) in lines.items()} != dict(want):
            bad.append("lines %s, the cart held %s" % ({p: q for p, (q, _) in lines.items()}, dict(want)))
        if total is None or total != dec(expected_total):
            bad.append("total %s, expected_total %s" % (b.get("total"), expected_total))
        if total is not None and total != line_sum:
            bad.append("total %s != sum of lines %s" % (total, line_sum))
        if b.get("status") != "pending" or b.get("version") != 1:
            bad.append("status %s version %s (want pending, 1)" % (b.get("status"), b.get("version")))
        if b.get("customer_id") not in (None, self.customer_id):
            bad.append("customer_id %s, the buyer is %s" % (b.get("customer_id"), self.customer_id))
        rec = OrderRec(oid, self.customer_id, key, lines, total, parse_time(b.get("expires_at")), retried)
        with ctx.lock:
            other = ctx.acked.get(oid)
            if other is None:
                ctx.acked[oid] = rec
            ctx.keys[(self.customer_id, key)] = ("201", oid)
            ctx.counts["acked"] += 1
            if retried:
                ctx.counts["acked_after_retry"] += 1
                ctx.counts["retried_final:201"] += 1
        if other is not None:
            ctx.fail("duplicate_order", "order %d was acknowledged for key %s (customer %s) and again for key %s (customer %s)"
                     % (oid, other.key, other.customer, key, self.customer_id))
            return
        if bad:
            ctx.fail("wrong_body", "buyer %d: 201 for key %s (order %d%s): %s"
                     % (self.n, key, oid, ", retried" if retried else "", "; ".join(bad)))
        self.orders.append(rec)
        # The ordered lines leave the cart after the commit (a replay leaves the cart alone).
        st, cart, _, _ = self.answered("GET", "/api/v1/cart", token=self.token, what="read cart after order")
        if st == 200 and isinstance(cart, dict) and cart.get("items"):
            if retried:
                ctx.count("cart_kept_lines_after_retried_201")
            else:
                ctx.fail("cart", "buyer %d: the cart still holds %s after order %d was placed"
                         % (self.n, {i.get("product_id"): i.get("quantity") for i in cart["items"]}, oid))

    # -- transitions --

    def transition(self):
        ctx = self.ctx
        live = [o for o in self.orders if o.status in ("pending", "paid", "shipped")]
        pool = live if live and self.rng.random() < 0.85 else self.orders
        rec = self.rng.choice(pool[-40:])
        weights = {"pending": [("pay", 5), ("cancel", 4), ("ship", 1)],
                   "paid": [("ship", 4), ("cancel", 4), ("pay", 1)],
                   "shipped": [("deliver", 5), ("cancel", 3), ("pay", 1)]}.get(
            rec.status, [("cancel", 1), ("pay", 1), ("ship", 1)])
        names = [w[0] for w in weights]
        t = self.rng.choices(names, [w[1] for w in weights])[0]
        suffix, allowed, to, by = TRANSITIONS[t]
        body = {"cancel": {"reason": "crash test"}, "pay": {"reference": "ref-%d-%d" % (rec.id, self.rng.randrange(10**6))},
                "ship": {"carrier": "UPS", "tracking": "1Z%d" % rec.id}, "deliver": {}}[t]
        token = self.token if by == "owner" else ctx.api_token
        path = "/api/v1/orders/%d/%s" % (rec.id, suffix)
        may_expire = rec.may_have_expired(ctx)
        before = rec.status
        self.inflight = "transition"
        retried = 0
        while True:
            st, b, _, fails = self.answered("POST", path, body, token, what=t)
            retried += fails
            if st == 409 and isinstance(b, dict) and b.get("error") == "version_conflict":
                ctx.count("version_conflict_answers")
                time.sleep(0.1)
                continue
            break
        self.inflight = None
        ctx.count("transitions:%s" % t)
        if retried:
            ctx.count("transitions_retried")
        code = b.get("error") if isinstance(b, dict) else None
        got = b.get("status") if isinstance(b, dict) else None
        legal = before in allowed
        if 200 <= st < 300 and isinstance(b, dict) and got == to:
            if not legal and not may_expire:
                ctx.fail("wrong_status", "buyer %d: %s of order %d (%s) answered %d %s: that transition is illegal"
                         % (self.n, t, rec.id, before, st, short(b)))
            if legal and rec.version is not None and b.get("version") != rec.version + 1 and not may_expire:
                ctx.fail("wrong_body", "buyer %d: %s of order %d at version %d answered version %s"
                         % (self.n, t, rec.id, rec.version, b.get("version")))
            rec.status = to
            rec.version = b.get("version") if isinstance(b.get("version"), int) else None
            ctx.count("transition_ok:%s" % t)
            return
        if st == 409 and code == "illegal_transition":
            status = b.get("status")
            if retried and legal and status == to:
                # The attempt the kill cut off had committed: the retry finds it done.
                rec.status, rec.version = to, None
                ctx.count("transition_done_before_kill")
                return
            if status == "expired" and before == "pending" and ctx.expiry:
                if rec.expires_at is not None and time.time() < rec.expires_at - 1.0:
                    ctx.fail("early_expiry", "order %d answered expired %.1f s before its expires_at"
                             % (rec.id, rec.expires_at - time.time()))
                rec.status, rec.version = "expired", None
                ctx.count("found_expired")
                return
            if status == before and not legal:
                ctx.count("illegal_refused:%s" % t)
                return
            ctx.fail("wrong_status", "buyer %d: %s of order %d (model: %s%s) answered 409 illegal_transition status %s"
                     % (self.n, t, rec.id, before, ", retried" if retried else "", status))
            rec.status, rec.version = status or rec.status, None
            return
        if st >= 500:
            rec.status, rec.version = "unknown", None    # already a failure; the outcome is unknown
            return
        ctx.fail("wrong_status", "buyer %d: %s of order %d (model: %s%s) -> %d %s"
                 % (self.n, t, rec.id, before, ", retried" if retried else "", st, short(b)))
        rec.version = None


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

class Server:
    def __init__(self, aisle, index, port, env, log_path, token, expiry):
        self.aisle, self.index, self.port, self.env = aisle, index, port, env
        self.log_path, self.token, self.expiry = log_path, token, expiry
        self.proc = None
        self.starts = 0

    def start(self, timeout=180):
        """Starts `aisle serve` and waits for /healthz; returns the seconds it took, or raises RuntimeError."""
        self.starts += 1
        cmd = [self.aisle, "serve", "--index", self.index, "--port", str(self.port), "--token", self.token]
        if self.expiry:
            cmd += ["--order-expiry", str(self.expiry)]
        shown = ["T" if a == self.token else a for a in cmd]
        with open(self.log_path, "a") as f:
            f.write("\n=== start %d at %s: %s\n" % (self.starts, time.strftime("%H:%M:%S"), " ".join(shown)))
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        t0 = now()
        c = Client(self.port, timeout=2)
        while now() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("aisle serve exited with %s while starting; see %s:\n%s"
                                   % (self.proc.returncode, self.log_path, tail(self.log_path)))
            try:
                st, _, _ = c.call("GET", "/healthz")
                c.close()
                if st == 200:
                    return now() - t0
            except TRANSPORT_ERRORS:
                pass
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError("aisle serve did not answer /healthz within %d s; see %s" % (timeout, self.log_path))

    def kill9(self):
        """SIGKILL; True when the signal killed it (it was running)."""
        if self.proc is None:
            return False
        p, self.proc = self.proc, None
        if p.poll() is not None:
            return False
        os.kill(p.pid, signal.SIGKILL)
        rc = p.wait()
        return rc == -signal.SIGKILL

    def stop(self, timeout=60):
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return "killed after %d s without exiting on SIGTERM" % timeout
        return p.returncode

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


def tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def run_cmd(cmd, env, timeout=600):
    t0 = now()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).strip(), now() - t0


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

def read_model_lag(pg):
    """Orders whose read-model row is missing or differs in status / version (0: caught up)."""
    return int(pg.scalar("""
        SELECT count(*) FROM orders o FULL JOIN order_summaries s ON s.order_id = o.id
        WHERE o.id IS NULL OR s.order_id IS NULL OR o.status <> s.status OR o.version <> s.version""") or 0)


def allowed_statuses(rec, ctx):
    if rec.status == "unknown":      # a transition answered 5xx: anything its history allows
        return {"pending", "paid", "shipped", "delivered", "canceled", "expired"}
    if rec.status == "pending":
        return {"pending", "expired"} if ctx.expiry else {"pending"}
    return {rec.status}


def sql_checks(ctx, url, initial, acked, final, buyers_by_customer):
    """The database checks in one REPEATABLE READ snapshot. Returns (problems, facts)."""
    problems = []
    facts = {}

    def bad(kind, text, limit=8):
        if sum(1 for k, _ in problems if k == kind) < limit:
            problems.append((kind, text))
        facts["n_" + kind] = facts.get("n_" + kind, 0) + 1

    pg = PG(url)
    try:
        pg.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        heads = {int(r[0]): (int(r[1]), r[2], int(r[3])) for r in pg.query("SELECT id, customer_id, status, version FROM orders")}
        lines = collections.defaultdict(dict)
        for oid, pid, q, up, n in pg.query("SELECT order_id, product_id, quantity, unit_price::text, line_no FROM order_lines"):
            lines[int(oid)][pid] = (int(q), Decimal(up))
        events = collections.defaultdict(list)
        placed = {}
        for agg, v, typ, data in pg.query("SELECT aggregate_id, version, event_type, CASE WHEN version = 1 THEN data::text END "
                                          "FROM order_events WHERE aggregate_type = 'order' ORDER BY aggregate_id, version"):
            events[int(agg)].append((int(v), typ))
            if data is not None:
                placed[int(agg)] = data
        keys = {}
        key_rows = 0
        for cid, key, oid in pg.query("SELECT customer_id, key, order_id FROM order_idempotency"):
            keys[(int(cid), key)] = int(oid)
            key_rows += 1
        inventory = {r[0]: (int(r[1]), int(r[2])) for r in pg.query("SELECT product_id, available, reserved FROM inventory")}
        pg.query("COMMIT")
    finally:
        pg.close()

    facts["orders"] = len(heads)
    facts["by_status"] = dict(collections.Counter(h[1] for h in heads.values()))

    # 3. No partial order.
    keys_per_order = collections.Counter(keys.values())
    for oid, (cid, status, version) in sorted(heads.items()):
        if not lines.get(oid):
            bad("partial_order", "order %d (%s, version %d) has no lines" % (oid, status, version))
        ev = events.get(oid, [])
        if [v for v, _ in ev] != list(range(1, version + 1)):
            bad("partial_order", "order %d is at version %d but has events %s" % (oid, version, [v for v, _ in ev]))
        elif ev[0][1] != "OrderPlaced":
            bad("partial_order", "order %d starts with %s" % (oid, ev[0][1]))
        if keys_per_order.get(oid, 0) != 1:
            bad("partial_order", "order %d has %d idempotency keys" % (oid, keys_per_order.get(oid, 0)))
        data = placed.get(oid)
        if data is not None:
            try:
                d = json.loads(data)
                ev_lines = {ln["product_id"]: (int(ln["quantity"]), Decimal(str(ln["unit_price"]))) for ln in d.get("lines", [])}
                ev_total = Decimal(str(d.get("total")))
            except (ValueError, KeyError, TypeError, InvalidOperation) as e:
                bad("partial_order", "order %d: unreadable OrderPlaced data (%s): %s" % (oid, e, data[:200]))
                continue
            if ev_lines != lines.get(oid, {}):
                bad("partial_order", "order %d: OrderPlaced lines %s differ from order_lines %s" % (oid, ev_lines, lines.get(oid)))
            if ev_total != sum((q * up for q, up in ev_lines.values()), Decimal(0)):
                bad("partial_order", "order %d: OrderPlaced total %s is not the sum of its lines" % (oid, ev_total))
            if int(d.get("customer_id", -1)) != cid:
                bad("partial_order", "order %d: OrderPlaced customer %s, head customer %d" % (oid, d.get("customer_id"), cid))
    for oid in sorted(set(events) - set(heads)):
        bad("partial_order", "events of order %d, which has no orders row" % oid)
    for oid in sorted(set(lines) - set(heads)):
        bad("partial_order", "order_lines of order %d, which has no orders row" % oid)

    # 4. Stock oracle: initial - live quantities = available.
    live = collections.Counter()
    for oid, (cid, status, version) in heads.items():
        if status not in ("canceled", "expired"):
            for pid, (q, _) in lines.get(oid, {}).items():
                live[pid] += q
    for pid in sorted(set(initial) | set(inventory) | set(live)):
        init = initial.get(pid, 0)
        avail, reserved = inventory.get(pid, (0, 0))
        if avail < 0 or reserved < 0:
            bad("stock", "%s: available %d, reserved %d" % (pid, avail, reserved))
        if live[pid] > init:
            bad("stock", "%s oversold: live orders hold %d of %d units" % (pid, live[pid], init))
        if init - live[pid] != avail:
            bad("stock", "%s: initial %d - live orders %d = %d, but inventory.available is %d"
                % (pid, init, live[pid], init - live[pid], avail))
    facts["units_sold_live"] = sum(live.values())
    facts["sold_out"] = sum(1 for pid in initial if initial[pid] > 0 and inventory.get(pid, (0, 0))[0] == 0)

    # 5. One order per key.
    if key_rows != len(heads) or len(set(keys.values())) != key_rows:
        bad("idempotency", "%d idempotency rows for %d orders (%d distinct orders among them)"
            % (key_rows, len(heads), len(set(keys.values()))))

    # 2. Every acknowledged order is there, as acknowledged.
    for oid, rec in sorted(acked.items()):
        h = heads.get(oid)
        if h is None:
            bad("lost_order", "order %d (customer %d, key %s, acknowledged 201%s) is not in the database"
                % (oid, rec.customer, rec.key, " after a retry" if rec.retried else ""))
            continue
        if h[0] != rec.customer:
            bad("lost_order", "order %d belongs to customer %d, acknowledged to %d" % (oid, h[0], rec.customer))
        if lines.get(oid) != rec.lines:
            bad("lost_order", "order %d has lines %s, acknowledged %s" % (oid, lines.get(oid), rec.lines))
        data = placed.get(oid)
        try:
            t = Decimal(str(json.loads(data).get("total"))) if data else None
        except (ValueError, InvalidOperation):
            t = None
        if t != rec.total:
            bad("lost_order", "order %d has total %s, acknowledged %s" % (oid, t, rec.total))
        if keys.get((rec.customer, rec.key)) != oid:
            bad("idempotency", "key %s of customer %d maps to order %s, acknowledged as %d"
                % (rec.key, rec.customer, keys.get((rec.customer, rec.key)), oid))
        if final and h[1] not in allowed_statuses(rec, ctx):
            bad("status", "order %d is %s, its buyer knows it as %s" % (oid, h[1], rec.status))

    if final:
        # Exactly the keys answered 201 have orders; no order nobody was told about.
        for (cid, key), oid in sorted(keys.items()):
            ans = ctx.keys.get((cid, key))
            if ans is None:
                bad("unknown_order", "order %d (customer %d, key %s) exists but no buyer sent that key" % (oid, cid, key))
            elif ans[0].startswith("5"):
                facts["orders_behind_5xx"] = facts.get("orders_behind_5xx", 0) + 1   # the 5xx already failed the run
            elif ans[0] != "201":
                bad("unknown_order", "order %d exists for key %s (customer %d), which was answered %s %s"
                    % (oid, key, cid, ans[0], ans[1]))
        behind_5xx = {oid for k, oid in keys.items() if ctx.keys.get(k, ("",))[0].startswith("5")}
        for oid in sorted(set(heads) - set(acked) - behind_5xx):
            bad("unknown_order", "order %d (customer %d, %s) was never acknowledged to a buyer" % (oid, heads[oid][0], heads[oid][1]))
    return problems, facts


def http_checks(ctx, buyers):
    """Every acknowledged order read back through the API, and each buyer's order history."""
    problems = []
    c = Client(ctx.port, timeout=30)
    n = 0
    for oid, rec in sorted(ctx.acked.items()):
        try:
            st, b, _ = c.call("GET", "/api/v1/orders/%d" % oid, token=ctx.api_token)
        except TRANSPORT_ERRORS as e:
            problems.append(("http", "GET /api/v1/orders/%d: %r" % (oid, e)))
            continue
        n += 1
        if st != 200 or not isinstance(b, dict):
            problems.append(("lost_order", "GET /api/v1/orders/%d (API token) -> %d %s" % (oid, st, short(b))))
            continue
        got = {}
        for ln in b.get("lines") or []:
            got[ln.get("product_id")] = (ln.get("quantity"), dec(ln.get("unit_price")))
        why = []
        if got != rec.lines:
            why.append("lines %s, acknowledged %s" % (got, rec.lines))
        if dec(b.get("total")) != rec.total:
            why.append("total %s, acknowledged %s" % (b.get("total"), rec.total))
        if b.get("customer_id") != rec.customer:
            why.append("customer %s, acknowledged to %s" % (b.get("customer_id"), rec.customer))
        if b.get("status") not in allowed_statuses(rec, ctx):
            why.append("status %s, its buyer knows it as %s" % (b.get("status"), rec.status))
        if why:
            problems.append(("lost_order", "GET /api/v1/orders/%d: %s" % (oid, "; ".join(why))))
    # History pages (the read model): exactly each buyer's acknowledged orders, newest first.
    for bu in buyers:
        mine = {o.id for o in bu.orders}
        seen, before, pages = [], None, 0
        while pages < 1000:
            pages += 1
            path = "/api/v1/orders?limit=100" + ("&before=%d" % before if before else "")
            try:
                st, b, _ = c.call("GET", path, token=bu.token)
            except TRANSPORT_ERRORS as e:
                problems.append(("http", "buyer %d: GET %s: %r" % (bu.n, path, e)))
                break
            if st != 200 or not isinstance(b, dict):
                problems.append(("read_model", "buyer %d: GET %s -> %d %s" % (bu.n, path, st, short(b))))
                break
            seen += [o.get("id") for o in b.get("orders", [])]
            before = b.get("next_before")
            if not before:
                break
        if seen != sorted(seen, reverse=True) or len(set(seen)) != len(seen):
            problems.append(("read_model", "buyer %d: history not strictly newest first: %s" % (bu.n, seen[:20])))
        if set(seen) != mine:
            problems.append(("read_model", "buyer %d: history lists %d orders; missing %s, extra %s"
                             % (bu.n, len(set(seen)), sorted(mine - set(seen))[:10], sorted(set(seen) - mine)[:10])))
    c.close()
    return problems, n


def dump_tables(url, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    pg = PG(url)
    try:
        for t in ("orders", "order_lines", "order_events", "order_idempotency", "stock_movements", "inventory",
                  "order_summaries", "projector_checkpoints"):
            try:
                rows = pg.query("SELECT * FROM %s ORDER BY 1" % t)
            except RuntimeError as e:
                rows = [["error: %s" % e]]
            with open(os.path.join(out_dir, t + ".tsv"), "w") as f:
                for r in rows:
                    f.write("\t".join("\\N" if v is None else v.replace("\t", " ").replace("\n", " ") for v in r) + "\n")
    finally:
        pg.close()


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def default_aisle():
    for p in (os.path.join(ROOT, ".build/debug/aisle"), os.path.join(ROOT, ".build/release/aisle")):
        if os.access(p, os.X_OK):
            return p
    return os.path.join(ROOT, ".build/debug/aisle")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (head -70 %s) for what is checked." % os.path.relpath(__file__))
    ap.add_argument("--kills", type=int, default=10, help="rounds of storm + kill -9 + restart (default 10)")
    ap.add_argument("--aisle", default=default_aisle(), help="the aisle binary (default .build/debug/aisle, else .build/release/aisle)")
    ap.add_argument("--work", help="work directory (must be empty or absent; default a fresh temp dir)")
    ap.add_argument("--seed", type=int, help="random seed (default: random; printed)")
    ap.add_argument("--buyers", type=int, default=12, help="buyer threads, each its own customer (default 12)")
    ap.add_argument("--products", type=int, default=300, help="products in the catalog (default 300)")
    ap.add_argument("--min-storm", type=float, default=0.3, help="shortest storm before a kill, s (default 0.3)")
    ap.add_argument("--max-storm", type=float, default=2.5, help="longest storm before a kill, s (default 2.5)")
    ap.add_argument("--order-expiry", type=int, default=6,
                    help="aisle serve --order-expiry, s, so that unpaid orders expire during the run (0: not passed; default 6)")
    ap.add_argument("--transition-share", type=float, default=0.35,
                    help="share of iterations that first pay, ship, deliver or cancel one of the buyer's orders (default 0.35)")
    ap.add_argument("--port", type=int, default=HTTP_PORT, help="aisle serve's port (default %d)" % HTTP_PORT)
    ap.add_argument("--request-timeout", type=float, default=20.0, help="seconds before a request counts as unanswered (default 20)")
    ap.add_argument("--unreachable-s", type=float, default=180.0, help="a buyer gives up after this long without an answer (default 180)")
    ap.add_argument("--max-5xx", type=int, default=5, help="a request answered 5xx this many times in a row is given up (default 5)")
    ap.add_argument("--no-round-checks", action="store_true", help="check the database only at the end, not after every kill")
    ap.add_argument("--keep", action="store_true", help="keep the work directory after a clean run")
    ap.add_argument("--keep-services", action="store_true", help="leave the PostgreSQL and Redis this test started running")
    ap.add_argument("--verbose", action="store_true", help="print every interrupted request and accepted oddity")
    args = ap.parse_args()

    aisle = os.path.abspath(args.aisle)
    if not os.access(aisle, os.X_OK):
        print("order_crash_test: %s is not an executable (see --aisle)" % aisle, file=sys.stderr)
        return 2
    if args.buyers < 1 or args.products < HOT + 10 or args.kills < 0 or not 0 < args.min_storm <= args.max_storm:
        print("order_crash_test: need --buyers >= 1, --products >= %d, --kills >= 0, 0 < --min-storm <= --max-storm" % (HOT + 10),
              file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    if args.work:
        work = os.path.abspath(args.work)
        if os.path.exists(work) and os.listdir(work):
            print("order_crash_test: work directory %s is not empty" % work, file=sys.stderr)
            return 2
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="aisle-order-crash-")
    t_start = now()
    print("order crash test: seed %d, %d kills, %d buyers, aisle %s, work %s" % (seed, args.kills, args.buyers, aisle, work), flush=True)
    # A private copy: a rebuild of --aisle during the run must not mix two builds in one database.
    shutil.copy2(aisle, os.path.join(work, "aisle"))
    aisle = os.path.join(work, "aisle")

    services_env = dict(os.environ, AISLE_PG_PORT=PG_PORT, AISLE_REDIS_PORT=REDIS_PORT)
    services = False
    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    server = None
    ctx = None
    url = None
    buyers = []
    exit_code = 1
    try:
        # 1. Stores.
        if not base_url or not redis_url:
            r = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=services_env,
                               stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                print("order_crash_test: scripts/services.sh start failed (%d)" % r.returncode, file=sys.stderr)
                return 2
            services = True
            base_url = base_url or re.search(r"DATABASE_URL='([^']+)'", r.stdout).group(1)
            redis_url = redis_url or re.search(r"REDIS_URL='([^']+)'", r.stdout).group(1)
        admin = PG(base_url)
        admin.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB_NAME)
        admin.query("CREATE DATABASE %s" % DB_NAME)
        admin.close()
        url = re.sub(r"^(postgres(?:ql)?://[^/]+)(/[^?]*)?", r"\1/" + DB_NAME, base_url)
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, AISLE_ATTRIBUTES=os.path.join(work, "product_attributes.json"))
        env.pop("MONGODB_URI", None)
        env.pop("AISLE_API_TOKEN", None)

        # 2. Catalog, index, server.
        rng = random.Random(seed)
        products, hot = make_catalog(rng, args.products)
        initial = {p["id"]: p["stock"] for p in products}
        corpus = os.path.join(work, "catalog.jsonl")
        with open(corpus, "w") as f:
            for p in products:
                f.write(json.dumps(p) + "\n")
        for cmd, label in (([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], "aisle catalog load"),
                           ([aisle, "reindex", "--index", os.path.join(work, "index"), "--quiet"], "aisle reindex")):
            rc, out, dt = run_cmd(cmd, env)
            if rc != 0:
                print("order_crash_test: %s failed (%d):\n%s" % (label, rc, out[-3000:]), file=sys.stderr)
                return 2
        print("catalog: %d products (%d units; %d hot with 5..15 units, %d with none) loaded and indexed; orders expire after %s"
              % (len(products), sum(initial.values()), len(hot), sum(1 for v in initial.values() if v == 0),
                 "%d s" % args.order_expiry if args.order_expiry else "the server's default"), flush=True)
        api_token = "crash-" + hashlib.sha256(str(seed).encode()).hexdigest()[:24]
        server = Server(aisle, os.path.join(work, "index"), args.port, env, os.path.join(work, "serve.log"), api_token,
                        args.order_expiry)
        try:
            with socket.create_connection(("127.0.0.1", args.port), timeout=1):
                print("order_crash_test: port %d is in use (see --port)" % args.port, file=sys.stderr)
                return 2
        except OSError:
            pass
        try:
            up = server.start()
        except RuntimeError as e:
            print("order_crash_test: %s" % e, file=sys.stderr)
            return 2
        print("aisle serve on port %d (up in %.1f s)" % (args.port, up), flush=True)
        ctx = Ctx(args, args.port, api_token, seed, [p["id"] for p in products], hot)

        # 3. Buyers.
        c = Client(args.port, timeout=60)
        for i in range(args.buyers):
            email, password = "buyer%d-%d@crash.test" % (i, seed), "pw-%d-%d-secret" % (seed, i)
            st, b, _ = c.call("POST", "/api/v1/customers", {"email": email, "password": password, "name": "Buyer %d" % i})
            if st != 201:
                print("order_crash_test: POST /api/v1/customers -> %d %s" % (st, short(b)), file=sys.stderr)
                return 2
            st, b, _ = c.call("POST", "/api/v1/sessions", {"email": email, "password": password})
            if st != 201 or not isinstance(b, dict) or not b.get("token"):
                print("order_crash_test: log in -> %d %s" % (st, short(b)), file=sys.stderr)
                return 2
            buyers.append(Buyer(ctx, i, email, password, b["token"], int(b["customer_id"])))
        # Does this server take orders at all? (An empty cart must answer 409 cart_empty.)
        st, b, _ = c.call("POST", "/api/v1/orders", {"shipping_address": buyers[0].address, "payment_method_id": "pm_probe",
                                                     "expected_total": "0"}, buyers[0].token, {"Idempotency-Key": "probe-%d" % seed})
        c.close()
        if not (st == 409 and isinstance(b, dict) and b.get("error") == "cart_empty"):
            print("order_crash_test: POST /api/v1/orders with an empty cart -> %d %s (expected 409 cart_empty): "
                  "does this aisle serve the orders API?" % (st, short(b)), file=sys.stderr)
            return 2
        ctx.keys[(buyers[0].customer_id, "probe-%d" % seed)] = ("409", "cart_empty")
        print("%d buyers registered and logged in; storm starts" % len(buyers), flush=True)
        for bu in buyers:
            bu.start()

        # 4. Kill rounds.
        krng = random.Random(seed + 2)
        rows = []
        round_problems = 0
        for rnd in range(1, args.kills + 1):
            storm = krng.uniform(args.min_storm, args.max_storm)
            time.sleep(storm)
            inflight = collections.Counter(bu.inflight for bu in buyers if bu.inflight)
            acked_before = ctx.counts["acked"]
            pid = server.pid
            killed = server.kill9()
            row = {"round": rnd, "storm": storm, "inflight": inflight, "killed": killed, "pid": pid,
                   "acked": acked_before, "orders": None, "check": "-", "restart": None}
            if not killed:
                ctx.fail("server_exit", "round %d: aisle serve (pid %s) had exited before the kill; see %s"
                         % (rnd, pid, server.log_path))
            if not args.no_round_checks:
                snapshot = dict(ctx.acked)
                rc, out, _ = run_cmd([aisle, "inventory", "check"], env)
                if rc != 0:
                    ctx.fail("inventory_check", "round %d: aisle inventory check exited %d: %s" % (rnd, rc, out[-1500:]))
                problems, facts = sql_checks(ctx, url, initial, snapshot, False, None)
                for kind, text in problems:
                    ctx.fail(kind, "round %d: %s" % (rnd, text))
                round_problems += len(problems) + (rc != 0)
                row["orders"] = facts["orders"]
                row["check"] = "ok" if not problems and rc == 0 else "FAIL"
            try:
                row["restart"] = server.start()
            except RuntimeError as e:
                ctx.fail("restart", "round %d: %s" % (rnd, e))
                rows.append(row)
                ctx.abort.set()
                break
            rows.append(row)
            print("round %3d: storm %.2f s, %s in flight, %s, %d acknowledged so far, %s orders in the database, "
                  "checks %s, restart %.2f s"
                  % (rnd, storm, ", ".join("%d %s" % (n, k) for k, n in sorted(inflight.items())) or "nothing",
                     "killed" if killed else "NOT RUNNING", acked_before, row["orders"] if row["orders"] is not None else "?",
                     row["check"], row["restart"]), flush=True)

        # 5. Let the buyers finish what they started, then the final checks.
        if not ctx.abort.is_set():
            time.sleep(krng.uniform(args.min_storm, args.max_storm))
        ctx.stop.set()
        t_join = now()
        for bu in buyers:
            bu.join(max(1.0, args.unreachable_s + 60 - (now() - t_join)))
        stuck = [bu.n for bu in buyers if bu.is_alive()]
        if stuck:
            ctx.fail("stuck", "buyers %s did not finish (a request never answered)" % stuck)
            ctx.abort.set()
        final_ok = not ctx.abort.is_set()
        lag_s = None
        http_reads = 0
        final_facts = {}
        inv_out = rebuild_out = None
        inv_rc = rebuild_rc = None
        if final_ok:
            pg = PG(url)
            t0 = now()
            lag = read_model_lag(pg)
            while lag and now() - t0 < 60:     # (the sweeper keeps adding events: caught up once is enough here)
                time.sleep(0.1)
                lag = read_model_lag(pg)
            lag_s = now() - t0
            if lag:
                ctx.fail("read_model", "the read model still differs from the orders in %d orders 60 s after the buyers stopped" % lag)
            problems, http_reads = http_checks(ctx, buyers)
            for kind, text in problems[:30]:
                ctx.fail(kind, text)
            # Stop the server on a caught-up read model (an expiry may slip in: then once more).
            for attempt in range(3):
                t0 = now()
                while read_model_lag(pg) and now() - t0 < 30:
                    time.sleep(0.1)
                rc = server.stop()
                if rc not in (0, -signal.SIGTERM):
                    ctx.note("aisle serve exited %s on SIGTERM" % rc)
                if not read_model_lag(pg):
                    break
                if attempt == 2:
                    ctx.fail("read_model", "the read model lags the orders after every graceful stop")
                    break
                try:
                    server.start()
                except RuntimeError as e:
                    ctx.fail("restart", "final: %s" % e)
                    break
            pg.close()

            problems, final_facts = sql_checks(ctx, url, initial, dict(ctx.acked), True, None)
            for kind, text in problems:
                ctx.fail(kind, "final: " + text)
            inv_rc, inv_out, _ = run_cmd([aisle, "inventory", "check"], env)
            if inv_rc != 0:
                ctx.fail("inventory_check", "final: aisle inventory check exited %d: %s" % (inv_rc, inv_out[-1500:]))
            rebuild_rc, rebuild_out, _ = run_cmd([aisle, "orders", "rebuild"], env)
            if rebuild_rc != 0:
                ctx.fail("rebuild", "final: aisle orders rebuild exited %d: %s" % (rebuild_rc, rebuild_out[-1500:]))
        else:
            server.stop()

        # 6. Report.
        C = ctx.counts
        elapsed = now() - t_start
        print()
        print("%5s %6s %9s %10s %8s %7s %6s %8s" % ("round", "storm", "acked", "db orders", "in-flt", "orders", "check", "restart"))
        for r in rows:
            print("%5d %6.2f %9d %10s %8d %7d %6s %8s" % (r["round"], r["storm"], r["acked"], r["orders"] if r["orders"] is not None else "-",
                                                         sum(r["inflight"].values()), r["inflight"].get("order", 0), r["check"],
                                                         "%.2f" % r["restart"] if r["restart"] is not None else "-"))
        answers = sorted((k[len("answer:"):], n) for k, n in C.items() if k.startswith("answer:"))
        retried_final = sorted((k[len("retried_final:"):], n) for k, n in C.items() if k.startswith("retried_final:"))
        trans = sorted((k[len("transitions:"):], n) for k, n in C.items() if k.startswith("transitions:"))
        trans_ok = sorted((k[len("transition_ok:"):], n) for k, n in C.items() if k.startswith("transition_ok:"))
        illegal = sum(n for k, n in C.items() if k.startswith("illegal_refused:"))
        kills_with_orders = sum(1 for r in rows if r["inflight"].get("order"))
        unanswered = sum(max(0, r["orders"] - r["acked"]) for r in rows if r["orders"] is not None)
        print()
        restarts = [r["restart"] for r in rows if r["restart"] is not None]
        print("kills: %d of %d rounds (%d with an order request in flight, %d order requests in flight in all); "
              "restarts took %s s"
              % (sum(1 for r in rows if r["killed"]), len(rows), kills_with_orders, sum(r["inflight"].get("order", 0) for r in rows),
                 "%.2f..%.2f" % (min(restarts), max(restarts)) if restarts else "-"))
        print("orders: %d requests, %d acknowledged (201), %d of them after a retry; other answers: %s"
              % (C["order_requests"], C["acked"], C["acked_after_retry"], ", ".join("%s x%d" % a for a in answers) or "none"))
        if not args.no_round_checks:
            print("orders committed but not yet answered when the server died (database - acknowledged at each kill): %d"
                  % unanswered)
        print("retried order requests (no answer, then the same key again): %d, ending %s; in_progress waits %d; "
              "carts that kept their lines after a retried 201: %d%s"
              % (C["order_requests_retried"], ", ".join("%s x%d" % a for a in retried_final) or "-", C["in_progress_answers"],
                 C["cart_kept_lines_after_retried_201"],
                 "; %d order requests left unresolved by 5xx answers" % C["order_requests_unresolved"]
                 if C["order_requests_unresolved"] else ""))
        print("transitions: %s requested (%s succeeded; %d refused as illegal, as expected; %d found done by the attempt "
              "a kill cut off; %d found expired); %d retried; %d cart fills cut off by a kill; %d requests without an answer"
              % (", ".join("%s %d" % t for t in trans) or "none", ", ".join("%s %d" % t for t in trans_ok) or "none", illegal,
                 C["transition_done_before_kill"], C["found_expired"], C["transitions_retried"], C["cart_interrupted"],
                 C["transport_errors"]))
        if final_facts:
            print("database: %d orders (%s), %d units held by live orders, %d products sold out; read model caught up %.2f s "
                  "after the buyers stopped; %d orders read back over HTTP"
                  % (final_facts["orders"], ", ".join("%s %d" % kv for kv in sorted(final_facts["by_status"].items())),
                     final_facts["units_sold_live"], final_facts["sold_out"], lag_s or 0, http_reads)
                  + ("; %d orders stand behind keys answered 5xx" % final_facts["orders_behind_5xx"]
                     if final_facts.get("orders_behind_5xx") else ""))
        if inv_out is not None:
            print("aisle inventory check: exit %s: %s" % (inv_rc, (inv_out.splitlines() or [""])[-1][:300]))
        if rebuild_out is not None:
            print("aisle orders rebuild: exit %s: %s" % (rebuild_rc, (rebuild_out.splitlines() or [""])[-1][:300]))
        if ctx.failures:
            print()
            kinds = collections.Counter(k for k, _ in ctx.failures)
            print("failures: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
            shown = collections.Counter()
            for kind, text in ctx.failures:
                shown[kind] += 1
                if shown[kind] <= 10:
                    print("  %s: %s" % (kind, text))
        print()
        print("%.0f s in all" % elapsed)
        if ctx.failures:
            exit_code = 1
        else:
            exit_code = 0
        return exit_code
    finally:
        if ctx is not None:
            ctx.abort.set()
            ctx.stop.set()
        if server is not None and server.proc is not None:
            server.stop()
        if exit_code != 0 and url is not None:
            try:
                dump_tables(url, os.path.join(work, "dump"))
            except Exception as e:  # the dump is a courtesy; the verdict stands without it
                print("(could not dump the tables: %s)" % e)
        if services and not args.keep_services:
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=services_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if exit_code != 0:
            print("FAILED (seed %d); work directory kept: %s (serve.log, dump/*.tsv)" % (seed, work))
        elif args.keep or args.work:
            print("PASSED; work directory: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
            print("PASSED")


if __name__ == "__main__":
    sys.exit(main())
