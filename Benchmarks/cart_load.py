#!/usr/bin/env python3
"""The cart HTTP API under load: throughput, latency, errors and lost updates (issue 15).

    Benchmarks/cart_load.py [--products 1000000] [--corpus C] [--aisle .build/release/aisle]
        [--seconds 30] [--repeat 3] [--clients 16] [--json OUT]                 (--help for all)

1. Corpus: the synth catalog (../shared/corpora/synth/gen_catalog.py --products N --seed 42),
   generated into --work unless --corpus is given (e.g. /work/data/catalog-1m.jsonl).
2. Stores: PostgreSQL and Redis from `scripts/services.sh` on their own ports (55481 / 56481),
   stopped at the end, unless DATABASE_URL / REDIS_URL are set; a fresh database `aisle_cart_bench`.
3. `aisle catalog load --corpus C`, `aisle reindex --index WORK/index` (the served index must carry
   a change-log position: `aisle serve` follows PostgreSQL), then `aisle serve --index WORK/index
   --port 18481` with DATABASE_URL and REDIS_URL; waits for /healthz.
4. Products: a sample of active, in-stock products from PostgreSQL (stock does not matter: the API
   accepts adds of any active product and only warns on GET).
5. Load: wrk on loopback (Benchmarks/cart_load.lua), -t16 -c16 (one connection per thread = 16
   clients sharing the machine's cores with the server, Redis and PostgreSQL). Mixed cart traffic:
   40% GET /api/v1/cart, 60% writes (POST /api/v1/cart/items quantity 1, PATCH
   /api/v1/cart/items/{id} quantity 1-9). Clients are paired (2k, 2k+1); a pair works through its
   own list of guest carts (sessions created with POST /api/v1/sessions {} before the run), each
   client about --ops-per-cart operations per cart, the two clients of a pair on the same cart at
   the same time. A cart has 18 shared products both clients add to (at most 49 adds per client
   and line: lines stay <= 99) and one private product per client that only that client sets, so
   carts hold 1-20 lines. A warm-up run (--warmup-seconds) first, then --repeat runs of --seconds;
   each run has fresh carts, sized from the warm-up's rate.
6. Lost updates: after every run each cart used is read (GET /api/v1/cart) and every line compared
   with what the clients were told: a shared line must equal the sum of both clients' 2xx adds to
   it, a private line the last quantity its client set (2xx), no other line may exist. A write
   without an answer (socket error, run end) or answered 5xx may or may not have been applied:
   both outcomes are accepted for its line and counted ("ambiguous").
7. Redis: INFO commandstats before and after each run = Redis commands per cart operation; after
   the runs a probe sends --probe-ops of each kind of operation one at a time and reports the
   commands each sends. CPU seconds per 1,000 operations of the server, Redis and wrk.

Report: operations/s, latency p50 / p90 / p99 / max, errors (non-2xx answers + socket errors), lost
updates; medians over the runs. Targets: >= 2,000 ops/s, p99 <= 10 ms, 0 errors, 0 lost updates
(PASS/FAIL each). --json OUT: everything. Latency is per request, each answer counted once, timed
by the wrk threads' Lua (monotonic clock, request built -> answer parsed, 10 us buckets); wrk's own
percentiles are printed next to it: wrk 4 corrects for coordinated omission (after an answer slower
than the mean interval it adds the samples the stalled connection would have produced), so there a
single 300 ms stall adds ~75 samples and can move p99 by tens of ms.

Needs wrk (Debian package `wrk`; installed with apt-get when missing) and Python 3's standard
library (minimal PostgreSQL and Redis clients below). Release builds only: `swift build -c release`.
Small scale:  Benchmarks/cart_load.py --corpus /work/data/catalog-20k.jsonl --products 20000 --seconds 10 --repeat 1
"""
import argparse
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from pgwire import PG  # noqa: E402

COMMERCE_THREADS = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
now = time.monotonic
PG_PORT, REDIS_PORT, HTTP_PORT = "55481", "56481", 18481


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# MARK: - A minimal PostgreSQL client (simple query protocol)

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

    def info(self, section):
        out = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def commandstats(self):
        """{command: calls} (our own INFO calls left out)."""
        calls = {}
        for k, v in self.info("commandstats").items():
            if k.startswith("cmdstat_"):
                name = k[len("cmdstat_"):]
                m = re.search(r"calls=(\d+)", v)
                if m and name != "info":
                    calls[name] = int(m.group(1))
        return calls

    def cpu_s(self):
        i = self.info("cpu")
        return float(i.get("used_cpu_user", 0)) + float(i.get("used_cpu_sys", 0))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def diff_calls(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}


