#!/usr/bin/env python3
"""The orders API under load: placement throughput and latency, a hot-product race, sold out -> search,
and the projector's lag (issue 16).

    Benchmarks/orders_load.py [--products 1000000] [--corpus C] [--aisle .build/release/aisle]
        [--seconds 30] [--repeat 3] [--buyers 16] [--race-rounds 500] [--json OUT]      (--help for all)

Setup
1. Corpus: the synth catalog (../shared/corpora/synth/gen_catalog.py --products N --seed 42),
   generated into --work unless --corpus is given (e.g. /work/data/catalog-1m.jsonl).
2. Stores: PostgreSQL and Redis from `scripts/services.sh` on their own ports (55491 / 56491),
   stopped at the end, unless DATABASE_URL / REDIS_URL are set; a fresh database `aisle_orders_bench`
   (dropped and created) and the REDIS_URL's database emptied (FLUSHDB).
3. `aisle catalog load --corpus C`. Then, in SQL, three disjoint samples of active in-stock products
   (md5 order, so the same catalog gives the same samples): the *pool* (--pool, default 50,000, or
   what the catalog has left) gets 1,000,000 units each (plenty: orders never run out), the
   *sell-out* products (--sellouts x --repeat) get 1-3 units each, the *race* products (one per race
   round) are left as loaded (the race sets their stock through the API). Only then `aisle reindex
   --index WORK/index`, so the index starts with the stock just set (and carries the change-log
   position `aisle serve` follows).
4. `aisle serve --index WORK/index --port 18491 --token T --order-expiry 86400` with DATABASE_URL
   and REDIS_URL (the server follows the catalog's change log, runs the order projector and the
   expiry sweeper). The default expiry is a day so that no order expires during the benchmark
   (an expiry gives stock back and adds load); --order-expiry changes it.
5. --buyers (16) registered customers (POST /api/v1/customers, then POST /api/v1/sessions with
   email and password: argon2id, ~50 ms each, done once), each with its own keep-alive HTTP
   connection (Python threads, http.client, TCP_NODELAY) on loopback, sharing the machine's cores
   with the server, PostgreSQL and Redis.
6. Then it waits until the server and PostgreSQL are quiet (under 10% of a core over a second;
   at most --settle-timeout): a fresh server reads the attribute file in the background and
   autovacuum takes up the bulk load, and neither is what the runs measure.

1. Uncontended placement (a warm-up of --warmup-seconds, then --repeat runs of --seconds)
   Each buyer loops: a cart of 1-5 random pool products (quantity 1 to --max-quantity) filled with
   POST /api/v1/cart/items (not timed), GET /api/v1/cart for the total (not timed; the items must be
   exactly the ones added: a leftover line is counted as `cart mismatch`), then POST /api/v1/orders
   with a fresh Idempotency-Key (a UUID) and expected_total = the cart's total: *timed*, this is
   the order latency. A 201 must carry the cart's total and lines (else `wrong order`); any other
   answer is an error (counted by status and error code) and the cart is cleared (DELETE
   /api/v1/cart) before the next order. A lost connection is retried once with the same key (safe:
   idempotent); 409 `in_progress` is retried after its Retry-After with the same key (both counted).
   Reported per run: orders/s = 201s / the run's wall time, cart filling included (the target's
   figure); p50 / p90 / p99 / max of POST /api/v1/orders alone; errors by status; where a buyer's
   time goes (cart adds, GET cart, POST order); CPU seconds per 1,000 orders of aisle, PostgreSQL
   (postmaster and backends), Redis and this load generator; machine busy. Medians over the runs.
   Targets: >= 200 orders/s, p99 <= 100 ms (and 0 errors).

2. Hot product race (--race-rounds rounds, after the runs)
   Each round has its own product (so an order of an earlier round can never give stock back to
   this one). The stock is set with PUT /api/v1/inventory/{id} {"available": --race-stock} (API
   token; SQL if that route is missing, noted), every buyer puts 1 unit of it in an otherwise empty
   cart (not timed), and when all are ready (a barrier) all send POST /api/v1/orders at once
   (timed). Per round exactly min(stock, buyers) must get 201 and the rest 409 `out_of_stock`, and
   GET /api/v1/inventory/{id} must then show available = stock - min(stock, buyers) (0 when the
   stock is below the number of buyers). Oversold = 201s beyond the stock; after the race, SQL sums
   each race product's order_lines quantities and compares them with the stock given and the 201s
   the buyers got (and its inventory row). Reported: order latency p50 / p90 / p99 / max over all
   rounds (and per outcome), rounds with the wrong number of winners, oversold units.
   Targets: p99 <= 250 ms, 0 oversold (and every round exact).

   --rate R paces the buyers instead: together they start R order cycles per second (each buyer
   one every buyers/R seconds from a random phase; one that falls behind starts its next cycle at
   once). The issue's "200 orders/s with p99 <= 100 ms" is judged at --rate 200; the closed loop
   (default) shows the capacity, with every queue full.

3. Sold out -> `in_stock: false` in search (during the measured runs of 1)
   --sellouts times per run, spread evenly over it, a buyer's next order includes a sell-out
   product with its whole stock (1-3 units) among its 1-5 lines. From that order's 201, a prober
   thread polls GET /api/v1/products/{id} (the served index's view, as in catalog_sync.py) every
   --poll-ms (5 ms) until it answers `"in_stock": false` (or `"stock": 0` when the field is not
   stored). Latency = the time that answer arrived - the time the 201 arrived (an upper bound by at
   most one poll). Not seen within --probe-timeout (10 s) counts as missing. p99 over all runs'
   sell-outs (pooled: each run has only --sellouts of them). Target: p99 < 1 s, none missing.

4. Projector lag (during the measured runs of 1)
   Up to --lag-rate orders per second (the first 201 after each 1/rate interval) are followed by
   another prober thread: GET /api/v1/orders?limit=1&before=<id+1> with the buyer's session every
   --poll-ms until the answer's first order is that id (the read model has it); its total, status
   and item count must equal the 201's (else `wrong summary`). Latency = that answer's arrival -
   the 201's arrival. p99 pooled over the runs. Target: p99 < 500 ms, none missing.

Afterwards
   A few contract checks, one request at a time (no guest orders, Idempotency-Key required,
   totals_changed, replay of a key answers the same 201, a reused key with another body 422,
   cart_empty, out_of_stock, owner-only reads, events, cancel giving stock back, pay -> ship ->
   deliver, illegal transitions), reported but not part of the targets. Then the script waits until
   the read model has every order at its version and status (up to 60 s; an order the projector
   skipped stays missing: target 0 behind), stops the server, and runs `aisle inventory check` and
   `aisle orders rebuild` against the database: both must exit 0 (targets).

--json OUT: everything, samples' summaries per run. Work files (`serve.log`, the index) go to
$BENCH_DATA/orders-load. Only Python 3's standard library (minimal PostgreSQL and Redis clients
below). Release builds only (`swift build -c release`); a debug build only checks the script.

    Benchmarks/orders_load.py --json /tmp/aisle-bench/orders-load-1m.json          # 1M synth, 3 x 30 s, 500 rounds
    Benchmarks/orders_load.py --products 20000 --seconds 10 --repeat 1 --race-rounds 30          # quick (or --corpus FILE)
    DATABASE_URL=postgresql://... REDIS_URL=redis://... Benchmarks/orders_load.py ...   # existing stores (left running)
"""
import argparse
import decimal
import http.client
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from pgwire import PG  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
now = time.monotonic
PG_PORT, REDIS_PORT, HTTP_PORT = "55491", "56491", 18491
DB_NAME = "aisle_orders_bench"
POOL_STOCK = 1000000
PASSWORD = "orders-bench-password-1"
ADDRESS = {"name": "Bench Buyer", "line1": "1 Load Street", "city": "Loopback", "region": "LB", "postal_code": "12345",
           "country": "US"}
PAYMENT = "pm_bench_card"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# MARK: - A minimal PostgreSQL client (simple query protocol)

def sql_text_array(xs):
    return "ARRAY[%s]::text[]" % ",".join("'%s'" % x.replace("'", "''") for x in xs)


# MARK: - A minimal Redis client (RESP: INFO only)

class Redis:
    def __init__(self, url):
        m = re.match(r"rediss?://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?]+)(?::(\d+))?(?:/(\d+))?", url)
        if not m:
            raise SystemExit("cannot parse REDIS_URL %s (redis://[:password@]host:port/db)" % url)
        self.host, self.port = m.group(3), int(m.group(4) or 6379)
        self.sock = socket.create_connection((self.host, self.port), timeout=30)
        self.buf = b""
        if m.group(2):
            self.command("AUTH", *([m.group(1)] if m.group(1) else []), m.group(2))

    def command(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        line = self._line()
        if line[:1] == b"-":
            raise RuntimeError("Redis: " + line[1:].decode())
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        return line[1:].decode()

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("Redis closed the connection")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cpu_s(self):
        out = {}
        for line in self.command("INFO", "cpu").splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return float(out.get("used_cpu_user", 0)) + float(out.get("used_cpu_sys", 0))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# MARK: - HTTP

class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection; reconnects and resends once when the server closed it (POST
    /api/v1/orders carries its Idempotency-Key, so the resend is safe)."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout, self.conn = port, timeout, None
        self.resends = 0

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None else None
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = _Conn("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode(errors="replace")
                return r.status, parsed, dict((k.lower(), v) for k, v in r.getheaders())
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
                self.resends += 1
            except (OSError, http.client.HTTPException):
                self.close()
                raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def short(body, n=300):
    try:
        s = json.dumps(body)
    except (TypeError, ValueError):
        s = repr(body)
    return s if len(s) <= n else s[:n] + "..."


def err_code(st, body):
    """'201', '409 out_of_stock', '503', 'socket' ..."""
    if st is None:
        return "socket"
    if st == 201 or not isinstance(body, dict):
        return str(st)
    e = body.get("error")
    if isinstance(e, str) and re.fullmatch(r"[a-z_]{1,40}", e):
        return "%d %s" % (st, e)
    return str(st)


def dec(x):
    try:
        return decimal.Decimal(str(x))
    except (decimal.InvalidOperation, TypeError, ValueError):
        return None


# MARK: - Numbers

def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(math.ceil(p * len(s) / 100.0)) - 1))]


