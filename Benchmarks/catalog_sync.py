#!/usr/bin/env python3
"""The catalog feeding the index: load, full rebuild, and change-to-search latency with a crash.

    Benchmarks/catalog_sync.py --products 100000 [--aisle .build/release/aisle] [--work DIR]
        [--rate 1000] [--seconds 30] [--kill-seconds 30] [--repeat 3] [--json OUT]   (--help for all)

1. Corpus: the synth catalog (../shared/corpora/synth/gen_catalog.py --products N --seed 42),
   generated into --work unless --corpus is given.
2. Stores: a throwaway PostgreSQL from scripts/services.sh (ports 55449/56399) unless DATABASE_URL
   is set; a fresh database `aisle_bench` in it; attribute documents in a file under --work.
3. `aisle catalog load --corpus C`: wall time and rows/s.
4. `aisle index --corpus C` (direct build from the JSONL) and `aisle reindex` (from PostgreSQL +
   attribute documents), --repeat times interleaved: medians and the ratio (target <= 2).
5. Visibility: `aisle serve --index … ` with DATABASE_URL (it follows the change log). A stream of
   --rate catalog changes/s (70% `UPDATE products SET price`, 30% `UPDATE inventory SET available`,
   each its own transaction) runs for --seconds; --markers-per-s of them set a reserved product's
   price to a unique marker above every price. A prober searches (HTTP, the product's title plus
   an exact price filter) until the marked product is the hit. Latency = time of the probe answer
   that found it - time PostgreSQL acknowledged the marker's COMMIT. Target p99 < 1 s.
6. Crash: the stream runs again for --kill-seconds; halfway through the server is killed with
   SIGKILL and restarted at once (the stream does not stop). After the stream, the script waits
   until the index has caught up, then compares every product: the indexed price and stock must
   equal PostgreSQL's (0 lost), and the index must hold exactly the catalog's products.

PostgreSQL is driven with a minimal wire-protocol client (trust or md5 authentication), so the
script needs only Python 3's standard library. Release builds only: `swift build -c release`.
For 1M products:  Benchmarks/catalog_sync.py --products 1000000 --json /tmp/aisle-bench/catalog-1m.json
"""
import argparse
import http.client
import json
import os
import random
import re
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
now = time.monotonic


# MARK: - A minimal PostgreSQL client (simple query protocol)

# MARK: - Helpers

class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def http_json(port, method, path, body=None, conn=None, timeout=30):
    c = conn or _Conn("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"} if body is not None else {})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        if conn is None:
            c.close()


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))]


def fmt(x, nd=1):
    return "-" if x is None else ("%." + str(nd) + "f") % x


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, env, label):
    t0 = now()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = now() - t0
    if r.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s%s" % (label, r.returncode, r.stdout[-2000:], r.stderr[-4000:]))
    return dt, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""


def pid_id(i):
    return "P%08d" % i


# MARK: - The change stream and the prober