# MARK: - HTTP helpers

class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout, self.conn = port, timeout, None

    def call(self, method, path, body=None, token=None):
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None else None
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = _Conn("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = raw.decode(errors="replace")
                return r.status, parsed, dict(r.getheaders())
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(math.ceil(p * len(s) / 100.0)) - 1))]


def hist_pct(hist, p):
    """Percentile of a {value: count} histogram."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, int(math.ceil(p * total / 100.0)))
    seen = 0
    for v in sorted(hist):
        seen += hist[v]
        if seen >= rank:
            return v
    return max(hist)


def fmt(x, nd=2):
    return "-" if x is None else ("{:,.%df}" % nd).format(x)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run(cmd, env, label):
    t0 = now()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = now() - t0
    if r.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s%s" % (label, r.returncode, r.stdout[-2000:], r.stderr[-4000:]))
    return dt, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def proc_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


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
    """(busy, total) jiffies of all cores."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# MARK: - Sessions and carts

def create_sessions(port, n, threads=4):
    """n guest sessions (POST /api/v1/sessions {}); returns their tokens."""
    tokens, errors, lock = [], [], threading.Lock()
    todo = [n]

    def worker():
        c = Client(port)
        while True:
            with lock:
                if todo[0] <= 0 or len(errors) > 10:
                    break
                todo[0] -= 1
            for _ in range(20):
                try:
                    st, body, headers = c.call("POST", "/api/v1/sessions", {})
                except OSError as e:
                    st, body, headers = None, repr(e), {}
                if st == 429:
                    time.sleep(min(5.0, float(headers.get("Retry-After", "1") or 1)))
                    continue
                break
            with lock:
                if st == 201 and isinstance(body, dict) and body.get("token"):
                    tokens.append(body["token"])
                else:
                    errors.append("POST /api/v1/sessions {} -> %s %s" % (st, json.dumps(body)[:300]))
        c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit("creating guest sessions failed:\n  " + "\n  ".join(errors[:5]))
    return tokens


def make_plan(port, products, pairs, carts_per_pair, rng):
    """Per pair, a list of carts: (token, private0, private1, [18 shared])."""
    tokens = create_sessions(port, pairs * carts_per_pair)
    plan = {}
    k = 0
    for pair in range(pairs):
        lst = []
        for _ in range(carts_per_pair):
            ps = rng.sample(products, 20)
            lst.append((tokens[k], ps[0], ps[1], ps[2:]))
            k += 1
        plan[pair] = lst
    return plan


def write_config(path, out_path, plan, a, seed):
    with open(path, "w") as f:
        for k, v in (("ops_per_cart", a.ops_per_cart), ("get_share", a.get_share), ("update_share", a.update_share),
                     ("max_adds", a.max_adds), ("seed", seed), ("out", out_path),
                     ("interval_us", int(a.clients * 1e6 / a.rate) if a.rate > 0 else 0)):
            f.write("param %s %s\n" % (k, v))
        for pair, lst in plan.items():
            for token, p0, p1, shared in lst:
                f.write("cart %d %s %s %s %s\n" % (pair, token, p0, p1, " ".join(shared)))


def parse_result(path):
    r = {"summary": {}, "latency": {}, "count": {}, "status": {}, "adds": {}, "private": {}, "orphans": [],
         "lat": {}, "lines": {}, "errors": [], "complete": False}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            kind = w[0]
            if kind == "end":
                r["complete"] = True
            elif kind == "summary":
                r["summary"][w[1]] = float(w[2])
            elif kind == "latency":
                r["latency"][w[1]] = float(w[2])
            elif kind == "count":
                r["count"].setdefault(int(w[1]), {})[w[2]] = int(w[3])
            elif kind == "status":
                r["status"][int(w[2])] = r["status"].get(int(w[2]), 0) + int(w[3])
            elif kind == "add":
                r["adds"][(int(w[1]), int(w[2]), w[3])] = int(w[4])
            elif kind == "private":
                r["private"][(int(w[1]), int(w[2]))] = (w[3], int(w[4]))
            elif kind == "orphan":
                r["orphans"].append((int(w[1]), int(w[2]), w[3], w[4], int(w[5])))
            elif kind == "lat":
                h = r["lat"].setdefault(w[2], {})
                h[int(w[3])] = h.get(int(w[3]), 0) + int(w[4])
            elif kind == "lines":
                r["lines"][int(w[2])] = r["lines"].get(int(w[2]), 0) + int(w[3])
            elif kind == "error":
                r["errors"].append("client %s: %s" % (w[1], " ".join(w[2:])))
    return r