def lat_ms(xs):
    """p50 / p90 / p99 / max / mean in ms of latencies in seconds."""
    if not xs:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    return {"count": len(xs), "p50": pct(xs, 50) * 1000, "p90": pct(xs, 90) * 1000, "p99": pct(xs, 99) * 1000,
            "max": max(xs) * 1000, "mean": sum(xs) / len(xs) * 1000}


def fmt(x, nd=2):
    return "-" if x is None else ("{:,.%df}" % nd).format(x)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def add_counts(into, d):
    for k, v in d.items():
        into[k] = into.get(k, 0) + v
    return into


def run(cmd, env, label):
    t0 = now()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = now() - t0
    if r.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s%s" % (label, r.returncode, r.stdout[-2000:], r.stderr[-4000:]))
    return dt, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def proc_cpu_s(pid):
    try:
        f = _stat_fields(pid)
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def tree_cpu_s(pid):
    """CPU seconds of a process, its live children and the children it has reaped (PostgreSQL:
    the postmaster, its backends and background workers)."""
    if pid is None:
        return None
    tck = os.sysconf("SC_CLK_TCK")
    try:
        f = _stat_fields(pid)
        total = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    except (OSError, IndexError, ValueError):
        return None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = _stat_fields(int(d))
            if int(f[1]) == pid:
                total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        except (OSError, IndexError, ValueError):
            pass
    return total / tck