class Stream:
    """--rate changes/s from one thread (pipelined single-statement transactions, paced by the
    clock in 10 ms slices); markers are sent on their own connection and timed to their COMMIT."""

    def __init__(self, url, n, rate, markers_per_s, marker_base, reserved, seed):
        self.url, self.n, self.rate = url, n, rate
        self.markers_per_s, self.marker_base = markers_per_s, marker_base
        self.reserved = reserved
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.markers_done = threading.Event()   # set when the marker thread has made its last change
        self.sent = 0
        self.late_slices = 0
        self.markers = []          # [id, price, t_commit, t_found, probes]
        self.marker_k = 0
        self.errors = []
        self.lock = threading.Lock()

    def changes(self):
        pg = PG(self.url, timeout=60)
        slice_s = 0.01
        per_slice = self.rate * slice_s
        carry = 0.0
        t_next = now()
        try:
            while not self.stop.is_set():
                d = t_next - now()
                if d > 0:
                    time.sleep(d)
                elif d < -0.1:
                    self.late_slices += 1
                t_next += slice_s
                carry += per_slice
                k = int(carry)
                carry -= k
                for _ in range(k):
                    i = self.rng.randrange(self.n)
                    if i in self.reserved:
                        i = (i + 1) % self.n
                    if self.rng.random() < 0.7:
                        pg.send("UPDATE products SET price = %d.%02d WHERE id = '%s'" % (
                            self.rng.randint(1, 9999), self.rng.randrange(100), pid_id(i)))
                    else:
                        pg.send("UPDATE inventory SET available = %d WHERE product_id = '%s'" % (
                            self.rng.randrange(0, 50), pid_id(i)))
                for _ in range(k):
                    pg.wait()
                self.sent += k
        except Exception as e:  # noqa: BLE001
            self.errors.append("stream: %r" % e)
        finally:
            pg.close()

    def marker_thread(self):
        pg = PG(self.url, timeout=60)
        order = sorted(self.reserved)
        self.rng.shuffle(order)
        j = 0
        t_next = now()
        try:
            while not self.stop.is_set():
                d = t_next - now()
                if d > 0:
                    time.sleep(d)
                t_next += 1.0 / self.markers_per_s
                with self.lock:
                    busy = {m[0] for m in self.markers if m[3] is None}
                pid = None
                for _ in range(len(order)):
                    cand = pid_id(order[j % len(order)])
                    j += 1
                    if cand not in busy:
                        pid = cand
                        break
                if pid is None:
                    continue
                self.marker_k += 1
                price = "%.2f" % (self.marker_base + self.marker_k * 0.01)
                pg.query("UPDATE products SET price = %s WHERE id = '%s'" % (price, pid))
                t = now()   # the COMMIT was acknowledged (autocommit)
                with self.lock:
                    self.markers.append([pid, price, t, None, 0])
        except Exception as e:  # noqa: BLE001
            self.errors.append("markers: %r" % e)
        finally:
            pg.close()
            self.markers_done.set()

    def prober(self, port_ref, titles, timeout, probe_ms):
        conn = None
        while True:
            with self.lock:
                pending = [m for m in self.markers if m[3] is None and now() - m[2] < timeout]
                done_all = self.markers_done.is_set() and not pending
            if done_all:
                break
            if not pending:
                time.sleep(probe_ms / 1000.0)
                continue
            for m in pending:
                body = {"q": titles.get(m[0], ""), "filters": {"price_min": float(m[1]), "price_max": float(m[1])}, "limit": 1}
                try:
                    if conn is None:
                        conn = _Conn("127.0.0.1", port_ref[0], timeout=10)
                    st, r = http_json(port_ref[0], "POST", "/api/v1/search", body, conn=conn)
                except Exception:  # noqa: BLE001  (server restarting)
                    conn = None
                    continue
                m[4] += 1
                if st == 200 and r.get("hits") and r["hits"][0]["id"] == m[0]:
                    m[3] = now()
            time.sleep(probe_ms / 1000.0)


