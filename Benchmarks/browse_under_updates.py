#!/usr/bin/env python3
"""Browse pages while prices change: Benchmarks/http_load.sh's category pages from wrk, with a
stream of in-place price updates sent to the same server, to show what live updates do to the
caches (an updated segment's entries that read the price are recomputed; the others stay).

    Benchmarks/browse_under_updates.py --index INDEX_DIR [--aisle BIN] [--rate 100] [--seconds 30]
        [--warmup 10] [--serve-args "--facet-cache-mb 0"] [--field price]

Copies the index (the server writes to it), starts `aisle serve` with a token, warms up with the
page load, then measures `--seconds` of wrk (1 thread, 16 connections) while another process sends
`--rate` updates/s as `_bulk` batches of `set` lines every 50 ms to random products (ids
P%08d, the synthetic catalog). Prints wrk's figures, the updates applied, and the caches' hit
rates from /healthz over the measured part. Python 3 standard library, wrk.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAGES_LUA = os.path.join(HERE, "browse_pages.lua")


def healthz(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/healthz")
    return json.loads(c.getresponse().read())


def updater(port, token, rate, field, docs, stop_at, out):
    rng = random.Random(7)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = applied = errors = 0
    per_batch = max(1, round(rate * 0.05))
    t = time.monotonic()
    while time.monotonic() < stop_at:
        lines = []
        for _ in range(per_batch):
            pid = "P%08d" % rng.randrange(docs)
            lines.append(json.dumps({"op": "set", "id": pid, field: round(rng.uniform(5, 900), 2)}))
        body = ("\n".join(lines) + "\n").encode()
        c.request("POST", "/api/v1/products/_bulk", body=body, headers={"Authorization": "Bearer " + token,
                                                                         "Content-Type": "application/x-ndjson"})
        r = c.getresponse()
        data = r.read()
        sent += len(lines)
        if r.status == 200:
            applied += json.loads(data).get("applied", len(lines))
        else:
            errors += 1
        t += 0.05
        time.sleep(max(0.0, t - time.monotonic()))
    out.put({"sent": sent, "applied": applied, "errors": errors})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--aisle", default=os.path.join(HERE, "..", ".build", "release", "aisle"))
    ap.add_argument("--rate", type=float, default=100, help="price updates per second (0: none)")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--field", default="price")
    ap.add_argument("--serve-args", default="")
    ap.add_argument("--port", type=int, default=18097)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="aisle-browse-")
    idx = os.path.join(work, "index")
    shutil.copytree(a.index, idx)
    token = "bench-token"
    env = dict(os.environ, AISLE_API_TOKEN=token)
    srv = subprocess.Popen([a.aisle, "serve", "--index", idx, "--port", str(a.port)] + a.serve_args.split(),
                           env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        for _ in range(300):
            try:
                healthz(a.port)
                break
            except OSError:
                time.sleep(0.2)
        url = "http://127.0.0.1:%d" % a.port
        if a.warmup > 0:
            subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % a.warmup, "-s", PAGES_LUA, url], stdout=subprocess.DEVNULL)
        before = healthz(a.port)
        q = mp.Queue()
        up = None
        if a.rate > 0:
            up = mp.Process(target=updater, args=(a.port, token, a.rate, a.field, a.docs, time.monotonic() + a.seconds, q))
            up.start()
        w = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % a.seconds, "--latency", "-s", PAGES_LUA, url],
                           capture_output=True, text=True)
        print(w.stdout)
        if up:
            up.join()
            print("updates:", q.get())
        after = healthz(a.port)
        for name in ("facet_cache", "stored_block_cache"):
            b, e = before.get(name, {}), after.get(name, {})
            hits, misses = e.get("hits", 0) - b.get("hits", 0), e.get("misses", 0) - b.get("misses", 0)
            rate = hits / (hits + misses) if hits + misses else 0
            print("%s: hit rate %.3f (%d hits, %d misses), %d entries, %.1f MiB" %
                  (name, rate, hits, misses, e.get("entries", 0), e.get("bytes", 0) / 2**20))
        rss = subprocess.run(["ps", "-o", "rss=", "-p", str(srv.pid)], capture_output=True, text=True).stdout.strip()
        print("server RSS: %s KiB" % rss)
    finally:
        srv.terminate()
        srv.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