def verify(port, plan, res):
    """Reads every cart of the plan and compares it with what the clients were told."""
    expect = {}    # (pair, cart#) -> {product: [low, high]} for shared lines
    private = {}   # (pair, cart#) -> {product: set of allowed quantities (0 = absent)}
    for (tid, ci, product), n in res["adds"].items():
        e = expect.setdefault((tid // 2, ci), {}).setdefault(product, [0, 0])
        e[0] += n
        e[1] += n
    for (tid, ci), (product, q) in res["private"].items():
        private.setdefault((tid // 2, ci), {})[product] = {q}
    ambiguous_ops = 0
    for tid, ci, kind, product, q in res["orphans"]:
        ambiguous_ops += 1
        key = (tid // 2, ci)
        if kind == "add":
            expect.setdefault(key, {}).setdefault(product, [0, 0])[1] += q
        else:
            allowed = private.setdefault(key, {}).setdefault(product, {0})
            allowed |= {q} | {x + q for x in list(allowed)}
    c = Client(port)
    out = {"carts": 0, "carts_touched": 0, "lines": 0, "wrong_lines": 0, "absent_lines": 0, "missing_units": 0, "extra_units": 0,
           "foreign_lines": 0, "ambiguous_ops": ambiguous_ops, "read_errors": 0, "max_lines": 0, "max_quantity": 0,
           "examples": []}
    for pair, lst in plan.items():
        for i, (token, p0, p1, shared) in enumerate(lst):
            ci = i + 1
            st, body, _ = c.call("GET", "/api/v1/cart", token=token)
            out["carts"] += 1
            if st != 200 or not isinstance(body, dict):
                out["read_errors"] += 1
                if len(out["examples"]) < 10:
                    out["examples"].append("GET /api/v1/cart (pair %d cart %d) -> %s %s" % (pair, ci, st, json.dumps(body)[:300]))
                continue
            got = {it["product_id"]: it["quantity"] for it in body.get("items", [])}
            if got:
                out["carts_touched"] += 1
            out["lines"] += len(got)
            out["max_lines"] = max(out["max_lines"], len(got))
            out["max_quantity"] = max([out["max_quantity"]] + list(got.values()))
            ex, pr = expect.get((pair, ci), {}), private.get((pair, ci), {})
            own = set(shared) | {p0, p1}
            for product in sorted(own | set(got)):
                a_q = got.get(product, 0)
                if product not in own:
                    ok = False
                    out["foreign_lines"] += 1
                    want = "absent"
                elif product in (p0, p1):
                    allowed = pr.get(product, {0})
                    ok = a_q in allowed
                    want = "/".join(str(x) for x in sorted(allowed))
                    if not ok:
                        m = max(allowed)
                        out["missing_units" if a_q < m else "extra_units"] += abs(m - a_q)
                else:
                    lo, hi = ex.get(product, [0, 0])
                    ok = lo <= a_q <= hi
                    want = str(lo) if lo == hi else "%d-%d" % (lo, hi)
                    if a_q < lo:
                        out["missing_units"] += lo - a_q
                    elif a_q > hi:
                        out["extra_units"] += a_q - hi
                if not ok:
                    out["wrong_lines"] += 1
                    if product not in got:
                        out["absent_lines"] += 1   # the client was told the line exists; GET does not show it
                    if len(out["examples"]) < 10:
                        out["examples"].append("pair %d cart %d (token %s...) %s %s: quantity %d, expected %s (cart version %s)"
                                               % (pair, ci, token[:8], product, "private" if product in (p0, p1) else "shared",
                                                  a_q, want, body.get("version")))
            if body.get("line_count") is not None and body.get("line_count") != len(got):
                out["examples"].append("pair %d cart %d: line_count %s but %d items" % (pair, ci, body.get("line_count"), len(got)))
    c.close()
    return out


# MARK: - One wrk run

def find_wrk():
    w = shutil.which("wrk")
    if w:
        return w
    log("installing wrk (apt-get install wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "wrk"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w = shutil.which("wrk")
    if not w:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return w


def one_run(label, a, wrk, port, products, rng, rate_guess, seconds, server_pid, redis, work, seed):
    pairs = a.clients // 2
    per_client = rate_guess * seconds / a.clients
    carts_per_pair = int(math.ceil(per_client / a.ops_per_cart)) + 2
    t0 = now()
    plan = make_plan(port, products, pairs, carts_per_pair, rng)
    t_sessions = now() - t0
    cfg = os.path.join(work, "%s.conf" % label)
    res_path = os.path.join(work, "%s.out" % label)
    if os.path.exists(res_path):
        os.remove(res_path)
    write_config(cfg, res_path, plan, a, seed)

    calls0 = redis.commandstats() if redis else None
    rcpu0 = redis.cpu_s() if redis else None
    scpu0, wcpu0, busy0 = proc_cpu_s(server_pid), children_cpu_s(), machine_busy()
    cmd = [wrk, "-t%d" % a.clients, "-c%d" % a.clients, "-d%ds" % max(1, int(round(seconds))), "--timeout", "%ds" % a.timeout,
           "-s", os.path.join(HERE, "cart_load.lua"), "http://127.0.0.1:%d/" % port]
    log("%s: %s (%d carts in %d pairs, sessions made in %.1f s)" % (label, " ".join(cmd[:7]), pairs * carts_per_pair, pairs, t_sessions))
    r = subprocess.run(cmd, env=dict(os.environ, CART_LOAD_CONFIG=cfg), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=seconds + a.timeout + 120)
    busy1, wcpu1, scpu1 = machine_busy(), children_cpu_s(), proc_cpu_s(server_pid)
    rcpu1 = redis.cpu_s() if redis else None
    calls1 = redis.commandstats() if redis else None
    with open(os.path.join(work, "%s.wrk.txt" % label), "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0 or not os.path.exists(res_path):
        raise SystemExit("wrk failed (%d):\n%s%s" % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    if r.stderr.strip():
        log("wrk stderr: " + r.stderr.strip()[:2000])
    res = parse_result(res_path)
    if not res["complete"]:
        raise SystemExit("wrk's report %s is incomplete (no `end` line)" % res_path)

    S, L = res["summary"], res["latency"]
    dur = S["duration_us"] / 1e6
    ops = int(S["requests"])
    counts = {}
    for c in res["count"].values():
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
    non2xx = sum(n for st, n in res["status"].items() if not 200 <= st < 300)
    sock = {k: int(S.get("errors_" + k, 0)) for k in ("connect", "read", "write", "timeout")}
    by_kind = {}
    for kind, h in sorted(res["lat"].items()):
        by_kind[kind] = {"count": sum(h.values()), "p50_ms": hist_pct(h, 50) / 1000, "p90_ms": hist_pct(h, 90) / 1000,
                         "p99_ms": hist_pct(h, 99) / 1000, "max_ms": max(h) / 1000}
    # Per request: every answer once, from the clients' own clock (10 us buckets). wrk's figures
    # are corrected for coordinated omission (wrk 4: after a slow answer it adds the samples the
    # stalled connection would have sent at the mean rate), so one stall weighs like many.
    wrk_lat = {"p50": L.get("p50", 0) / 1000, "p90": L.get("p90", 0) / 1000, "p99": L.get("p99", 0) / 1000,
               "p99.9": L.get("p99.9", 0) / 1000, "max": L.get("max", 0) / 1000, "mean": L.get("mean", 0) / 1000}
    merged = {}
    for h in res["lat"].values():
        for b, n in h.items():
            merged[b] = merged.get(b, 0) + n
    if merged:
        latency = {k: hist_pct(merged, p) / 1000 for k, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9))}
        latency["max"] = max(merged) / 1000
        latency["mean"] = sum(b * n for b, n in merged.items()) / sum(merged.values()) / 1000
        source = "client, per request"
    else:
        latency, source = dict(wrk_lat), "wrk (no LuaJIT FFI clock)"
    lines = res["lines"]
    got_lines = {k: v for k, v in lines.items() if k >= 0}
    sent = counts.get("ops", 0)
    v = verify(port, plan, res)
    out = {
        "seconds": dur, "ops": ops, "ops_per_s": ops / dur if dur else None,
        "latency_ms": latency,
        "latency_source": source,
        "wrk_latency_co_corrected_ms": wrk_lat,
        "latency_by_kind_client_ms": by_kind,
        "statuses": {str(k): v2 for k, v2 in sorted(res["status"].items())},
        "non2xx": non2xx, "socket_errors": sock, "errors": non2xx + sum(sock.values()),
        "error_examples": res["errors"][:20],
        "mix": {"sent": sent, "get": counts.get("get", 0), "add": counts.get("add", 0), "patch": counts.get("patch", 0),
                "post_private": counts.get("post_private", 0),
                "get_share": counts.get("get", 0) / sent if sent else None,
                "write_share": (sent - counts.get("get", 0)) / sent if sent else None},
        "cart_lines_seen_by_get": {"min": min(got_lines) if got_lines else None, "max": max(got_lines) if got_lines else None,
                                   "mean": (sum(k * n for k, n in got_lines.items()) / sum(got_lines.values())) if got_lines else None,
                                   "outside_1_20": sum(n for k, n in got_lines.items() if not 1 <= k <= 20),
                                   "unparsed": lines.get(-1, 0)},
        "carts": {"planned": pairs * carts_per_pair, "visits": counts.get("carts", 0), "wraps": counts.get("wraps", 0),
                  "capped": counts.get("capped", 0), "orphans": counts.get("orphans", 0) + counts.get("orphans_at_end", 0)},
        "verify": v,
        "lost_updates": v["wrong_lines"] + v["read_errors"],
        "sessions_s": t_sessions,
        "cpu_s_per_1k_ops": {
            "aisle": (scpu1 - scpu0) * 1000 / ops if ops and scpu0 is not None and scpu1 is not None else None,
            "redis": (rcpu1 - rcpu0) * 1000 / ops if ops and rcpu0 is not None else None,
            "wrk": (wcpu1 - wcpu0) * 1000 / ops if ops else None},
        "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        "server_rss_mb": proc_rss_mb(server_pid),
    }
    if calls0 is not None:
        d = diff_calls(calls1, calls0)
        out["redis_calls"] = d
        out["redis_calls_per_op"] = {k: n / ops for k, n in sorted(d.items())} if ops else {}
    log("  %s ops in %.1f s = %s ops/s; p50 %s / p90 %s / p99 %s / max %s ms (wrk, CO-corrected: p99 %s); errors %d; lost %d (%d carts read)"
        % (format(ops, ","), dur, fmt(out["ops_per_s"], 0), fmt(latency["p50"]), fmt(latency["p90"]), fmt(latency["p99"]),
           fmt(latency["max"]), fmt(wrk_lat["p99"]), out["errors"], out["lost_updates"], v["carts"]))
    return out


# MARK: - Redis commands per kind of operation (one at a time)

def probe(port, products, redis, n, rng):
    c = Client(port)
    out = {}

    def measure(name, fn, count):
        before = redis.commandstats()
        done = 0
        errors = []
        for i in range(count):
            st, body, _ = fn(i)
            if 200 <= st < 300:
                done += 1
            elif len(errors) < 3:
                errors.append("%s %s" % (st, json.dumps(body)[:200]))
        after = redis.commandstats()
        d = diff_calls(after, before)
        out[name] = {"ops": count, "ok": done, "calls_per_op": {k: v / count for k, v in sorted(d.items())},
                     "total_per_op": sum(d.values()) / count, "errors": errors}

    carts = []
    measure("POST /api/v1/sessions", lambda i: c.call("POST", "/api/v1/sessions", {}), n)
    k = max(1, n // 20)
    toks = create_sessions(port, k, threads=1)
    lines = []
    for t in toks:
        ps = rng.sample(products, 20)
        carts.append((t, ps))
        lines += [(t, p) for p in ps]
    lines = lines[:n]
    measure("POST cart/items (new line)", lambda i: c.call("POST", "/api/v1/cart/items", {"product_id": lines[i][1], "quantity": 1},
                                                           token=lines[i][0]), len(lines))
    measure("POST cart/items (existing line)", lambda i: c.call("POST", "/api/v1/cart/items", {"product_id": lines[i][1], "quantity": 1},
                                                                token=lines[i][0]), len(lines))
    measure("PATCH cart/items/{id}", lambda i: c.call("PATCH", "/api/v1/cart/items/" + lines[i][1], {"quantity": 1 + i % 9},
                                                      token=lines[i][0]), len(lines))
    measure("GET cart (20 lines)", lambda i: c.call("GET", "/api/v1/cart", token=carts[i % len(carts)][0]), n)
    c.close()
    return out


# MARK: - Main

def start_server(aisle, index, port, env, log_path):
    logf = open(log_path, "a")
    extra = ["--commerce-threads", str(COMMERCE_THREADS)] if COMMERCE_THREADS else []
    p = subprocess.Popen([aisle, "serve", "--index", index, "--port", str(port)] + extra, env=env, stdout=logf, stderr=subprocess.STDOUT)
    t0 = now()
    while now() - t0 < 300:
        if p.poll() is not None:
            raise SystemExit("aisle serve exited (%s); see %s:\n%s" % (p.returncode, log_path, open(log_path).read()[-3000:]))
        try:
            st, _, _ = Client(port, timeout=2).call("GET", "/healthz")
            if st == 200:
                return p, now() - t0
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    raise SystemExit("aisle serve did not answer /healthz within 300 s; see " + log_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=1000000, help="synth products to generate (ignored with --corpus)")
    ap.add_argument("--corpus", help="a synth catalog JSONL (default: generated into --work)")
    ap.add_argument("--aisle", default=os.path.join(ROOT, ".build/release/aisle"))
    ap.add_argument("--work", default=os.path.join(os.environ.get("BENCH_DATA", "/tmp/aisle-bench"), "cart-load"))
    ap.add_argument("--port", type=int, default=HTTP_PORT, help="aisle serve's port")
    ap.add_argument("--seconds", type=float, default=30.0, help="each measured run")
    ap.add_argument("--repeat", type=int, default=3, help="measured runs (medians)")
    ap.add_argument("--warmup-seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=16, help="wrk threads = connections (even)")
    ap.add_argument("--ops-per-cart", type=int, default=60, help="operations of one client on a cart before it moves on")
    ap.add_argument("--get-share", type=float, default=0.4, help="GET /api/v1/cart share of all operations")
    ap.add_argument("--update-share", type=float, default=0.25, help="share of the writes that set the private line (PATCH)")
    ap.add_argument("--max-adds", type=int, default=49, help="adds per client per shared line and cart (2 x this <= 99)")
    ap.add_argument("--rate-guess", type=float, default=6000.0, help="ops/s assumed to size the warm-up's carts")
    ap.add_argument("--product-sample", type=int, default=50000, help="products the carts draw from")
    ap.add_argument("--timeout", type=int, default=10, help="wrk --timeout, seconds (latencies above it are not recorded)")
    ap.add_argument("--probe-ops", type=int, default=200, help="operations of each kind in the Redis probe (0: no probe)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="offered operations/s in total, paced per client (0: as fast as the clients can go, closed loop)")
    ap.add_argument("--commerce-threads", type=int, default=None, help="aisle serve --commerce-threads")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    global COMMERCE_THREADS
    COMMERCE_THREADS = a.commerce_threads
    if a.clients < 2 or a.clients % 2:
        sys.exit("--clients must be even (clients work in pairs)")
    if 2 * a.max_adds > 99:
        sys.exit("--max-adds must be <= 49 (two clients add to a line of at most 99)")
    if a.ops_per_cart < 2:
        sys.exit("--ops-per-cart must be >= 2")

    aisle = os.path.abspath(a.aisle)
    if not os.access(aisle, os.X_OK):
        sys.exit("no aisle binary at %s: run `swift build -c release`" % aisle)
    wrk = find_wrk()
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
    rng = random.Random(a.seed)
    out = {"aisle": aisle, "corpus": corpus, "products": n, "cores": os.cpu_count(), "clients": a.clients,
           "seconds": a.seconds, "repeat": a.repeat, "ops_per_cart": a.ops_per_cart, "get_share": a.get_share,
           "update_share": a.update_share, "wrk": subprocess.run([wrk, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                                 text=True).stdout.splitlines()[0]}
    try:
        if not base_url or not redis_url:
            r = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=services_env,
                               stdout=subprocess.PIPE, text=True, check=True)
            services = True
            base_url = base_url or re.search(r"DATABASE_URL='([^']+)'", r.stdout).group(1)
            redis_url = redis_url or re.search(r"REDIS_URL='([^']+)'", r.stdout).group(1)
        admin = PG(base_url, timeout=120)
        admin.query("DROP DATABASE IF EXISTS aisle_cart_bench WITH (FORCE)")
        admin.query("CREATE DATABASE aisle_cart_bench")
        admin.close()
        url = re.sub(r"^(postgres(?:ql)?://[^/]+)/[^?]*", r"\1/aisle_cart_bench", base_url)
        if "/aisle_cart_bench" not in url:
            url = base_url.rstrip("/") + "/aisle_cart_bench"
        attrs = os.path.join(a.work, "product_attributes.json")
        for p in (attrs, attrs + ".lock"):
            if os.path.exists(p):
                os.remove(p)
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, AISLE_ATTRIBUTES=attrs)
        env.pop("MONGODB_URI", None)
        out["redis_url"] = redis_url

        log("loading %d products into PostgreSQL ..." % n)
        t_load, line = run([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], env, "aisle catalog load")
        log("  %.1f s: %s" % (t_load, line))
        index = os.path.join(a.work, "index")
        shutil.rmtree(index, ignore_errors=True)
        log("aisle reindex --index %s ..." % index)
        t_index, line = run([aisle, "reindex", "--index", index, "--quiet"], env, "aisle reindex")
        log("  %.1f s: %s" % (t_index, line))
        out["setup"] = {"load_s": t_load, "reindex_s": t_index}

        pg = PG(url, timeout=120)
        products = [r[0] for r in pg.query(
            "SELECT p.id FROM products p JOIN inventory i ON i.product_id = p.id "
            "WHERE p.status = 'active' AND i.available > 0 ORDER BY md5(p.id) LIMIT %d" % a.product_sample)]
        pg.close()
        if len(products) < 20:
            sys.exit("only %d active in-stock products in the catalog: need at least 20" % len(products))
        out["product_sample"] = len(products)

        log_path = os.path.join(a.work, "serve.log")
        open(log_path, "w").close()
        server, up = start_server(aisle, index, a.port, env, log_path)
        out["setup"]["server_start_s"] = up
        log("aisle serve on port %d (up in %.1f s), pid %d" % (a.port, up, server.pid))
        c = Client(a.port)
        st, body, _ = c.call("POST", "/api/v1/sessions", {})
        if st != 201:
            sys.exit("POST /api/v1/sessions {} answered %s %s: does this aisle serve the commerce API (issue 15)? see %s"
                     % (st, json.dumps(body)[:300], log_path))
        c.close()
        redis = Redis(redis_url)

        warm = one_run("warmup", a, wrk, a.port, products, rng, a.rate_guess, a.warmup_seconds, server.pid, redis, a.work, a.seed)
        out["warmup"] = warm
        rate = max(warm["ops_per_s"] or 0, 300.0) * 1.5
        runs = []
        for k in range(a.repeat):
            runs.append(one_run("run%d" % (k + 1), a, wrk, a.port, products, rng, rate, a.seconds, server.pid, redis, a.work,
                                a.seed + k + 1))
        out["runs"] = runs
        if a.probe_ops > 0:
            log("Redis probe: %d operations of each kind, one at a time" % a.probe_ops)
            out["redis_probe"] = probe(a.port, products, redis, a.probe_ops, rng)
        redis.close()
        out["server_rss_mb"] = proc_rss_mb(server.pid)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server = None

        # Summary.
        M = {"ops_per_s": med([r["ops_per_s"] for r in runs])}
        for k in ("p50", "p90", "p99", "max"):
            M[k + "_ms"] = med([r["latency_ms"][k] for r in runs])
        M["wrk_co_corrected_p99_ms"] = med([r["wrk_latency_co_corrected_ms"]["p99"] for r in runs])
        errors = sum(r["errors"] for r in runs)
        lost = sum(r["lost_updates"] for r in runs)
        warm_bad = warm["errors"] + warm["lost_updates"]
        out["median"] = M
        out["errors"] = errors
        out["lost_updates"] = lost
        T = {"throughput": {"target": ">= 2000 ops/s", "value": M["ops_per_s"], "pass": (M["ops_per_s"] or 0) >= 2000},
             "p99": {"target": "<= 10 ms", "value": M["p99_ms"], "pass": M["p99_ms"] is not None and M["p99_ms"] <= 10.0},
             "errors": {"target": "0", "value": errors + warm["errors"], "pass": errors + warm["errors"] == 0},
             "lost_updates": {"target": "0", "value": lost + warm["lost_updates"], "pass": lost + warm["lost_updates"] == 0}}
        out["targets"] = T
        out["pass"] = all(t["pass"] for t in T.values())

        print()
        print("cart load: %s, %s products, %d cores, wrk -t%d -c%d, %d x %.0f s (+ %.0f s warm-up), %d ops per client per cart, %s%s"
              % (aisle, format(n, ","), out["cores"], a.clients, a.clients, a.repeat, a.seconds, a.warmup_seconds, a.ops_per_cart,
                 "offered %s ops/s (paced)" % format(int(a.rate), ",") if a.rate > 0 else "closed loop (as fast as the clients go)",
                 ", --commerce-threads %d" % a.commerce_threads if a.commerce_threads else ""))
        mix = runs[0]["mix"] if runs else warm["mix"]
        print("mix: %.1f%% GET /api/v1/cart, %.1f%% writes (POST add %d, PATCH %d, first add of the private line %d in run 1)"
              % (100 * (mix["get_share"] or 0), 100 * (mix["write_share"] or 0), mix["add"], mix["patch"], mix["post_private"]))
        print()
        print("| run | ops | ops/s | p50 ms | p90 ms | p99 ms | max ms | wrk p99 ms (CO-corrected) | errors | lost | carts read | ambiguous | GET lines (mean, max) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, r in [("warm-up", warm)] + [("run %d" % (i + 1), r) for i, r in enumerate(runs)]:
            L, V, G = r["latency_ms"], r["verify"], r["cart_lines_seen_by_get"]
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %d | %d | %s, %s |"
                  % (name, format(r["ops"], ","), fmt(r["ops_per_s"], 0), fmt(L["p50"]), fmt(L["p90"]), fmt(L["p99"]), fmt(L["max"]),
                     fmt(r["wrk_latency_co_corrected_ms"]["p99"]), r["errors"], r["lost_updates"], V["carts"], V["ambiguous_ops"],
                     fmt(G["mean"], 1), G["max"]))
        print("| **median** | | **%s** | %s | %s | **%s** | %s | %s | | | | | |"
              % (fmt(M["ops_per_s"], 0), fmt(M["p50_ms"]), fmt(M["p90_ms"]), fmt(M["p99_ms"]), fmt(M["max_ms"]),
                 fmt(M["wrk_co_corrected_p99_ms"])))
        print("latency: %s (every answer once); wrk's own figures add, after each slow answer, the requests the stalled"
              " connection would have sent (coordinated-omission correction), so stalls weigh more there"
              % (runs[0]["latency_source"] if runs else warm["latency_source"]))
        print()
        if runs:
            r = runs[len(runs) // 2]
            print("latency by kind (client side, run %d): " % (len(runs) // 2 + 1) + "; ".join(
                "%s n=%s p50 %s p99 %s max %s ms" % (k, format(v["count"], ","), fmt(v["p50_ms"]), fmt(v["p99_ms"]), fmt(v["max_ms"]))
                for k, v in r["latency_by_kind_client_ms"].items()))
            cpu = r["cpu_s_per_1k_ops"]
            print("CPU s per 1,000 ops: aisle %s, redis %s, wrk %s; machine busy %.0f%%; server RSS %s MB"
                  % (fmt(cpu["aisle"], 3), fmt(cpu["redis"], 3), fmt(cpu["wrk"], 3), 100 * r["machine_busy"], fmt(r["server_rss_mb"], 0)))
            if r.get("redis_calls_per_op") is not None:
                tot = {}
                ops = 0
                for x in runs:
                    ops += x["ops"]
                    for k2, v2 in x["redis_calls"].items():
                        tot[k2] = tot.get(k2, 0) + v2
                out["redis_calls_per_op"] = {k2: v2 / ops for k2, v2 in sorted(tot.items())} if ops else {}
                print("Redis commands per cart operation (mixed runs): " + ", ".join(
                    "%s %.2f" % (k2.upper(), v2) for k2, v2 in sorted(out["redis_calls_per_op"].items(), key=lambda kv: -kv[1]))
                    + " (total %.2f)" % sum(out["redis_calls_per_op"].values()))
        if out.get("redis_probe"):
            P = out["redis_probe"]
            cmds = sorted({k2 for v in P.values() for k2 in v["calls_per_op"]})
            print()
            print("Redis commands per operation (probe, %d of each, one at a time):" % a.probe_ops)
            print("| operation | " + " | ".join(c2.upper() for c2 in cmds) + " | total | ok |")
            print("|---|" + "---:|" * (len(cmds) + 2))
            for name, v in P.items():
                print("| %s | " % name + " | ".join(fmt(v["calls_per_op"].get(c2), 2) if v["calls_per_op"].get(c2) else "-" for c2 in cmds)
                      + " | %s | %d/%d |" % (fmt(v["total_per_op"], 2), v["ok"], v["ops"]))
                for e in v["errors"]:
                    print("    error: " + e)
        print()
        for name, t in T.items():
            val = t["value"]
            print("%-13s %-14s %-12s %s" % (name, t["target"], fmt(val, 2) if isinstance(val, float) else val, "PASS" if t["pass"] else "FAIL"))
        if warm_bad:
            print("(errors and lost updates include the warm-up's: %d errors, %d lost)" % (warm["errors"], warm["lost_updates"]))
        for name, r in [("warm-up", warm)] + [("run %d" % (i + 1), r) for i, r in enumerate(runs)]:
            for e in r["error_examples"][:5]:
                print("%s error: %s" % (name, e))
            V = r["verify"]
            if V["wrong_lines"]:
                print("%s: %d lines wrong in %d carts read (%d of them absent from GET /api/v1/cart), %d units missing, %d extra"
                      % (name, V["wrong_lines"], V["carts"], V["absent_lines"], V["missing_units"], V["extra_units"]))
            for e in V["examples"][:5]:
                print("%s lost: %s" % (name, e))
            if r["carts"]["wraps"]:
                print("%s: clients ran out of carts %d times and reused them (more --rate-guess)" % (name, r["carts"]["wraps"]))
        if a.json:
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
