#!/usr/bin/env python3
"""Autocomplete (`GET /api/v1/suggest`) at scale (issue 18).

    Benchmarks/suggest_load.py --aisle .build/release/aisle --index IDX --queries queries-2k.jsonl [--json out.json]

Starts `aisle serve --index IDX`, waits until the phrase dictionary is ready, then replays every
prefix of the synth queries, cut at each character after the second (`gen_queries.py --seed 42
--qseed 7`, 2,000 queries):

1. sequentially, one keep-alive connection: the server's own `took_us` per request (in-process
   latency), p50 / p90 / p99 / max;
2. on a freshly started server (nothing remembered from step 1), 8 concurrent clients with wrk
   (`suggest_load.lua`: 8 threads, one keep-alive connection each, each typing its own slice of
   the queries keystroke by keystroke, for --duration seconds; Python threads when wrk is
   missing): HTTP round-trip p50 / p99 and requests/s.

Targets (issue 18): in-process p50 <= 1 ms and p99 <= 5 ms; HTTP p99 <= 15 ms with 8 clients.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import shutil
import tempfile
import threading
import time
import urllib.parse
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=".build/release/aisle")
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--limit", type=int, default=0, help="first N queries only")
    ap.add_argument("--duration", type=int, default=30, help="seconds of the wrk run")
    ap.add_argument("--memo", type=int, help="aisle serve --suggest-memo N (0: nothing remembered between requests)")
    ap.add_argument("--json")
    ap.add_argument("--dump", help="write each prefix's in-process took_us (TSV: ms, prefix), slowest first")
    a = ap.parse_args()
    queries = [json.loads(l)["q"] for l in open(a.queries)]
    if a.limit:
        queries = queries[:a.limit]
    prefixes = [q[:i] for q in queries for i in range(3, len(q) + 1)]
    log = open(os.path.join(tempfile.gettempdir(), "aisle-suggest-load.log"), "w")

    def start():
        port = free_port()
        args = [a.aisle, "serve", "--index", a.index, "--port", str(port)]
        if a.memo is not None:
            args += ["--suggest-memo", str(a.memo)]
        srv = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        t0 = time.time()
        while True:
            try:
                r = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/api/v1/suggest?q=ab" % port, timeout=5).read())
                if not r.get("warnings"):
                    break
            except OSError:
                pass
            if time.time() - t0 > 600:
                raise SystemExit("the server did not get ready")
            time.sleep(0.2)
        print("ready after %.1f s (phrase dictionary read from the catalog)" % (time.time() - t0), flush=True)
        return srv, port

    srv, port = start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        took, empty_suggestions = [], 0
        took_by_prefix = []
        for p in prefixes:
            conn.request("GET", "/api/v1/suggest?q=" + urllib.parse.quote(p))
            r = conn.getresponse()
            body = json.loads(r.read())
            if r.status != 200:
                raise SystemExit("%r answered %d: %s" % (p, r.status, body))
            took.append(body["took_us"] / 1000)
            took_by_prefix.append((took[-1], p))
            if not body["suggestions"]:
                empty_suggestions += 1
        res = {"prefixes": len(prefixes), "memo": a.memo, "in_process_ms": {"p50": pct(took, 50), "p90": pct(took, 90), "p99": pct(took, 99), "max": max(took)},
               "prefixes_without_suggestions": empty_suggestions}
        print("in-process (took_us) over %d prefixes: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.1f ms; %d without suggestions"
              % (len(prefixes), pct(took, 50), pct(took, 90), pct(took, 99), max(took), empty_suggestions), flush=True)
        if a.dump:
            with open(a.dump, "w") as f:
                for ms_, p in sorted(took_by_prefix, reverse=True):
                    f.write("%.3f\t%s\n" % (ms_, p))
        srv.terminate()
        srv.wait(30)
        srv, port = start()
        if shutil.which("wrk"):
            # wrk: 8 threads, one connection each, each typing its slice of the queries in order.
            paths = os.path.join(tempfile.gettempdir(), "aisle-suggest-paths.txt")
            with open(paths, "w") as f:
                for p in prefixes:
                    f.write("/api/v1/suggest?q=" + urllib.parse.quote(p) + "\n")
            env = dict(os.environ, SUGGEST_PATHS=paths, SUGGEST_THREADS=str(a.clients))
            out = subprocess.run(["wrk", "-t%d" % a.clients, "-c%d" % a.clients, "-d%ds" % a.duration, "--latency", "--timeout", "10s",
                                  "-s", os.path.join(os.path.dirname(os.path.abspath(__file__)), "suggest_load.lua"),
                                  "http://127.0.0.1:%d/" % port], env=env, capture_output=True, text=True).stdout

            def ms(label):
                for line in out.splitlines():
                    parts = line.split()
                    if parts and parts[0] == label:
                        v = parts[1]
                        return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
                return float("nan")
            rps = next((float(l.split()[1]) for l in out.splitlines() if l.startswith("Requests/sec")), float("nan"))
            res["http"] = {"tool": "wrk", "clients": a.clients, "p50": ms("50%"), "p99": ms("99%"), "rps": rps}
            print("HTTP (wrk), %d clients, %d s: p50 %.2f ms  p99 %.2f ms  %.0f requests/s" % (a.clients, a.duration, res["http"]["p50"], res["http"]["p99"], rps))
        else:
            lat = []
            lock = threading.Lock()
            nxt = [0]

            def client():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                mine = []
                while True:
                    with lock:
                        i = nxt[0]
                        nxt[0] += 1
                    if i >= len(prefixes):
                        break
                    t = time.perf_counter()
                    c.request("GET", "/api/v1/suggest?q=" + urllib.parse.quote(prefixes[i]))
                    r = c.getresponse()
                    r.read()
                    mine.append(time.perf_counter() - t)
                with lock:
                    lat.extend(mine)
            t = time.time()
            threads = [threading.Thread(target=client) for _ in range(a.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            el = time.time() - t
            lat_ms = [x * 1000 for x in lat]
            res["http"] = {"tool": "python threads", "clients": a.clients, "p50": pct(lat_ms, 50), "p99": pct(lat_ms, 99), "rps": len(lat) / el}
            print("HTTP (python threads), %d clients: p50 %.2f ms  p99 %.2f ms  %.0f requests/s" % (a.clients, pct(lat_ms, 50), pct(lat_ms, 99), len(lat) / el))
        ok = res["in_process_ms"]["p50"] <= 1 and res["in_process_ms"]["p99"] <= 5 and res["http"]["p99"] <= 15
        print("targets (p50 <= 1 ms, p99 <= 5 ms in-process; HTTP p99 <= 15 ms): %s" % ("PASS" if ok else "FAIL"))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1)
        return 0 if ok else 1
    finally:
        srv.terminate()
        srv.wait(30)


if __name__ == "__main__":
    sys.exit(main())