def proc_rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def self_cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def postmaster_pid(pg):
    """The postmaster's pid from postmaster.pid in the data directory (local servers only)."""
    try:
        d = pg.query("SELECT setting FROM pg_settings WHERE name = 'data_directory'")[0][0]
        with open(os.path.join(d, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, RuntimeError, IndexError, ValueError):
        return None


class CPU:
    def __init__(self, server_pid, pg_pid, redis):
        self.server_pid, self.pg_pid, self.redis = server_pid, pg_pid, redis

    def snap(self):
        try:
            r = self.redis.cpu_s() if self.redis else None
        except (OSError, RuntimeError):
            r = None
        return {"aisle": proc_cpu_s(self.server_pid), "postgres": tree_cpu_s(self.pg_pid), "redis": r,
                "load generator": self_cpu_s(), "busy": machine_busy()}

    @staticmethod
    def per_1k(a, b, n):
        out = {}
        for k in ("aisle", "postgres", "redis", "load generator"):
            out[k] = (b[k] - a[k]) * 1000.0 / n if n and a[k] is not None and b[k] is not None else None
        out["machine_busy"] = (b["busy"][0] - a["busy"][0]) / max(1, b["busy"][1] - a["busy"][1])
        return out


# MARK: - Buyers

class Buyer:
    def __init__(self, idx, email, token, customer_id, port):
        self.idx, self.email, self.token, self.customer_id = idx, email, token, customer_id
        self.client = Client(port)
        self.dirty = True   # the cart may hold something: clear it before the next cart


def register_buyers(port, n, threads=4):
    tag = uuid.uuid4().hex[:8]
    buyers = [None] * n
    errors = []
    lock = threading.Lock()
    todo = list(range(n))

    def worker():
        c = Client(port)
        while True:
            with lock:
                if not todo or errors:
                    break
                k = todo.pop()
            email = "buyer%02d-%s@orders-bench.example" % (k, tag)
            try:
                st, body, _ = c.call("POST", "/api/v1/customers", {"email": email, "password": PASSWORD, "name": "Buyer %d" % k})
                if st not in (201, 409):
                    raise RuntimeError("POST /api/v1/customers -> %s %s" % (st, short(body)))
                st, body, _ = c.call("POST", "/api/v1/sessions", {"email": email, "password": PASSWORD})
                if st != 201 or not isinstance(body, dict) or not body.get("token"):
                    raise RuntimeError("POST /api/v1/sessions (login) -> %s %s" % (st, short(body)))
                buyers[k] = Buyer(k, email, body["token"], body.get("customer_id"), port)
            except (OSError, http.client.HTTPException, RuntimeError) as e:
                with lock:
                    errors.append(str(e))
        c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit("registering the buyers failed:\n  " + "\n  ".join(errors[:5]))
    return buyers


def order_body(total, payment=PAYMENT):
    return {"shipping_address": ADDRESS, "payment_method_id": payment, "expected_total": total}


def place_order(c, token, total, key=None, max_in_progress=5):
    """POST /api/v1/orders; 409 in_progress is retried with the same key after Retry-After.
    Returns (status or None, body, headers, seconds, in_progress retries)."""
    key = key or str(uuid.uuid4())
    t0 = now()
    retries = 0
    while True:
        try:
            st, body, h = c.call("POST", "/api/v1/orders", order_body(total), token=token, headers={"Idempotency-Key": key})
        except (OSError, http.client.HTTPException) as e:
            return None, repr(e), {}, now() - t0, retries
        if st == 409 and isinstance(body, dict) and body.get("error") == "in_progress" and retries < max_in_progress:
            retries += 1
            try:
                wait = float(h.get("retry-after", "1") or 1)
            except ValueError:
                wait = 1.0
            time.sleep(min(5.0, max(0.01, wait)))
            continue
        return st, body, h, now() - t0, retries


def cart_items(body):
    if not isinstance(body, dict):
        return None
    out = {}
    for it in body.get("items") or []:
        out[it.get("product_id")] = out.get(it.get("product_id"), 0) + int(it.get("quantity") or 0)
    return out


def fill_cart(b, lines, stats):
    """Clears the cart when needed, adds the lines, reads it back. Returns the cart total or None.
    Retries once from an empty cart when GET /api/v1/cart does not show exactly the lines."""
    c = b.client
    for attempt in (0, 1):
        if b.dirty or attempt:
            st, body, _ = c.call("DELETE", "/api/v1/cart", token=b.token)
            stats["cart_requests"] += 1
            if st != 200:
                stats["cart_errors"] += 1
                stats["examples"].append("DELETE /api/v1/cart -> %s %s" % (st, short(body)))
                return None
            b.dirty = False
        t0 = now()
        for p, q in lines.items():
            st, body, _ = c.call("POST", "/api/v1/cart/items", {"product_id": p, "quantity": q}, token=b.token)
            stats["cart_requests"] += 1
            if st != 200:
                stats["cart_errors"] += 1
                stats["examples"].append("POST /api/v1/cart/items %s x%d -> %s %s" % (p, q, st, short(body)))
                b.dirty = True
                return None
        t1 = now()
        st, body, _ = c.call("GET", "/api/v1/cart", token=b.token)
        t2 = now()
        stats["cart_requests"] += 1
        stats["t_add"] += t1 - t0
        stats["t_get"] += t2 - t1
        if st != 200 or not isinstance(body, dict) or body.get("total") is None:
            stats["cart_errors"] += 1
            stats["examples"].append("GET /api/v1/cart -> %s %s" % (st, short(body)))
            b.dirty = True
            return None
        got = cart_items(body)
        if got == lines:
            return body["total"]
        stats["cart_mismatch"] += 1
        if len(stats["examples"]) < 30:
            stats["examples"].append("buyer %d: GET /api/v1/cart shows %s after adding %s to a %s cart"
                                     % (b.idx, short(got, 200), short(lines, 200), "cleared" if attempt else "supposedly empty"))
        b.dirty = True
    return None


# MARK: - Probers (sold out -> search; projector lag)

class Prober(threading.Thread):
    """Polls each pending item every `interval` seconds on its own connection until `check` says it
    is visible (latency = answer time - start) or `timeout` passes (missing)."""

    def __init__(self, port, interval, timeout, name):
        super().__init__(daemon=True, name=name)
        self.client = Client(port)
        self.interval, self.timeout = interval, timeout
        self.lock = threading.Lock()
        self.pending = []
        self.results, self.missing, self.wrong, self.errors = [], [], [], []
        self.polls = 0
        self.stopping = False

    def add(self, item):
        with self.lock:
            self.pending.append(item)

    def check(self, item):   # -> (visible, problem or None)
        raise NotImplementedError

    def run(self):
        while True:
            with self.lock:
                items = list(self.pending)
                if not items and self.stopping:
                    break
            t_loop = now()
            for it in items:
                if now() - it["t0"] > self.timeout:
                    self.missing.append(it)
                    self._drop(it)
                    continue
                try:
                    seen, problem = self.check(it)
                except (OSError, http.client.HTTPException) as e:
                    seen, problem = False, None
                    if len(self.errors) < 10:
                        self.errors.append(repr(e))
                self.polls += 1
                if seen:
                    it["lag"] = it["seen_at"] - it["t0"]
                    self.results.append(it)
                    if problem:
                        self.wrong.append(problem)
                    self._drop(it)
            left = self.interval - (now() - t_loop)
            time.sleep(left if left > 0 and items else (0.001 if not items else 0))
        self.client.close()

    def _drop(self, it):
        with self.lock:
            try:
                self.pending.remove(it)
            except ValueError:
                pass

    def finish(self):
        with self.lock:
            self.stopping = True
        self.join(self.timeout + 30)


class SelloutProber(Prober):
    def __init__(self, port, interval, timeout):
        super().__init__(port, interval, timeout, "sellout-prober")
        self.no_field = 0

    def check(self, it):
        st, body, _ = self.client.call("GET", "/api/v1/products/" + it["product"])
        it["seen_at"] = now()
        if st != 200 or not isinstance(body, dict):
            if len(self.errors) < 10:
                self.errors.append("GET /api/v1/products/%s -> %s %s" % (it["product"], st, short(body, 200)))
            return False, None
        if "in_stock" in body:
            return body["in_stock"] is False, None
        if "stock" in body:
            self.no_field += 1
            return body["stock"] == 0, None
        self.no_field += 1
        return False, None


class LagProber(Prober):
    def __init__(self, port, interval, timeout, rate):
        super().__init__(port, interval, timeout, "lag-prober")
        self.gap = 1.0 / rate if rate > 0 else None
        self.last = -1e9
        self.offer_lock = threading.Lock()

    def offer(self, order, token, t0):
        if self.gap is None:
            return
        with self.offer_lock:
            if t0 - self.last < self.gap:
                return
            self.last = t0
        self.add({"id": int(order["id"]), "token": token, "t0": t0, "total": order.get("total"),
                  "items": order.get("item_count"), "status": order.get("status")})

    def check(self, it):
        st, body, _ = self.client.call("GET", "/api/v1/orders?limit=1&before=%d" % (it["id"] + 1), token=it["token"])
        it["seen_at"] = now()
        if st != 200 or not isinstance(body, dict):
            if len(self.errors) < 10:
                self.errors.append("GET /api/v1/orders?limit=1&before=%d -> %s %s" % (it["id"] + 1, st, short(body, 200)))
            return False, None
        orders = body.get("orders") or []
        if not orders or orders[0].get("id") != it["id"]:
            return False, None
        s = orders[0]
        problems = []
        if dec(s.get("total")) != dec(it["total"]):
            problems.append("total %s, the 201 said %s" % (s.get("total"), it["total"]))
        if it["items"] is not None and s.get("item_count") != it["items"]:
            problems.append("item_count %s, the 201 said %s" % (s.get("item_count"), it["items"]))
        if s.get("status") not in ("pending", it["status"]):
            problems.append("status %s" % s.get("status"))
        return True, ("order %d: %s" % (it["id"], "; ".join(problems)) if problems else None)


class SelloutQueue:
    """Sell-out products handed out evenly over a run: the i-th is due at start + (i + 0.5) * seconds / n."""

    def __init__(self, items, t0, seconds):
        self.items, self.i, self.lock = list(items), 0, threading.Lock()
        n = max(1, len(self.items))
        self.due = [t0 + (k + 0.5) * seconds / n for k in range(len(self.items))]

    def take(self):
        with self.lock:
            if self.i < len(self.items) and now() >= self.due[self.i]:
                self.i += 1
                return self.items[self.i - 1]
        return None


# MARK: - 1. Uncontended placement

def new_stats():
    return {"orders": 0, "statuses": {}, "lat": [], "examples": [], "cart_errors": 0, "cart_mismatch": 0, "cart_requests": 0,
            "wrong_orders": 0, "t_add": 0.0, "t_get": 0.0, "t_order": 0.0, "adds": 0, "lines": 0, "units": 0,
            "in_progress_retries": 0, "sellouts_placed": 0, "sellouts_failed": 0, "cycles": 0}


def buyer_run(b, a, pool, rng, deadline, sellouts, sell_probe, lag_probe, stats):
    # --rate: each buyer starts an order cycle every buyers/rate seconds (offered load, paced from a
    # random phase); a buyer that falls behind starts the next cycle at once. 0: as fast as it can.
    interval = a.buyers / a.rate if a.rate > 0 else 0.0
    next_start = now() + rng.uniform(0, interval)
    while now() < deadline:
        if interval:
            wait = next_start - now()
            if wait > 0:
                time.sleep(wait)
            next_start += interval
            if now() >= deadline:
                break
        stats["cycles"] += 1
        n = rng.randint(1, 5)
        lines = {p: rng.randint(1, a.max_quantity) for p in rng.sample(pool, n)}
        so = sellouts.take() if sellouts else None
        if so:
            if n == 5:
                lines.pop(next(iter(lines)))
            lines[so[0]] = so[1]
        try:
            total = fill_cart(b, lines, stats)
            if total is None:
                if so:
                    stats["sellouts_failed"] += 1
                continue
            stats["adds"] += len(lines)
            st, body, _, dt, retries = place_order(b.client, b.token, total)
        except (OSError, http.client.HTTPException) as e:
            b.client.close()
            b.dirty = True
            stats["cart_errors"] += 1
            stats["examples"].append("buyer %d: %r" % (b.idx, e))
            if so:
                stats["sellouts_failed"] += 1
            continue
        t1 = now()
        stats["in_progress_retries"] += retries
        stats["lat"].append(dt)
        stats["t_order"] += dt
        code = err_code(st, body)
        stats["statuses"][code] = stats["statuses"].get(code, 0) + 1
        if st == 201 and isinstance(body, dict) and body.get("id") is not None:
            stats["orders"] += 1
            got = {}
            for ln in body.get("lines") or []:
                got[ln.get("product_id")] = got.get(ln.get("product_id"), 0) + int(ln.get("quantity") or 0)
            if dec(body.get("total")) != dec(total) or got != lines:
                stats["wrong_orders"] += 1
                if len(stats["examples"]) < 30:
                    stats["examples"].append("buyer %d: 201 order %s has total %s lines %s; the cart had total %s lines %s"
                                             % (b.idx, body.get("id"), body.get("total"), short(got, 150), total, short(lines, 150)))
            stats["lines"] += len(lines)
            stats["units"] += sum(lines.values())
            if lag_probe:
                lag_probe.offer(body, b.token, t1)
            if so:
                stats["sellouts_placed"] += 1
                sell_probe.add({"product": so[0], "stock": so[1], "order": body.get("id"), "t0": t1})
        else:
            b.dirty = True
            if so:
                stats["sellouts_failed"] += 1
            if len(stats["examples"]) < 30:
                stats["examples"].append("buyer %d: POST /api/v1/orders (cart %s, expected_total %s) -> %s %s"
                                         % (b.idx, short(lines, 150), total, st, short(body)))


def placement_run(label, a, buyers, pool, sellout_items, cpu, seed, probes=True):
    port = a.port
    sell_probe = SelloutProber(port, a.poll_ms / 1000.0, a.probe_timeout) if probes else None
    lag_probe = LagProber(port, a.poll_ms / 1000.0, a.probe_timeout, a.lag_rate) if probes else None
    for p in (sell_probe, lag_probe):
        if p:
            p.start()
    stats = [new_stats() for _ in buyers]
    c0 = cpu.snap()
    t0 = now()
    deadline = t0 + a.seconds if label != "warm-up" else t0 + a.warmup_seconds
    sellouts = SelloutQueue(sellout_items, t0, deadline - t0) if sellout_items else None
    ts = [threading.Thread(target=buyer_run, args=(b, a, pool, random.Random(seed * 1000 + b.idx), deadline, sellouts, sell_probe,
                                                   lag_probe, stats[b.idx]), name="buyer%d" % b.idx) for b in buyers]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = now() - t0
    c1 = cpu.snap()
    for p in (sell_probe, lag_probe):
        if p:
            p.finish()
    S = new_stats()
    for s in stats:
        for k, v in s.items():
            if k == "statuses":
                add_counts(S["statuses"], v)
            elif k in ("lat", "examples"):
                S[k] += v
            else:
                S[k] += v
    orders = S["orders"]
    attempts = len(S["lat"])
    errors = attempts - orders
    out = {
        "seconds": wall, "orders": orders, "orders_per_s": orders / wall if wall else None,
        "order_attempts": attempts, "order_latency_ms": lat_ms(S["lat"]),
        "statuses": dict(sorted(S["statuses"].items())), "errors": errors + S["cart_errors"],
        "order_errors": errors, "cart_errors": S["cart_errors"], "cart_mismatch": S["cart_mismatch"], "wrong_orders": S["wrong_orders"],
        "in_progress_retries": S["in_progress_retries"], "resends": sum(b.client.resends for b in buyers),
        "lines_per_order": S["lines"] / orders if orders else None, "units_per_order": S["units"] / orders if orders else None,
        "cart_requests": S["cart_requests"],
        "buyer_time_ms_per_order": {"cart adds": S["t_add"] * 1000 / attempts if attempts else None,
                                    "GET cart": S["t_get"] * 1000 / attempts if attempts else None,
                                    "POST order": S["t_order"] * 1000 / attempts if attempts else None},
        "order_share_of_buyer_time": S["t_order"] / (len(buyers) * wall) if wall else None,
        "cpu_s_per_1k_orders": CPU.per_1k(c0, c1, orders),
        "examples": S["examples"][:30],
    }
    for b in buyers:
        b.client.resends = 0
    if sell_probe:
        out["sellout"] = {"planned": len(sellout_items or []), "placed": S["sellouts_placed"], "failed": S["sellouts_failed"],
                          "seen": len(sell_probe.results), "missing": len(sell_probe.missing),
                          "missing_examples": ["%s (order %s)" % (m["product"], m["order"]) for m in sell_probe.missing[:10]],
                          "no_in_stock_field": sell_probe.no_field, "polls": sell_probe.polls, "poll_errors": sell_probe.errors,
                          "lags": [r["lag"] for r in sell_probe.results], "latency_ms": lat_ms([r["lag"] for r in sell_probe.results])}
        out["lag"] = {"sampled": len(lag_probe.results) + len(lag_probe.missing) + len(lag_probe.pending),
                      "seen": len(lag_probe.results), "missing": len(lag_probe.missing),
                      "missing_examples": ["order %d" % m["id"] for m in lag_probe.missing[:10]],
                      "wrong_summaries": len(lag_probe.wrong), "wrong_examples": lag_probe.wrong[:10],
                      "polls": lag_probe.polls, "poll_errors": lag_probe.errors,
                      "lags": [r["lag"] for r in lag_probe.results], "latency_ms": lat_ms([r["lag"] for r in lag_probe.results])}
    L = out["order_latency_ms"]
    log("  %s: %s orders in %.1f s = %s orders/s; POST /api/v1/orders p50 %s / p90 %s / p99 %s / max %s ms; statuses %s; cart errors %d%s"
        % (label, format(orders, ","), wall, fmt(out["orders_per_s"], 1), fmt(L["p50"]), fmt(L["p90"]), fmt(L["p99"]), fmt(L["max"]),
           out["statuses"], S["cart_errors"],
           "; sell-outs seen %d/%d p99 %s ms; projector lag n=%d p99 %s ms" % (
               out["sellout"]["seen"], out["sellout"]["planned"], fmt(out["sellout"]["latency_ms"]["p99"]),
               out["lag"]["seen"], fmt(out["lag"]["latency_ms"]["p99"])) if sell_probe else ""))
    return out


# MARK: - 2. Hot product race

def set_stock(c, token, product, n, pg_url, state):
    """PUT /api/v1/inventory/{id} {"available": n}; SQL instead (noted) when the route is missing
    (404/405 before any PUT worked). Returns None or what went wrong."""
    if not state.get("sql"):
        st, body, _ = c.call("PUT", "/api/v1/inventory/" + product, {"available": n, "reason": "restock"}, token=token)
        if st == 200 and isinstance(body, dict) and body.get("available") == n:
            state["api_ok"] = True
            return None
        if st in (404, 405) and not state.get("api_ok"):
            state["sql"] = True
            state["why"] = "PUT /api/v1/inventory/%s -> %s %s" % (product, st, short(body, 200))
            log("  %s: setting the race stock with SQL instead" % state["why"])
        else:
            return "PUT /api/v1/inventory/%s {available: %d} -> %s %s" % (product, n, st, short(body, 200))
    pg = PG(pg_url)
    try:
        pg.query("BEGIN; SELECT set_config('aisle.stock_reason', 'restock', true); "
                 "UPDATE inventory SET available = %d, updated_at = now() WHERE product_id = '%s'; COMMIT"
                 % (n, product.replace("'", "''")))
    finally:
        pg.close()
    return None


def race(a, buyers, products, api_token, pg_url):
    n_b = len(buyers)
    rounds = min(a.race_rounds, len(products))
    parties = n_b + 1
    bar_prep, bar_go, bar_done = (threading.Barrier(parties, timeout=300) for _ in range(3))
    results = [[None] * n_b for _ in range(rounds)]
    prep_fail = [[None] * n_b for _ in range(rounds)]
    stop = [False]

    def buyer(b):
        stats = new_stats()
        for r in range(rounds):
            try:
                bar_prep.wait()
            except threading.BrokenBarrierError:
                return
            if stop[0]:
                return
            total = None
            try:
                total = fill_cart(b, {products[r]: 1}, stats)
            except (OSError, http.client.HTTPException) as e:
                b.client.close()
                b.dirty = True
                stats["examples"].append(repr(e))
            if total is None:
                prep_fail[r][b.idx] = stats["examples"][-1] if stats["examples"] else "cart not ready"
            try:
                bar_go.wait()
            except threading.BrokenBarrierError:
                return
            if total is not None:
                st, body, _, dt, retries = place_order(b.client, b.token, total)
                results[r][b.idx] = (st, body, dt, retries)
                b.dirty = st != 201
            try:
                bar_done.wait()
            except threading.BrokenBarrierError:
                return

    ts = [threading.Thread(target=buyer, args=(b,), name="racer%d" % b.idx) for b in buyers]
    for t in ts:
        t.start()
    c = Client(a.port)
    stock_state = {}
    rows = []
    lat_all, lat_win, lat_lose = [], [], []
    statuses = {}
    bad_rounds, oversold, undersold, stock_wrong, examples = 0, 0, 0, 0, []
    t_start = now()
    try:
        for r in range(rounds):
            p = products[r]
            S = a.race_stock
            err = set_stock(c, api_token, p, S, pg_url, stock_state)
            if err:
                raise SystemExit("race round %d: %s" % (r + 1, err))
            bar_prep.wait()
            bar_go.wait()
            bar_done.wait()
            wins, answers = 0, []
            for k in range(n_b):
                res = results[r][k]
                if res is None:
                    answers.append("not sent (%s)" % (prep_fail[r][k] or "?"))
                    statuses["not sent"] = statuses.get("not sent", 0) + 1
                    continue
                st, body, dt, retries = res
                code = err_code(st, body)
                statuses[code] = statuses.get(code, 0) + 1
                lat_all.append(dt)
                if st == 201:
                    wins += 1
                    lat_win.append(dt)
                else:
                    lat_lose.append(dt)
                    if code != "409 out_of_stock":
                        answers.append("%s %s" % (st, short(body, 160)))
                    elif isinstance(body, dict) and (body.get("product_id") != p or body.get("available") not in (0, None)):
                        answers.append("409 out_of_stock naming %s available %s" % (body.get("product_id"), body.get("available")))
            want = min(S, n_b)
            st, inv, _ = c.call("GET", "/api/v1/inventory/" + p, token=api_token)
            avail = inv.get("available") if st == 200 and isinstance(inv, dict) else None
            end_ok = avail == S - wins and (avail == S - want)
            over = max(0, wins - S)
            oversold += over
            if wins < want:
                undersold += want - wins
            if not end_ok:
                stock_wrong += 1
            ok = wins == want and end_ok and not answers
            if not ok:
                bad_rounds += 1
                if len(examples) < 15:
                    examples.append("round %d (%s, stock %d): %d x 201 (want %d), inventory after: %s %s%s"
                                    % (r + 1, p, S, wins, want, st, short(inv, 160), "; " + "; ".join(answers[:4]) if answers else ""))
            rows.append({"round": r + 1, "product": p, "stock": S, "wins": wins, "available_after": avail})
            if (r + 1) % max(1, rounds // 10) == 0:
                log("  race: %d/%d rounds, p99 so far %s ms, bad rounds %d, oversold %d"
                    % (r + 1, rounds, fmt(lat_ms(lat_all)["p99"]), bad_rounds, oversold))
    finally:
        stop[0] = True
        for bar in (bar_prep, bar_go, bar_done):
            bar.abort()
        for t in ts:
            t.join(60)
        c.close()
    wall = now() - t_start

    # SQL: units ordered per race product vs the stock given and the 201s the buyers got.
    pg = PG(pg_url)
    ids = [r_["product"] for r_ in rows]
    sums = {}
    inv = {}
    if ids:
        for pid, q, n in pg.query("SELECT product_id, sum(quantity), count(DISTINCT order_id) FROM order_lines WHERE product_id = ANY(%s) "
                                  "GROUP BY 1" % sql_text_array(ids)):
            sums[pid] = (int(q), int(n))
        for pid, av, rs in pg.query("SELECT product_id, available, reserved FROM inventory WHERE product_id = ANY(%s)" % sql_text_array(ids)):
            inv[pid] = (int(av), int(rs))
    pg.close()
    sql_oversold, sql_mismatch, sql_examples = 0, 0, []
    for r_ in rows:
        q, _ = sums.get(r_["product"], (0, 0))
        sql_oversold += max(0, q - r_["stock"])
        av = inv.get(r_["product"], (None, None))[0]
        if q != r_["wins"] or av != r_["stock"] - q:
            sql_mismatch += 1
            if len(sql_examples) < 10:
                sql_examples.append("round %d %s: stock given %d, buyers got %d x 201, order_lines hold %d units, inventory.available %s"
                                    % (r_["round"], r_["product"], r_["stock"], r_["wins"], q, av))
    given = sum(r_["stock"] for r_ in rows)
    ordered = sum(sums.get(p, (0, 0))[0] for p in ids)
    return {"rounds": len(rows), "stock_per_round": a.race_stock, "buyers": n_b, "seconds": wall,
            "stock_set_with": "SQL (%s)" % stock_state.get("why") if stock_state.get("sql") else "PUT /api/v1/inventory/{id}",
            "latency_ms": lat_ms(lat_all), "latency_201_ms": lat_ms(lat_win), "latency_409_ms": lat_ms(lat_lose),
            "statuses": dict(sorted(statuses.items())), "wins": sum(r_["wins"] for r_ in rows),
            "bad_rounds": bad_rounds, "oversold": oversold, "undersold": undersold, "stock_wrong_rounds": stock_wrong,
            "examples": examples, "sql": {"stock_given": given, "units_ordered": ordered, "oversold": sql_oversold,
                                         "rounds_disagreeing": sql_mismatch, "examples": sql_examples},
            "rounds_detail": rows}


# MARK: - Contract checks

def contract_checks(a, buyers, products, sold_out_product, api_token):
    """One request at a time; each check is (name, ok, detail)."""
    out = []
    c = Client(a.port)
    b0, b1 = buyers[0], buyers[1 % len(buyers)]

    def check(name, ok, detail=""):
        out.append({"check": name, "ok": bool(ok), "detail": detail})

    def cart_with(b, lines):
        b.dirty = True
        s = new_stats()
        return fill_cart(b, lines, s), s

    try:
        st, g, _ = c.call("POST", "/api/v1/sessions", {})
        gtok = g.get("token") if isinstance(g, dict) else None
        st, body, _ = c.call("POST", "/api/v1/orders", order_body("1.00"), token=gtok, headers={"Idempotency-Key": str(uuid.uuid4())})
        check("guest POST /api/v1/orders -> 401", st == 401, "%s %s" % (st, short(body, 200)))
        st, body, _ = c.call("POST", "/api/v1/orders", order_body("1.00"), headers={"Idempotency-Key": str(uuid.uuid4())})
        check("no session POST /api/v1/orders -> 401", st == 401, "%s %s" % (st, short(body, 200)))

        p, q = products[0], products[1]
        st, inv0, _ = c.call("GET", "/api/v1/inventory/" + p)
        check("GET /api/v1/inventory/{id} -> 200 with available", st == 200 and isinstance(inv0, dict) and "available" in inv0,
              "%s %s" % (st, short(inv0, 200)))
        total, s = cart_with(b0, {p: 2, q: 1})
        check("cart filled", total is not None, "; ".join(s["examples"][:2]))
        st, body, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token)
        check("no Idempotency-Key -> 400", st == 400, "%s %s" % (st, short(body, 200)))
        st, body, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": "bad key with spaces"})
        check("Idempotency-Key with spaces -> 400", st == 400, "%s %s" % (st, short(body, 200)))
        wrong = str((dec(total) or decimal.Decimal(0)) + decimal.Decimal("1.00"))
        st, body, _ = c.call("POST", "/api/v1/orders", order_body(wrong), token=b0.token, headers={"Idempotency-Key": str(uuid.uuid4())})
        check("expected_total off by 1.00 -> 409 totals_changed with the total",
              st == 409 and isinstance(body, dict) and body.get("error") == "totals_changed" and dec(body.get("total")) == dec(total),
              "expected_total %s (cart %s) -> %s %s" % (wrong, total, st, short(body, 200)))
        key = str(uuid.uuid4())
        st, first, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": key})
        ok = st == 201 and isinstance(first, dict) and first.get("id") is not None
        check("POST /api/v1/orders -> 201", ok, "%s %s" % (st, short(first, 300)))
        oid = first.get("id") if ok else None
        if ok:
            check("201 body: pending, version 1, total, 2 lines, 3 items",
                  first.get("status") == "pending" and first.get("version") == 1 and dec(first.get("total")) == dec(total)
                  and len(first.get("lines") or []) == 2 and first.get("item_count") == 3, short(first, 400))
            st, cart, _ = c.call("GET", "/api/v1/cart", token=b0.token)
            check("the ordered lines left the cart", st == 200 and cart_items(cart) == {}, "%s %s" % (st, short(cart, 200)))
            st, inv1, _ = c.call("GET", "/api/v1/inventory/" + p)
            check("stock went down by the quantity", isinstance(inv1, dict) and isinstance(inv0, dict)
                  and inv1.get("available") == (inv0.get("available") or 0) - 2, "before %s, after %s" % (short(inv0, 120), short(inv1, 120)))
            st, again, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": key})
            diff = sorted(k for k in set(first) | set(again if isinstance(again, dict) else {})
                          if not isinstance(again, dict) or first.get(k) != again.get(k))
            check("same key, same body -> 201, identical body", st == 201 and not diff,
                  "%s; differing keys %s: %s" % (st, diff, short(again, 300)))
            st, body, _ = c.call("POST", "/api/v1/orders", order_body(total, payment="pm_other_card"), token=b0.token,
                                 headers={"Idempotency-Key": key})
            check("same key, other body -> 422 idempotency_key_reused",
                  st == 422 and isinstance(body, dict) and body.get("error") == "idempotency_key_reused", "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": str(uuid.uuid4())})
            check("empty cart -> 409 cart_empty", st == 409 and isinstance(body, dict) and body.get("error") == "cart_empty",
                  "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("GET", "/api/v1/orders/%s" % oid, token=b0.token)
            check("GET /api/v1/orders/{id} (owner) -> 200", st == 200 and isinstance(body, dict) and body.get("id") == oid,
                  "%s %s" % (st, short(body, 200)))
            if b1 is not b0:
                st, body, _ = c.call("GET", "/api/v1/orders/%s" % oid, token=b1.token)
                check("GET /api/v1/orders/{id} (another customer) -> 404", st == 404, "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("GET", "/api/v1/orders/%s" % oid, token=api_token)
            check("GET /api/v1/orders/{id} (API token) -> 200", st == 200 and isinstance(body, dict) and body.get("id") == oid,
                  "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("GET", "/api/v1/orders/%s/events" % oid, token=b0.token)
            ev = body.get("events") if isinstance(body, dict) else None
            check("GET /api/v1/orders/{id}/events -> [OrderPlaced v1]",
                  st == 200 and isinstance(ev, list) and len(ev) == 1 and ev[0].get("type") == "OrderPlaced" and ev[0].get("version") == 1,
                  "%s %s" % (st, short(body, 300)))
            st, body, _ = c.call("POST", "/api/v1/orders/%s/cancel" % oid, {"reason": "bench"}, token=b0.token)
            check("cancel (owner) -> 200 canceled", st == 200 and isinstance(body, dict) and body.get("status") == "canceled",
                  "%s %s" % (st, short(body, 200)))
            st, inv2, _ = c.call("GET", "/api/v1/inventory/" + p)
            check("cancel gave the stock back", isinstance(inv2, dict) and isinstance(inv0, dict) and inv2.get("available") == inv0.get("available"),
                  "before the order %s, after the cancel %s" % (short(inv0, 120), short(inv2, 120)))
            st, body, _ = c.call("POST", "/api/v1/orders/%s/cancel" % oid, {}, token=b0.token)
            check("cancel again -> 409 illegal_transition", st == 409 and isinstance(body, dict) and body.get("error") == "illegal_transition",
                  "%s %s" % (st, short(body, 200)))

        total, s = cart_with(b0, {products[2]: 1})
        st, o2, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": str(uuid.uuid4())})
        if st == 201 and isinstance(o2, dict):
            oid2 = o2["id"]
            for step, body_, want in (("payment", {"reference": "ch_bench"}, "paid"), ("shipment", {"carrier": "UPS", "tracking": "1Z"}, "shipped"),
                                      ("delivery", {}, "delivered")):
                st, body, _ = c.call("POST", "/api/v1/orders/%s/%s" % (oid2, step), body_, token=api_token)
                check("POST /api/v1/orders/{id}/%s (API token) -> 200 %s" % (step, want),
                      st == 200 and isinstance(body, dict) and body.get("status") == want, "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("POST", "/api/v1/orders/%s/payment" % oid2, {}, token=b0.token)
            check("payment with a customer session -> 401/403", st in (401, 403), "%s %s" % (st, short(body, 200)))
            st, body, _ = c.call("POST", "/api/v1/orders/%s/cancel" % oid2, {}, token=b0.token)
            check("cancel a delivered order -> 409 illegal_transition",
                  st == 409 and isinstance(body, dict) and body.get("error") == "illegal_transition", "%s %s" % (st, short(body, 200)))
        else:
            check("second order -> 201", False, "%s %s" % (st, short(o2, 200)))

        if sold_out_product:
            total, s = cart_with(b0, {sold_out_product: 1})
            if total is not None:
                st, body, _ = c.call("POST", "/api/v1/orders", order_body(total), token=b0.token, headers={"Idempotency-Key": str(uuid.uuid4())})
                check("sold-out product -> 409 out_of_stock naming it, available 0",
                      st == 409 and isinstance(body, dict) and body.get("error") == "out_of_stock" and body.get("product_id") == sold_out_product
                      and body.get("available") == 0, "%s %s" % (st, short(body, 200)))
            else:
                check("sold-out product can be put in the cart", False, "; ".join(s["examples"][:2]))
        st, _, _ = c.call("DELETE", "/api/v1/cart", token=b0.token)
        b0.dirty = False
    except (OSError, http.client.HTTPException) as e:
        check("contract checks ran", False, repr(e))
    c.close()
    return out


# MARK: - Server, read model, CLI

def start_server(aisle, index, port, env, log_path, token, order_expiry, commerce_threads):
    logf = open(log_path, "a")
    extra = ["--token", token, "--order-expiry", str(order_expiry)]
    if commerce_threads:
        extra += ["--commerce-threads", str(commerce_threads)]
    p = subprocess.Popen([aisle, "serve", "--index", index, "--port", str(port)] + extra, env=env, stdout=logf, stderr=subprocess.STDOUT)
    t0 = now()
    while now() - t0 < 300:
        if p.poll() is not None:
            raise SystemExit("aisle serve exited (%s); see %s:\n%s" % (p.returncode, log_path, open(log_path).read()[-3000:]))
        try:
            st, _, _ = Client(port, timeout=2).call("GET", "/healthz")
            if st == 200:
                return p, now() - t0
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    p.kill()
    raise SystemExit("aisle serve did not answer /healthz within 300 s; see " + log_path)


def server_alive(server, log_path, where):
    if server.poll() is not None:
        raise SystemExit("aisle serve died (exit %s) during %s; the end of %s:\n%s"
                         % (server.returncode, where, log_path, open(log_path, errors="replace").read()[-4000:]))


def wait_read_model(pg_url, timeout):
    """Seconds until every order is in order_summaries at its version and status (None: not within timeout)."""
    pg = PG(pg_url)
    t0 = now()
    behind = None
    try:
        while now() - t0 < timeout:
            behind = int(pg.query("SELECT count(*) FROM orders o LEFT JOIN order_summaries s ON s.order_id = o.id "
                                  "WHERE s.order_id IS NULL OR s.version <> o.version OR s.status <> o.status")[0][0])
            if behind == 0:
                return now() - t0, 0
            time.sleep(0.1)
    finally:
        pg.close()
    return None, behind


def cli(aisle, args, env):
    t0 = now()
    try:
        r = subprocess.run([aisle] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"command": "aisle " + " ".join(args), "exit": None, "seconds": now() - t0, "output": ["timed out after 1800 s"], "stderr": []}

    def lines(text):   # progress lines end in \r: keep what each line finally showed
        return [ln.split("\r")[-1] for ln in text.splitlines() if ln.split("\r")[-1].strip()]
    return {"command": "aisle " + " ".join(args), "exit": r.returncode, "seconds": now() - t0,
            "output": lines(r.stdout)[-10:], "stderr": lines(r.stderr)[-10:]}


# MARK: - Main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=1000000, help="synth products to generate (ignored with --corpus)")
    ap.add_argument("--corpus", help="a synth catalog JSONL (default: generated into --work)")
    ap.add_argument("--aisle", default=os.path.join(ROOT, ".build/release/aisle"))
    ap.add_argument("--work", default=os.path.join(os.environ.get("BENCH_DATA", "/tmp/aisle-bench"), "orders-load"))
    ap.add_argument("--port", type=int, default=HTTP_PORT, help="aisle serve's port")
    ap.add_argument("--buyers", type=int, default=16, help="concurrent buyers (registered customers, one connection each)")
    ap.add_argument("--seconds", type=float, default=30.0, help="each measured placement run")
    ap.add_argument("--repeat", type=int, default=3, help="measured placement runs (medians)")
    ap.add_argument("--warmup-seconds", type=float, default=3.0, help="placement warm-up (0: none)")
    ap.add_argument("--pool", type=int, default=50000, help="products the uncontended carts draw from (stock 1,000,000 each)")
    ap.add_argument("--max-quantity", type=int, default=2, help="units per cart line in the placement runs: 1 to this")
    ap.add_argument("--sellouts", type=int, default=60, help="sell-out orders per measured run (their products get 1-3 units)")
    ap.add_argument("--lag-rate", type=float, default=10.0, help="orders per second followed for the projector lag (0: none)")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="offered order cycles per second over all buyers (paced; 0: closed loop, each buyer as fast as it can)")
    ap.add_argument("--settle-timeout", type=float, default=180.0,
                    help="seconds to wait, before measuring, for the server and PostgreSQL to go quiet (background loads, autovacuum)")
    ap.add_argument("--poll-ms", type=float, default=5.0, help="probers' poll interval")
    ap.add_argument("--probe-timeout", type=float, default=10.0, help="seconds after which a sell-out or lag sample counts as missing")
    ap.add_argument("--race-rounds", type=int, default=500, help="hot-product rounds (0: no race)")
    ap.add_argument("--race-stock", type=int, default=10, help="stock of the hot product per round")
    ap.add_argument("--order-expiry", type=int, default=86400, help="aisle serve --order-expiry (default: nothing expires during the run)")
    ap.add_argument("--commerce-threads", type=int, default=None, help="aisle serve --commerce-threads")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    if a.buyers < 1 or a.repeat < 1 or a.max_quantity < 1 or a.max_quantity > 99 or a.race_stock < 0:
        sys.exit("--buyers, --repeat and --max-quantity must be >= 1 (quantity <= 99), --race-stock >= 0")

    aisle = os.path.abspath(a.aisle)
    if not os.access(aisle, os.X_OK):
        sys.exit("no aisle binary at %s: run `swift build -c release`" % aisle)
    os.makedirs(a.work, exist_ok=True)
    corpus = a.corpus
    if not corpus:
        corpus = os.path.join(a.work, "catalog-%d.jsonl" % a.products)
        if not os.path.exists(corpus):
            gen = os.path.join(os.path.dirname(ROOT), "shared/corpora/synth/gen_catalog.py")
            if not os.path.exists(gen):
                sys.exit("no corpus: give --corpus or put ../shared/corpora/synth next to the repository")
            log("generating %d products into %s" % (a.products, corpus))
            subprocess.run([sys.executable, gen, "--products", str(a.products), "--seed", "42", "--out", corpus], check=True)
    n = sum(1 for _ in open(corpus))

    services_env = dict(os.environ, AISLE_PG_PORT=PG_PORT, AISLE_REDIS_PORT=REDIS_PORT)
    services = False
    base_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    server = None
    api_token = "bench-" + uuid.uuid4().hex
    rng = random.Random(a.seed)
    out = {"aisle": aisle, "corpus": corpus, "products": n, "cores": os.cpu_count(), "buyers": a.buyers, "seconds": a.seconds,
           "repeat": a.repeat, "warmup_seconds": a.warmup_seconds, "max_quantity": a.max_quantity, "race_rounds": a.race_rounds,
           "race_stock": a.race_stock, "order_expiry": a.order_expiry, "poll_ms": a.poll_ms, "lag_rate": a.lag_rate}
    log_path = os.path.join(a.work, "serve.log")
    try:
        if not base_url or not redis_url:
            r = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=services_env,
                               stdout=subprocess.PIPE, text=True, check=True)
            services = True
            base_url = base_url or re.search(r"DATABASE_URL='([^']+)'", r.stdout).group(1)
            redis_url = redis_url or re.search(r"REDIS_URL='([^']+)'", r.stdout).group(1)
        admin = PG(base_url)
        admin.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB_NAME)
        admin.query("CREATE DATABASE %s" % DB_NAME)
        admin.close()
        # Sessions, carts and the per-order cart markers of an earlier run would meet order ids
        # that start again at 1 in the fresh database: the Redis database is emptied too.
        rd = Redis(redis_url)
        db_index = re.search(r"/(\d+)$", redis_url.split("?")[0])
        if db_index:
            rd.command("SELECT", db_index.group(1))
        rd.command("FLUSHDB")
        rd.close()
        url = re.sub(r"^(postgres(?:ql)?://[^/]+)/[^?]*", r"\1/" + DB_NAME, base_url)
        if "/" + DB_NAME not in url:
            url = base_url.rstrip("/") + "/" + DB_NAME
        attrs = os.path.join(a.work, "product_attributes.json")
        for p in (attrs, attrs + ".lock"):
            if os.path.exists(p):
                os.remove(p)
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, AISLE_ATTRIBUTES=attrs)
        env.pop("MONGODB_URI", None)
        env.pop("AISLE_API_TOKEN", None)
        out["redis_url"] = redis_url

        log("loading %d products into PostgreSQL ..." % n)
        t_load, line = run([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], env, "aisle catalog load")
        log("  %.1f s: %s" % (t_load, line))

        # Samples (disjoint): race products, sell-out products, the pool.
        n_race = max(0, a.race_rounds)
        n_sell = a.sellouts * a.repeat
        pg = PG(url)
        cand = [r_[0] for r_ in pg.query(
            "SELECT p.id FROM products p JOIN inventory i ON i.product_id = p.id "
            "WHERE p.status = 'active' AND i.available > 0 AND i.reserved = 0 ORDER BY md5(p.id) LIMIT %d" % (n_race + n_sell + a.pool))]
        if len(cand) < n_race + n_sell + 100:
            sys.exit("only %d active in-stock products: need %d race + %d sell-out products and a pool of at least 100"
                     % (len(cand), n_race, n_sell))
        race_products = cand[:n_race]
        sell_products = cand[n_race:n_race + n_sell]
        pool = cand[n_race + n_sell:]
        sell_stock = {}
        t0 = now()
        pg.query("UPDATE inventory SET available = %d WHERE product_id = ANY(%s)" % (POOL_STOCK, sql_text_array(pool)))
        for k in (1, 2, 3):
            grp = [p for i, p in enumerate(sell_products) if i % 3 == k - 1]
            for p in grp:
                sell_stock[p] = k
            if grp:
                pg.query("UPDATE inventory SET available = %d WHERE product_id = ANY(%s)" % (k, sql_text_array(grp)))
        pg.close()
        log("stock set: pool %s products x %s, %d sell-out products 1-3 units, %d race products (%.1f s)"
            % (format(len(pool), ","), format(POOL_STOCK, ","), len(sell_products), len(race_products), now() - t0))
        index = os.path.join(a.work, "index")
        shutil.rmtree(index, ignore_errors=True)
        log("aisle reindex --index %s ..." % index)
        t_index, line = run([aisle, "reindex", "--index", index, "--quiet"], env, "aisle reindex")
        log("  %.1f s: %s" % (t_index, line))
        out["setup"] = {"load_s": t_load, "reindex_s": t_index, "pool": len(pool), "sellout_products": len(sell_products),
                        "race_products": len(race_products)}

        open(log_path, "w").close()
        server, up = start_server(aisle, index, a.port, env, log_path, api_token, a.order_expiry, a.commerce_threads)
        out["setup"]["server_start_s"] = up
        log("aisle serve on port %d (up in %.1f s), pid %d" % (a.port, up, server.pid))
        c = Client(a.port)
        st, body, _ = c.call("POST", "/api/v1/orders", order_body("1.00"), headers={"Idempotency-Key": "probe"})
        if st == 404:
            sys.exit("POST /api/v1/orders answered 404: does this aisle serve the orders API (issue 16)? see " + log_path)
        # The sell-out products must be searchable as in stock before they are sold out.
        not_ready = []
        for p in sell_products:
            st, body, _ = c.call("GET", "/api/v1/products/" + p)
            if st != 200 or not isinstance(body, dict) or body.get("in_stock") is False or body.get("stock") == 0:
                not_ready.append("%s: %s %s" % (p, st, short(body, 160)))
        if not_ready:
            log("warning: %d sell-out products are not shown in stock before the run (left out), e.g. %s" % (len(not_ready), not_ready[0]))
            bad = set(x.split(":")[0] for x in not_ready)
            sell_products = [p for p in sell_products if p not in bad]
        out["setup"]["sellout_not_in_stock_before"] = len(not_ready)
        c.close()

        pg = PG(url)
        pg_pid = postmaster_pid(pg)
        pg.close()
        redis = Redis(redis_url)
        cpu = CPU(server.pid, pg_pid, redis)
        t0 = now()
        buyers = register_buyers(a.port, a.buyers)
        out["setup"]["register_s"] = now() - t0
        log("%d buyers registered and logged in (%.1f s)" % (len(buyers), now() - t0))
        # Quiet first: the server loads the attribute file of a fresh catalog in the background and
        # PostgreSQL's autovacuum takes up the bulk load; measuring through either would time the
        # setup, not the orders. Wait (up to --settle-timeout) until the server and PostgreSQL
        # together use under 10% of a core over a second.
        t0 = now()
        quiet = False
        while now() - t0 < a.settle_timeout:
            c0 = cpu.snap()
            time.sleep(1.0)
            c1 = cpu.snap()
            used = sum((c1[k] - c0[k]) for k in ("aisle", "postgres") if c0[k] is not None and c1[k] is not None)
            if used < 0.1:
                quiet = True
                break
        out["setup"]["settle_s"] = now() - t0
        out["setup"]["settled"] = quiet
        log("settled in %.1f s%s" % (now() - t0, "" if quiet else " (not quiet: gave up after --settle-timeout)"))

        # 1 (+3, 4): placement runs.
        warm = None
        if a.warmup_seconds > 0:
            warm = placement_run("warm-up", a, buyers, pool, [], cpu, a.seed, probes=False)
            server_alive(server, log_path, "the warm-up")
        out["warmup"] = warm
        runs = []
        for k in range(a.repeat):
            items = [(p, sell_stock[p]) for p in sell_products[k * a.sellouts:(k + 1) * a.sellouts]]
            runs.append(placement_run("run %d" % (k + 1), a, buyers, pool, items, cpu, a.seed + k + 1))
            server_alive(server, log_path, "placement run %d" % (k + 1))
        out["runs"] = runs

        # 2: race.
        rc = None
        if a.race_rounds > 0:
            log("race: %d rounds, %d buyers, stock %d per round" % (min(a.race_rounds, len(race_products)), len(buyers), a.race_stock))
            for b in buyers:
                b.dirty = True
            c0 = cpu.snap()
            rc = race(a, buyers, race_products, api_token, url)
            rc["cpu_s_per_1k_orders"] = CPU.per_1k(c0, cpu.snap(), rc["wins"] + rc["statuses"].get("409 out_of_stock", 0))
            server_alive(server, log_path, "the race")
            L = rc["latency_ms"]
            log("  race: %d rounds in %.1f s; p50 %s / p99 %s / max %s ms; bad rounds %d; oversold %d (SQL %d)"
                % (rc["rounds"], rc["seconds"], fmt(L["p50"]), fmt(L["p99"]), fmt(L["max"]), rc["bad_rounds"], rc["oversold"], rc["sql"]["oversold"]))
        out["race"] = rc

        # Contract checks.
        log("contract checks ...")
        checks = contract_checks(a, buyers, pool, race_products[0] if race_products and a.race_stock <= a.buyers else None, api_token)
        out["checks"] = checks
        server_alive(server, log_path, "the contract checks")
        for b in buyers:
            b.client.close()

        # Read model caught up, server stopped, CLI checks.
        caught, behind = wait_read_model(url, 60)
        out["read_model_caught_up_s"] = caught
        out["read_model_behind"] = behind
        out["server_rss_mb"] = proc_rss_mb(server.pid)
        redis.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        out["server_exit"] = server.returncode
        server = None
        log("aisle inventory check / aisle orders rebuild ...")
        out["inventory_check"] = cli(aisle, ["inventory", "check"], env)
        out["orders_rebuild"] = cli(aisle, ["orders", "rebuild"], env)
        pg = PG(url)
        out["db"] = dict(zip(("orders", "order_lines", "events", "summaries"), (int(x) for x in pg.query(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines), (SELECT count(*) FROM order_events), "
            "(SELECT count(*) FROM order_summaries)")[0])))
        pg.close()

        # Summary.
        M = {"orders_per_s": med([r_["orders_per_s"] for r_ in runs])}
        for k in ("p50", "p90", "p99", "max"):
            M[k + "_ms"] = med([r_["order_latency_ms"][k] for r_ in runs])
        errors = sum(r_["errors"] + r_["wrong_orders"] + r_["cart_mismatch"] for r_ in runs)
        sell_lags = [x for r_ in runs for x in r_["sellout"]["lags"]]
        lag_lags = [x for r_ in runs for x in r_["lag"]["lags"]]
        sell = lat_ms(sell_lags)
        lag = lat_ms(lag_lags)
        sell_missing = sum(r_["sellout"]["missing"] + r_["sellout"]["failed"] for r_ in runs)
        lag_missing = sum(r_["lag"]["missing"] for r_ in runs)
        lag_wrong = sum(r_["lag"]["wrong_summaries"] for r_ in runs)
        out["median"] = M
        out["sellout_ms"] = sell
        out["projector_lag_ms"] = lag
        T = {
            "orders/s": {"target": ">= 200", "value": M["orders_per_s"], "pass": (M["orders_per_s"] or 0) >= 200},
            "order p99 ms": {"target": "<= 100", "value": M["p99_ms"], "pass": M["p99_ms"] is not None and M["p99_ms"] <= 100},
            "order errors": {"target": "0", "value": errors, "pass": errors == 0},
        }
        if rc:
            T["race p99 ms"] = {"target": "<= 250", "value": rc["latency_ms"]["p99"],
                                "pass": rc["latency_ms"]["p99"] is not None and rc["latency_ms"]["p99"] <= 250}
            ov = max(rc["oversold"], rc["sql"]["oversold"])
            T["oversold"] = {"target": "0", "value": ov, "pass": ov == 0}
            T["race bad rounds"] = {"target": "0", "value": rc["bad_rounds"] + rc["sql"]["rounds_disagreeing"],
                                    "pass": rc["bad_rounds"] + rc["sql"]["rounds_disagreeing"] == 0}
        T["sold out p99 ms"] = {"target": "< 1000", "value": sell["p99"], "pass": sell["p99"] is not None and sell["p99"] < 1000}
        T["sold out missing"] = {"target": "0", "value": sell_missing, "pass": sell_missing == 0 and sell["count"] > 0}
        if a.lag_rate > 0:
            T["projector p99 ms"] = {"target": "< 500", "value": lag["p99"], "pass": lag["p99"] is not None and lag["p99"] < 500}
            T["projector missing"] = {"target": "0", "value": lag_missing + lag_wrong, "pass": lag_missing + lag_wrong == 0 and lag["count"] > 0}
        T["read model behind"] = {"target": "0", "value": behind, "pass": behind == 0}
        T["inventory check"] = {"target": "exit 0", "value": out["inventory_check"]["exit"], "pass": out["inventory_check"]["exit"] == 0}
        T["orders rebuild"] = {"target": "exit 0", "value": out["orders_rebuild"]["exit"], "pass": out["orders_rebuild"]["exit"] == 0}
        out["targets"] = T
        out["pass"] = all(t["pass"] for t in T.values())
        out["checks_pass"] = all(ch["ok"] for ch in checks)

        print()
        print("orders load: %s, %s products, %d cores, %d buyers (one keep-alive connection each), %d x %.0f s (+ %.0f s warm-up), "
              "carts of 1-5 pool lines x 1-%d units from %s products, order expiry %d s%s"
              % (aisle, format(n, ","), out["cores"], len(buyers), a.repeat, a.seconds, a.warmup_seconds, a.max_quantity,
                 format(len(pool), ","), a.order_expiry, ", --commerce-threads %d" % a.commerce_threads if a.commerce_threads else "")
              + (", paced: %.0f order cycles/s offered" % a.rate if a.rate > 0 else ", closed loop"))
        print()
        print("1. Uncontended placement. orders/s = 201s / wall time of the run (cart filling included); latency = POST /api/v1/orders alone.")
        print()
        print("| run | orders | orders/s | p50 ms | p90 ms | p99 ms | max ms | order errors | cart errors | lines/order | "
              "buyer ms per order: adds / GET cart / POST order | POST share |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for name, r_ in ([("warm-up", warm)] if warm else []) + [("run %d" % (i + 1), r_) for i, r_ in enumerate(runs)]:
            L, B = r_["order_latency_ms"], r_["buyer_time_ms_per_order"]
            print("| %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s / %s / %s | %s%% |"
                  % (name, format(r_["orders"], ","), fmt(r_["orders_per_s"], 1), fmt(L["p50"]), fmt(L["p90"]), fmt(L["p99"]), fmt(L["max"]),
                     r_["order_errors"], r_["cart_errors"], fmt(r_["lines_per_order"], 2), fmt(B["cart adds"], 1), fmt(B["GET cart"], 1),
                     fmt(B["POST order"], 1), fmt(100 * (r_["order_share_of_buyer_time"] or 0), 0)))
        print("| **median** | | **%s** | %s | %s | **%s** | %s | | | | | |"
              % (fmt(M["orders_per_s"], 1), fmt(M["p50_ms"]), fmt(M["p90_ms"]), fmt(M["p99_ms"]), fmt(M["max_ms"])))
        st_all = {}
        for r_ in runs:
            add_counts(st_all, r_["statuses"])
        print("POST /api/v1/orders answers (measured runs): " + ", ".join("%s x %s" % (k, format(v, ",")) for k, v in sorted(st_all.items()))
              + "; in_progress retries %d, resent after a lost connection %d; cart mismatches %d, wrong 201 bodies %d"
              % (sum(r_["in_progress_retries"] for r_ in runs), sum(r_["resends"] for r_ in runs), sum(r_["cart_mismatch"] for r_ in runs),
                 sum(r_["wrong_orders"] for r_ in runs)))
        if runs:
            r_ = runs[len(runs) // 2]
            C = r_["cpu_s_per_1k_orders"]
            print("CPU s per 1,000 orders (run %d): aisle %s, postgres %s, redis %s, load generator %s; machine busy %.0f%%; server RSS %s MB"
                  % (len(runs) // 2 + 1, fmt(C["aisle"], 3), fmt(C["postgres"], 3), fmt(C["redis"], 3), fmt(C["load generator"], 3),
                     100 * C["machine_busy"], fmt(out["server_rss_mb"], 0)))
        print()
        print("3. Sold out -> in_stock: false (GET /api/v1/products/{id} every %g ms from the 201) and "
              "4. projector lag (GET /api/v1/orders?limit=1&before=id+1 every %g ms, up to %g orders/s):" % (a.poll_ms, a.poll_ms, a.lag_rate))
        print()
        print("| run | sell-outs seen / planned | p50 ms | p90 ms | p99 ms | max ms | missing | lag samples | p50 ms | p90 ms | p99 ms | max ms | missing | wrong |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for i, r_ in enumerate(runs):
            s_, l_ = r_["sellout"], r_["lag"]
            print("| run %d | %d / %d | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %d | %d |"
                  % (i + 1, s_["seen"], s_["planned"], fmt(s_["latency_ms"]["p50"]), fmt(s_["latency_ms"]["p90"]), fmt(s_["latency_ms"]["p99"]),
                     fmt(s_["latency_ms"]["max"]), s_["missing"] + s_["failed"], l_["seen"], fmt(l_["latency_ms"]["p50"]),
                     fmt(l_["latency_ms"]["p90"]), fmt(l_["latency_ms"]["p99"]), fmt(l_["latency_ms"]["max"]), l_["missing"], l_["wrong_summaries"]))
        print("| **all runs** | %d | %s | %s | **%s** | %s | %d | %d | %s | %s | **%s** | %s | %d | %d |"
              % (sell["count"], fmt(sell["p50"]), fmt(sell["p90"]), fmt(sell["p99"]), fmt(sell["max"]), sell_missing, lag["count"],
                 fmt(lag["p50"]), fmt(lag["p90"]), fmt(lag["p99"]), fmt(lag["max"]), lag_missing, lag_wrong))
        if runs and any(r_["sellout"]["no_in_stock_field"] for r_ in runs):
            print("(GET /api/v1/products/{id} had no in_stock field: `stock == 0` was used)")
        if rc:
            print()
            L, W, Lo = rc["latency_ms"], rc["latency_201_ms"], rc["latency_409_ms"]
            print("2. Hot product race: %d rounds x %d buyers, stock %d per round (set with %s), %.1f s"
                  % (rc["rounds"], rc["buyers"], rc["stock_per_round"], rc["stock_set_with"], rc["seconds"]))
            print()
            print("| orders | p50 ms | p90 ms | p99 ms | max ms |")
            print("|---|---:|---:|---:|---:|")
            for name, x in (("all", L), ("201", W), ("409", Lo)):
                print("| %s (%s) | %s | %s | **%s** | %s |" % (name, format(x["count"], ","), fmt(x["p50"]), fmt(x["p90"]), fmt(x["p99"]), fmt(x["max"])))
            print("answers: " + ", ".join("%s x %s" % (k, format(v, ",")) for k, v in rc["statuses"].items()))
            print("rounds with the wrong number of 201s, a wrong answer or wrong stock after: %d (undersold units %d, stock wrong %d); "
                  "oversold units: %d" % (rc["bad_rounds"], rc["undersold"], rc["stock_wrong_rounds"], rc["oversold"]))
            print("SQL: %s units given, %s in order_lines (oversold %d); rounds where order_lines or inventory disagree with the 201s: %d"
                  % (format(rc["sql"]["stock_given"], ","), format(rc["sql"]["units_ordered"], ","), rc["sql"]["oversold"],
                     rc["sql"]["rounds_disagreeing"]))
            for e in rc["examples"][:8] + rc["sql"]["examples"][:5]:
                print("  " + e)
        print()
        print("contract checks (one request at a time): %d/%d ok" % (sum(ch["ok"] for ch in checks), len(checks)))
        for ch in checks:
            if not ch["ok"]:
                print("  FAIL %s: %s" % (ch["check"], ch["detail"]))
        print()
        print("read model: %s orders, %s summaries, caught up %s s after the load (behind: %s)"
              % (format(out["db"]["orders"], ","), format(out["db"]["summaries"], ","), fmt(caught, 2), behind))
        for k in ("inventory_check", "orders_rebuild"):
            x = out[k]
            print("%s: exit %s (%.1f s): %s" % (x["command"], x["exit"], x["seconds"], " | ".join(x["output"][-3:])))
            if x["exit"] != 0 and x["stderr"]:
                print("  stderr: " + " | ".join(x["stderr"][-3:]))
        print()
        for name, t in T.items():
            val = t["value"]
            print("%-18s %-8s %-12s %s" % (name, t["target"], fmt(val, 2) if isinstance(val, float) else val, "PASS" if t["pass"] else "FAIL"))
        for name, r_ in ([("warm-up", warm)] if warm else []) + [("run %d" % (i + 1), r_) for i, r_ in enumerate(runs)]:
            for e in r_["examples"][:5]:
                print("%s: %s" % (name, e))
            for key in ("sellout", "lag"):
                if key in r_:
                    for e in r_[key].get("missing_examples", [])[:3]:
                        print("%s: %s not seen within %g s" % (name, e if key == "lag" else "sell-out " + e, a.probe_timeout))
                    for e in r_[key].get("wrong_examples", [])[:3] + r_[key]["poll_errors"][:3]:
                        print("%s %s prober: %s" % (name, key, e))
        if a.json:
            for r_ in runs:
                r_["sellout"].pop("lags", None)
                r_["lag"].pop("lags", None)
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
            print("wrote " + a.json)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
        if services:
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=services_env)


if __name__ == "__main__":
    main()