def start_server(aisle, index, port, env, log_path, refresh_ms):
    log = open(log_path, "a")
    p = subprocess.Popen([aisle, "serve", "--index", index, "--port", str(port), "--refresh-ms", str(refresh_ms)],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    t0 = now()
    while now() - t0 < 300:
        if p.poll() is not None:
            raise SystemExit("aisle serve exited (%s); see %s" % (p.returncode, log_path))
        try:
            st, h = http_json(port, "GET", "/healthz", timeout=2)
            if st == 200:
                return p, now() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("aisle serve did not answer within 300 s")


def stream_phase(a, url, n, port_ref, titles, reserved, seed, seconds, on_half=None):
    s = Stream(url, n, a.rate, a.markers_per_s, a.marker_base, reserved, seed)
    threads = [threading.Thread(target=s.changes, daemon=True), threading.Thread(target=s.marker_thread, daemon=True),
               threading.Thread(target=s.prober, args=(port_ref, titles, a.visibility_timeout, a.probe_ms), daemon=True)]
    t0 = now()
    for t in threads:
        t.start()
    half_done = False
    while now() - t0 < seconds:
        time.sleep(0.05)
        if on_half and not half_done and now() - t0 >= seconds / 2:
            half_done = True
            on_half()
    s.stop.set()
    dur = now() - t0
    for t in threads:
        t.join(a.visibility_timeout + 30)
    return s, dur


def summarize(s, dur):
    found = [(m[3] - m[2]) * 1000 for m in s.markers if m[3] is not None]
    lost = [m for m in s.markers if m[3] is None]
    return {"changes_sent": s.sent, "seconds": dur, "changes_per_s": s.sent / dur if dur else None,
            "late_slices": s.late_slices, "markers": len(s.markers), "found": len(found), "not_found": len(lost),
            "visibility_ms": {"p50": pct(found, 50), "p95": pct(found, 95), "p99": pct(found, 99),
                              "max": max(found) if found else None},
            "probes_per_marker": (sum(m[4] for m in s.markers) / len(s.markers)) if s.markers else None,
            "missed": [(m[0], m[1]) for m in lost][:10],
            "errors": s.errors[:5]}


def compare(aisle, index, url, env):
    """Every product's indexed price and stock against PostgreSQL's (committed index state)."""
    pg = PG(url, timeout=60)
    want = {}
    for pid, price, stock in pg.query("SELECT p.id, p.price::text, coalesce(i.available,0) - coalesce(i.reserved,0) "
                                      "FROM products p LEFT JOIN inventory i ON i.product_id = p.id WHERE p.status = 'active'"):
        want[pid] = (round(float(price), 2), int(stock))
    pg.close()
    r = subprocess.run([aisle, "export", "--index", index, "--fields", "price,stock"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    got = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        got[v["id"]] = (round(float(v.get("price", -1)), 2), int(v.get("stock", -1)))
    wrong = [k for k in want if got.get(k) != want[k]]
    extra = [k for k in got if k not in want]
    return {"products": len(want), "indexed": len(got), "wrong": len(wrong), "extra": len(extra),
            "examples": [(k, want[k], got.get(k)) for k in wrong[:5]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--products", type=int, default=100000)
    ap.add_argument("--corpus", help="a synth catalog JSONL (default: generated into --work)")
    ap.add_argument("--aisle", default=os.path.join(ROOT, ".build/release/aisle"))
    ap.add_argument("--work", default=os.path.join(os.environ.get("BENCH_DATA", "/tmp/aisle-bench"), "catalog-sync"))
    ap.add_argument("--repeat", type=int, default=3, help="index/reindex runs (medians)")
    ap.add_argument("--rate", type=float, default=1000.0, help="catalog changes per second")
    ap.add_argument("--seconds", type=float, default=30.0, help="visibility phase")
    ap.add_argument("--kill-seconds", type=float, default=30.0, help="crash phase (killed halfway)")
    ap.add_argument("--markers-per-s", type=float, default=5.0)
    ap.add_argument("--marker-base", type=float, default=90000.0)
    ap.add_argument("--probe-ms", type=float, default=20.0)
    ap.add_argument("--refresh-ms", type=int, default=100)
    ap.add_argument("--visibility-timeout", type=float, default=30.0)
    ap.add_argument("--catch-up-timeout", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

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
            print("generating %d products into %s" % (a.products, corpus), file=sys.stderr)
            subprocess.run([sys.executable, gen, "--products", str(a.products), "--seed", "42", "--out", corpus], check=True)
    n = sum(1 for _ in open(corpus))

    services = False
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        env = dict(os.environ, AISLE_PG_PORT="55449", AISLE_REDIS_PORT="56399")
        out = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
        base_url = re.search(r"DATABASE_URL='([^']+)'", out).group(1)
        services = True
    out = {"products": n, "corpus": corpus, "aisle": aisle, "cores": os.cpu_count()}
    server = None
    try:
        admin = PG(base_url, timeout=60)
        admin.query("DROP DATABASE IF EXISTS aisle_bench WITH (FORCE)")
        admin.query("CREATE DATABASE aisle_bench")
        admin.close()
        url = re.sub(r"^(postgres(?:ql)?://[^/]+)/[^?]*", r"\1/aisle_bench", base_url)
        attrs = os.path.join(a.work, "product_attributes.json")
        for p in (attrs, attrs + ".lock"):
            if os.path.exists(p):
                os.remove(p)
        env = dict(os.environ, DATABASE_URL=url, AISLE_ATTRIBUTES=attrs)
        env.pop("MONGODB_URI", None)

        # Load.
        print("loading %d products into PostgreSQL ..." % n, file=sys.stderr)
        t_load, line = run([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], env, "catalog load")
        out["load"] = {"seconds": t_load, "rows_per_s": n / t_load, "output": line}
        print("  " + line, file=sys.stderr)

        # Direct index vs reindex, interleaved.
        direct, rebuild = [], []
        for k in range(a.repeat):
            d = os.path.join(a.work, "direct")
            shutil.rmtree(d, ignore_errors=True)
            t, line_d = run([aisle, "index", "--corpus", corpus, "--index", d, "--quiet"], env, "aisle index")
            direct.append(t)
            t, line_r = run([aisle, "reindex", "--index", os.path.join(a.work, "catalog"), "--quiet"], env, "aisle reindex")
            rebuild.append(t)
            print("  run %d: index %.1f s, reindex %.1f s" % (k + 1, direct[-1], rebuild[-1]), file=sys.stderr)
        md, mr = statistics.median(direct), statistics.median(rebuild)
        out["build"] = {"direct_s": direct, "reindex_s": rebuild, "direct_median_s": md, "reindex_median_s": mr,
                        "ratio": mr / md, "target_ratio": 2.0, "pass": mr / md <= 2.0,
                        "direct_docs_per_s": n / md, "reindex_docs_per_s": n / mr, "reindex_output": line_r}

        # Serve + follow; visibility under the stream.
        index = os.path.join(a.work, "catalog")
        port = free_port()
        port_ref = [port]
        log_path = os.path.join(a.work, "serve.log")
        open(log_path, "w").close()
        server, up = start_server(aisle, index, port, env, log_path, a.refresh_ms)
        out["server_start_s"] = up
        st, h = http_json(port, "POST", "/api/v1/search", {"q": "", "filters": {"price_min": a.marker_base}, "limit": 1})
        if h.get("hits"):
            sys.exit("a product already costs >= --marker-base")
        rng = random.Random(a.seed)
        reserved = set(rng.sample(range(n), min(2000, n // 10)))
        titles = {}
        conn = _Conn("127.0.0.1", port, timeout=30)
        for i in reserved:
            st, r = http_json(port, "GET", "/api/v1/products/" + pid_id(i), conn=conn)
            titles[pid_id(i)] = " ".join(re.findall(r"[A-Za-z0-9]+", (r or {}).get("title", ""))[:6])
        conn.close()
        print("visibility phase: %.0f s at %.0f changes/s" % (a.seconds, a.rate), file=sys.stderr)
        s, dur = stream_phase(a, url, n, port_ref, titles, reserved, a.seed, a.seconds)
        out["visibility"] = summarize(s, dur)
        v = out["visibility"]
        v["target_p99_ms"] = 1000.0
        v["pass"] = v["found"] > 0 and v["not_found"] == 0 and v["visibility_ms"]["p99"] < 1000.0

        # Crash: kill -9 halfway, restart at once, stream on.
        print("crash phase: %.0f s at %.0f changes/s, SIGKILL halfway" % (a.kill_seconds, a.rate), file=sys.stderr)
        crash = {}

        def kill_and_restart():
            nonlocal server
            crash["killed_at"] = now()
            server.send_signal(signal.SIGKILL)
            server.wait()
            p2 = free_port()
            server, t_up = start_server(aisle, index, p2, env, log_path, a.refresh_ms)
            port_ref[0] = p2
            crash["restart_s"] = t_up
        s2, dur2 = stream_phase(a, url, n, port_ref, titles, reserved, a.seed + 1, a.kill_seconds, on_half=kill_and_restart)
        crash.update(summarize(s2, dur2))
        # Catch up: the committed index must equal the catalog.
        t0 = now()
        cmp = None
        while now() - t0 < a.catch_up_timeout:
            time.sleep(1.5)
            cmp = compare(aisle, index, url, env)
            if cmp["wrong"] == 0 and cmp["extra"] == 0:
                break
        crash["catch_up_s"] = now() - t0
        crash["compare"] = cmp
        crash["lost"] = cmp["wrong"] + cmp["extra"] if cmp else None
        crash["pass"] = crash["lost"] == 0
        out["crash"] = crash
        server.send_signal(signal.SIGTERM)
        server.wait(120)
        server = None

        # Report.
        B, V, C = out["build"], out["visibility"], out["crash"]
        print()
        print("catalog sync: %s, %d products, %d cores" % (aisle, n, out["cores"]))
        print("load       %.1f s = %.0f rows/s" % (out["load"]["seconds"], out["load"]["rows_per_s"]))
        print("build      aisle index (JSONL) median %.1f s (%.0f docs/s); aisle reindex (PostgreSQL) median %.1f s (%.0f docs/s); "
              "ratio %.2f (target <= 2: %s)" % (md, n / md, mr, n / mr, B["ratio"], "PASS" if B["pass"] else "FAIL"))
        print("           runs: index %s s; reindex %s s" % (", ".join("%.1f" % x for x in direct), ", ".join("%.1f" % x for x in rebuild)))
        vm = V["visibility_ms"]
        print("visibility %d changes in %.0f s = %.0f/s; %d markers, %d found: p50 %s / p95 %s / p99 %s / max %s ms (target p99 < 1000: %s)"
              % (V["changes_sent"], V["seconds"], V["changes_per_s"], V["markers"], V["found"], fmt(vm["p50"]), fmt(vm["p95"]),
                 fmt(vm["p99"]), fmt(vm["max"]), "PASS" if V["pass"] else "FAIL"))
        cm = C["visibility_ms"]
        print("crash      %d changes in %.0f s = %.0f/s, SIGKILL at half time, restart %.1f s; markers %d found of %d "
              "(p50 %s / p99 %s / max %s ms)" % (C["changes_sent"], C["seconds"], C["changes_per_s"], C.get("restart_s", -1),
                                                  C["found"], C["markers"], fmt(cm["p50"]), fmt(cm["p99"]), fmt(cm["max"])))
        print("           after catching up (%.1f s): %d products, %d indexed, %d with a wrong price or stock, %d extra: "
              "%d lost (%s)" % (C["catch_up_s"], cmp["products"], cmp["indexed"], cmp["wrong"], cmp["extra"], C["lost"],
                                "PASS" if C["pass"] else "FAIL"))
        for e in V["errors"] + C["errors"]:
            print("error: " + e)
        for pid, price in V["missed"] + C["missed"]:
            print("not found within %.0f s: %s at price %s" % (a.visibility_timeout, pid, price))
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
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=dict(os.environ, AISLE_PG_PORT="55449"))


if __name__ == "__main__":
    main()
