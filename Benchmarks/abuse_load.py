#!/usr/bin/env python3
"""Search latency while attackers send the most expensive requests the limits allow.

    Benchmarks/abuse_load.py --index INDEX_DIR --queries queries-2k.jsonl [--attackers 2]
        [--rounds 2] [--aisle .build/release/aisle] [--json OUT]

1. Starts `aisle serve` on the index (default limits: 2 s deadline, the search pool, demotion of
   searches that run past 20 ms) and waits for /healthz.
2. Alternates, --rounds times, an *idle* phase and a *loaded* phase. In each phase one client
   replays every query of --queries (the synth queries: AND, limit 10, over a keep-alive
   connection, `POST /api/v1/search`) and records the server's took_us and its own wall time. In the
   loaded phase, --attackers processes send, back to back, the most expensive requests the
   limits allow (below: `EXPENSIVE`), and a prober process asks `GET /healthz` every 20 ms.
3. Prints the p50/p95/p99 of the queries per phase kind (samples of all rounds pooled), the p99
   ratios loaded/idle, /healthz p50/p99 under load, what the attackers got (statuses, latency),
   and the server's resident memory before and after. --json OUT writes the figures.

Targets (issue 13): search p99 under the attack <= 2x idle p99; /healthz p99 <= 50 ms.
Client processes share the machine's cores with the server, as the attackers would.
Python 3 standard library only.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

now = time.monotonic


class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def request(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    r = conn.getresponse()
    payload = r.read()
    return r.status, payload


def percentile(xs, p):
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


# The most expensive requests the default limits allow (each is clamped, budgeted and bounded by
# the 2 s deadline): long OR queries of common words with every facet, the biggest page with all
# fields, ranking overrides at (over) their maxima, deep pages, unknown words that use up the typo
# and compound probes, prefix words at their limit, and runs of NOT at the part limit.
COMMON = ["set", "black", "white", "wood", "steel", "modern", "outdoor", "grey", "light", "table", "chair", "storage",
          "metal", "cabinet", "rug", "lamp", "glass", "bath", "kitchen", "wall", "door", "solid", "large", "small"]


def expensive_requests():
    words = (COMMON * 11)[:250]
    ranking = {"rescore_window": 100000, "proximity_slop": 100, "typo_candidates": 16, "typo_rare_docs": 1000000,
               "relax_below": 10000, "feedback_docs": 100, "feedback_terms": 200, "feedback_keep": 1000,
               "coordination_max_words": 256}
    out = [
        {"q": " ".join(words), "operator": "or", "limit": 1000, "fields": ["*"], "track_total_hits": True,
         "facets": ["brand", "category", "price", {"field": "price", "ranges": [{"to": 10}, {"from": 10, "to": 100}, {"from": 100}]}],
         "ranking": ranking},
        {"q": " ".join(COMMON[:40]), "operator": "or", "offset": 9000, "limit": 1000, "ranking": ranking},
        {"q": " ".join("zq%sxv%sklm" % (chr(97 + i % 26), chr(97 + (i // 26) % 26)) for i in range(200)), "operator": "or",
         "limit": 100, "facets": ["brand", "category", "price"], "ranking": ranking},
        {"q": " ".join(w[:2] + "*" for w in COMMON[:8]) + " " + " ".join(COMMON[:100]), "operator": "or", "limit": 1000,
         "facets": ["brand", "category", "price"], "sort": "price_asc"},
        {"q": " ".join(["NOT"] * 120) + " " + " ".join(COMMON[:100]), "operator": "or", "limit": 1000, "fields": ["*"]},
        {"q": " ".join(words[:200]), "operator": "and", "limit": 20, "explain": True, "ranking": ranking},
    ]
    return out


def attacker(port, stop, results, seed, nice=0):
    if nice:
        os.nice(nice)
    reqs = expensive_requests()
    conn = _Conn("127.0.0.1", port, timeout=30)
    i = seed
    stats = {}
    lat = []
    while not stop.is_set():
        body = reqs[i % len(reqs)]
        i += 1
        t0 = now()
        try:
            status, _ = request(conn, "POST", "/api/v1/search", body)
        except Exception as e:
            status = "error:" + type(e).__name__
            conn.close()
            conn = _Conn("127.0.0.1", port, timeout=30)
        lat.append((now() - t0) * 1000)
        stats[str(status)] = stats.get(str(status), 0) + 1
    results.put({"statuses": stats, "latency_ms": lat})


def prober(port, stop, results, interval):
    conn = _Conn("127.0.0.1", port, timeout=30)
    lat = []
    bad = 0
    while not stop.is_set():
        t0 = now()
        try:
            status, _ = request(conn, "GET", "/healthz")
            if status != 200:
                bad += 1
        except Exception:
            bad += 1
            conn.close()
            conn = _Conn("127.0.0.1", port, timeout=30)
        lat.append((now() - t0) * 1000)
        time.sleep(max(0, interval - (now() - t0)))
    results.put({"latency_ms": lat, "bad": bad})


def replay(port, queries):
    conn = _Conn("127.0.0.1", port, timeout=60)
    took, wall, statuses = [], [], {}
    for q in queries:
        t0 = now()
        status, payload = request(conn, "POST", "/api/v1/search", {"q": q, "operator": "and", "limit": 10})
        wall.append((now() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            took.append(json.loads(payload)["took_us"] / 1000)
    return took, wall, statuses


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", required=True, help="synth queries JSONL (q per line)")
    ap.add_argument("--aisle", default=".build/release/aisle")
    ap.add_argument("--attackers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit-queries", type=int, default=0)
    ap.add_argument("--serve-args", default="", help="extra arguments for aisle serve")
    ap.add_argument("--attacker-nice", type=int, default=0,
                    help="run the attacking client processes at this nice level (their own CPU out of the way; the server's work is not)")
    ap.add_argument("--json")
    a = ap.parse_args()

    queries = [json.loads(l)["q"] for l in open(a.queries) if l.strip()]
    if a.limit_queries:
        queries = queries[:a.limit_queries]
    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([a.aisle, "serve", "--index", a.index, "--port", str(port)] + a.serve_args.split(),
                              stdout=log, stderr=log)
    try:
        deadline = now() + 120
        while True:
            try:
                c = _Conn("127.0.0.1", port, timeout=2)
                if request(c, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if now() > deadline or server.poll() is not None:
                sys.exit("abuse_load: the server did not start")
            time.sleep(0.2)
        # Warm-up: the queries once, and each expensive request once.
        replay(port, queries[:300])
        c = _Conn("127.0.0.1", port, timeout=30)
        for r in expensive_requests():
            request(c, "POST", "/api/v1/search", r)
        rss0 = rss_mb(server.pid)
        phases = {"idle": {"took": [], "wall": [], "statuses": {}}, "loaded": {"took": [], "wall": [], "statuses": {}}}
        attack = {"statuses": {}, "latency_ms": []}
        health = {"latency_ms": [], "bad": 0}
        for rnd in range(a.rounds):
            for kind in ("idle", "loaded"):
                stop = mp.Event()
                results = mp.Queue()
                procs = []
                if kind == "loaded":
                    procs = [mp.Process(target=attacker, args=(port, stop, results, i, a.attacker_nice)) for i in range(a.attackers)]
                    procs.append(mp.Process(target=prober, args=(port, stop, results, 0.02)))
                    for p in procs:
                        p.start()
                    time.sleep(1.0)
                t0 = now()
                took, wall, st = replay(port, queries)
                secs = now() - t0
                stop.set()
                for _ in procs:
                    r = results.get(timeout=60)
                    if "statuses" in r:
                        for k, v in r["statuses"].items():
                            attack["statuses"][k] = attack["statuses"].get(k, 0) + v
                        attack["latency_ms"] += r["latency_ms"]
                    else:
                        health["latency_ms"] += r["latency_ms"]
                        health["bad"] += r["bad"]
                for p in procs:
                    p.join(timeout=60)
                ph = phases[kind]
                ph["took"] += took
                ph["wall"] += wall
                for k, v in st.items():
                    ph["statuses"][k] = ph["statuses"].get(k, 0) + v
                print("round %d %-6s: %d queries in %.1f s, took p50 %.2f p99 %.2f ms, wall p50 %.2f p99 %.2f ms"
                      % (rnd + 1, kind, len(queries), secs, percentile(took, 50), percentile(took, 99),
                         percentile(wall, 50), percentile(wall, 99)), flush=True)
        rss1 = rss_mb(server.pid)
        c = _Conn("127.0.0.1", port, timeout=5)
        hz = json.loads(request(c, "GET", "/healthz")[1])
        out = {"queries": len(queries), "rounds": a.rounds, "attackers": a.attackers, "rss_mb_before": rss0, "rss_mb_after": rss1,
               "healthz_end": hz}
        for kind, ph in phases.items():
            for m in ("took", "wall"):
                out["%s_%s_ms" % (kind, m)] = {p: percentile(ph[m], p) for p in (50, 95, 99)}
            out["%s_statuses" % kind] = {str(k): v for k, v in ph["statuses"].items()}
        out["p99_ratio_took"] = out["loaded_took_ms"][99] / out["idle_took_ms"][99]
        out["p99_ratio_wall"] = out["loaded_wall_ms"][99] / out["idle_wall_ms"][99]
        out["healthz_ms"] = {p: percentile(health["latency_ms"], p) for p in (50, 95, 99)}
        out["healthz_samples"] = len(health["latency_ms"])
        out["healthz_bad"] = health["bad"]
        out["attack_statuses"] = attack["statuses"]
        out["attack_ms"] = {p: percentile(attack["latency_ms"], p) for p in (50, 99, 100)}
        out["attack_requests"] = len(attack["latency_ms"])
        print()
        print("| phase | took p50 | took p99 | wall p50 | wall p99 |")
        print("| --- | --- | --- | --- | --- |")
        for kind in ("idle", "loaded"):
            t, w = out["%s_took_ms" % kind], out["%s_wall_ms" % kind]
            print("| %s | %.2f | %.2f | %.2f | %.2f |" % (kind, t[50], t[99], w[50], w[99]))
        print("p99 loaded/idle: took %.2fx, wall %.2fx (target <= 2x)" % (out["p99_ratio_took"], out["p99_ratio_wall"]))
        print("/healthz under load: p50 %.1f ms, p99 %.1f ms over %d probes, %d not 200 (target p99 <= 50 ms)"
              % (out["healthz_ms"][50], out["healthz_ms"][99], out["healthz_samples"], health["bad"]))
        print("attackers: %d requests, statuses %s, latency p50 %.0f ms, p99 %.0f ms, max %.0f ms"
              % (out["attack_requests"], attack["statuses"], out["attack_ms"][50], out["attack_ms"][99], out["attack_ms"][100]))
        print("server RSS %.0f MB -> %.0f MB; demoted searches %s, refused %s" % (rss0, rss1, hz.get("searches_demoted"), hz.get("searches_refused")))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
