#!/usr/bin/env python3
"""Recommendations latency, two engines interleaved (issue 19): GET /api/v1/products/{id}/recommendations
against `aisle serve` binaries on one index, each run alone on the machine in turn (A B A B ...),
so the noise of a shared host falls on both.

    Benchmarks/recommend_load.py --index IDX --ids RESULTS_CACHE.json --a OLD_BINARY [--b NEW_BINARY]
        [--requests 3000] [--rounds 3] [--threads 2] [--limit 8]

--ids: traffic_sim.py's --results-cache file (the products of the queries' first results) or a
text file of product ids. The servers run without commerce: only "similar" (more like this), the
part of a recommendation that costs a search; with commerce, bought-together products replace
some of it. Reports per binary and round the client p50/p99 (keep-alive, loopback) and the
server's took_us p50/p99, then the medians over rounds.
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))] if s else None


def load_ids(path):
    with open(path) as f:
        text = f.read()
    try:
        d = json.loads(text)
        ids = set()
        for v in (d.get("queries") or {}).values():
            ids.update(v.get("ids") or [])
        return sorted(ids)
    except ValueError:
        return [l.strip() for l in text.splitlines() if l.strip()]


def run_server(binary, index, port):
    p = subprocess.Popen([binary, "serve", "--index", index, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")})
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return p
        except OSError:
            time.sleep(0.2)
    p.kill()
    raise SystemExit("server did not start: " + binary)


def measure(port, ids, threads, limit):
    lat, took, lock = [], [], threading.Lock()

    def worker(part):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for pid in part:
            t0 = time.monotonic()
            c.request("GET", "/api/v1/products/%s/recommendations?limit=%d" % (urllib.parse.quote(pid, safe=""), limit))
            r = c.getresponse()
            body = r.read()
            d = time.monotonic() - t0
            with lock:
                lat.append(d)
                if r.status == 200:
                    took.append(json.loads(body)["took_us"] / 1e6)
    ts = [threading.Thread(target=worker, args=(ids[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"client_p50_ms": round(pct(lat, 50) * 1000, 3), "client_p99_ms": round(pct(lat, 99) * 1000, 3),
            "server_p50_ms": round(pct(took, 50) * 1000, 3), "server_p99_ms": round(pct(took, 99) * 1000, 3), "ok": len(took), "requests": len(lat)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--a", required=True, help="aisle binary A")
    ap.add_argument("--b", help="aisle binary B")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--port", type=int, default=18529)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    pool = load_ids(a.ids)
    rng = random.Random(a.seed)
    targets = [rng.choice(pool) for _ in range(a.requests)]
    sides = [("A", a.a)] + ([("B", a.b)] if a.b else [])
    res = {n: [] for n, _ in sides}
    for rnd in range(a.rounds):
        for name, binary in sides:
            p = run_server(binary, a.index, a.port)
            try:
                measure(a.port, targets[:200], a.threads, a.limit)   # warm-up
                r = measure(a.port, targets, a.threads, a.limit)
            finally:
                p.send_signal(signal.SIGINT)
                p.wait(30)
            res[name].append(r)
            print("round %d %s: %s" % (rnd + 1, name, json.dumps(r)), flush=True)
    for name, rows in res.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("client_p50_ms", "client_p99_ms", "server_p50_ms", "server_p99_ms")}
        print("%s median over %d rounds: %s" % (name, len(rows), json.dumps(med)))


if __name__ == "__main__":
    main()
