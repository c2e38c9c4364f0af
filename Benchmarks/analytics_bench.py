#!/usr/bin/env python3
"""Search analytics and recommendations at scale (issue 19, "How it is measured").

    Benchmarks/analytics_bench.py --aisle /work/build-rel/release/aisle --corpus /work/data/catalog-1m.jsonl \\
        --queries /work/data/queries-2k.jsonl [--events 10000000] [--work DIR] [--json OUT]

Steps (each timed and printed; --json writes every figure):
1. Stores: PostgreSQL and Redis from scripts/services.sh on their own ports (55519 / 56519),
   stopped at the end; a fresh database. `aisle catalog load --corpus C`, every in-stock product's
   stock raised to 1,000,000 (orders never run out), `aisle reindex`.
2. `aisle serve` with commerce (DATABASE_URL, REDIS_URL) and a token.
3. Live traffic: Benchmarks/traffic_sim.py, --live-sessions sessions (searches, clicks, carts,
   real orders through the commerce API): the orders feed "bought together".
4. --events simulated events over 30 days, written offline by traffic_sim.py --events-out and
   loaded with `aisle analytics load` (the rate is the bulk load's, rollups included).
5. Reports over the last 30 days: GET /api/v1/analytics/queries, /zero-results, /funnel (limit
   100), --report-runs times each, median and max; `aisle analytics report --html` timed, and a
   screenshot of its page in headless Chromium (--screenshot).
6. Recommendations: --rec-requests requests (2 client threads, keep-alive) over the planted anchors
   and random catalog products from the queries' results; client p50/p99 and the server's took_us.
7. Ingestion while searching, interleaved --rounds times: a paced search load (--search-rate per
   second, 2 threads) alone ("idle"), then with an event poster at --ingest-rate events/s (batches
   of 500 click/view/add_to_cart events on one connection) for --seconds each. Search p50/p99 per
   phase, the events the poster got accepted per second, and the events PostgreSQL holds at the end
   of the phase (written / s). The ratio is the median of the rounds' loaded p99 over idle p99.
8. Planted preferences: from the live run's truth (traffic_sim --truth) against the reports
   (the top 10 planted queries' positions in the top-queries report, preferred product = most
   clicked per query, planted partner = first bought-together recommendation).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def ms(x):
    return None if x is None else round(x * 1000, 3)


class Client:
    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.c = None

    def req(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                    self.c.connect()
                    self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                h = {"Accept": "application/json"}
                if self.token:
                    h["Authorization"] = "Bearer " + self.token
                if body is not None:
                    h["Content-Type"] = "application/json"
                h.update(headers or {})
                self.c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
                r = self.c.getresponse()
                data = r.read()
                try:
                    return r.status, json.loads(data) if data else None
                except ValueError:
                    return r.status, data.decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                self.c = None
                if attempt:
                    raise


def run(cmd, env=None, **kw):
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, **kw)
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s" % (r.returncode, " ".join(cmd)))
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--work", help="work directory (default: a temporary one, removed)")
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--live-sessions", type=int, default=3000)
    ap.add_argument("--report-runs", type=int, default=7)
    ap.add_argument("--rec-requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--search-rate", type=float, default=60)
    ap.add_argument("--ingest-rate", type=float, default=5000)
    ap.add_argument("--port", type=int, default=18519)
    ap.add_argument("--screenshot", help="PNG of the HTML report")
    ap.add_argument("--json")
    a = ap.parse_args()

    for k in ("aisle", "corpus", "queries", "json", "screenshot", "work"):
        if getattr(a, k):
            setattr(a, k, os.path.abspath(getattr(a, k)))
    work = a.work or tempfile.mkdtemp(prefix="aisle-analytics-bench-")
    os.makedirs(work, exist_ok=True)
    os.chdir(work)   # the catalog's attribute file (.aisle-data/) goes there, not into the checkout
    out = {"args": vars(a)}
    env = dict(os.environ)
    env.update({"AISLE_PG_PORT": "55519", "AISLE_REDIS_PORT": "56519"})
    svc = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=env, capture_output=True, text=True)
    if svc.returncode != 0:
        raise SystemExit("services: " + svc.stderr)
    for line in svc.stdout.splitlines():
        if line.startswith("export "):
            k, v = line[7:].split("=", 1)
            env[k] = v.strip("'\"")
    base_url = env["DATABASE_URL"]
    db = "aisle_analytics_bench"
    env["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + "/" + db
    srv = None
    token = "bench-token"
    try:
        psql = shutil.which("psql")

        def sql(q, url=None):
            r = subprocess.run([psql, url or env["DATABASE_URL"], "-At", "-c", q], capture_output=True, text=True, env=env)
            if r.returncode != 0:
                raise SystemExit("psql: " + r.stderr)
            return r.stdout.strip()

        index = os.path.join(work, "index")
        if True:
            sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db, base_url)
            sql("CREATE DATABASE %s" % db, base_url)
            print("== catalog load", flush=True)
            out["catalog_load_s"] = round(run([a.aisle, "catalog", "load", "--corpus", a.corpus, "--quiet"], env=env), 1)
            sql("UPDATE inventory SET available = 1000000 WHERE available > 0")
            shutil.rmtree(index, ignore_errors=True)
            print("== reindex", flush=True)
            out["reindex_s"] = round(run([a.aisle, "reindex", "--index", index, "--quiet"], env=env), 1)

        print("== serve", flush=True)
        log = open(os.path.join(work, "serve.log"), "w")
        srv = subprocess.Popen([a.aisle, "serve", "--index", index, "--port", str(a.port), "--token", token], env=env,
                               stdout=log, stderr=log)
        c = Client(a.port, token)
        for _ in range(600):
            try:
                if c.req("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        time.sleep(5)   # the suggester's phrases and the first feedback refresh

        sim = os.path.join(ROOT, "Benchmarks/traffic_sim.py")
        url = "http://127.0.0.1:%d" % a.port
        truth_live = os.path.join(work, "truth-live.json")
        rc = os.path.join(work, "results-cache.json")
        if True:
            print("== live traffic (%d sessions)" % a.live_sessions, flush=True)
            t = run([sys.executable, sim, "--url", url, "--queries", a.queries, "--sessions", str(a.live_sessions), "--concurrency", "8",
                     "--token", token, "--truth", truth_live, "--json", os.path.join(work, "live.json"), "--results-cache", rc], env=env)
            out["live"] = {"seconds": round(t, 1), "report": json.load(open(os.path.join(work, "live.json")))}
            events = os.path.join(work, "events.jsonl")
            print("== %d offline events" % a.events, flush=True)
            t = run([sys.executable, sim, "--url", url, "--queries", a.queries, "--results-cache", rc, "--events-out", events,
                     "--events", str(a.events), "--days", "30", "--seed", "19", "--truth", os.path.join(work, "truth-offline.json")], env=env)
            out["generate_s"] = round(t, 1)
            print("== aisle analytics load", flush=True)
            t = run([a.aisle, "analytics", "load", "--events", events, "--quiet"], env=env)
            out["load"] = {"events": a.events, "seconds": round(t, 1), "events_per_s": round(a.events / t)}
            os.remove(events)
            sql("VACUUM ANALYZE")
        out["events_in_store"] = int(sql("SELECT count(*) FROM analytics_events"))
        print("   events in the store: %d" % out["events_in_store"], flush=True)

        # 5. Reports.
        today = time.strftime("%Y-%m-%d", time.gmtime())
        start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * 86400))
        rep = {}
        for route in ("queries", "zero-results", "funnel"):
            times, took = [], None
            for _ in range(a.report_runs):
                t0 = time.monotonic()
                st, body = c.req("GET", "/api/v1/analytics/%s?from=%s&to=%s%s" % (route, start, today, "" if route == "funnel" else "&limit=100"))
                times.append(time.monotonic() - t0)
                if st != 200:
                    raise SystemExit("report %s: %s %s" % (route, st, body))
            rep[route] = {"median_ms": ms(statistics.median(times)), "max_ms": ms(max(times))}
        html = os.path.join(work, "report.html")
        times = []
        for _ in range(3):
            times.append(run([a.aisle, "analytics", "report", "--from", start, "--to", today, "--html", html], env=env,
                             stdout=subprocess.DEVNULL))
        rep["html_command"] = {"median_ms": ms(statistics.median(times)), "max_ms": ms(max(times)), "bytes": os.path.getsize(html)}
        out["reports"] = rep
        print("   reports over 30 days:", json.dumps(rep), flush=True)
        if a.screenshot:
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            if chromium:
                subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1900",
                                "--screenshot=" + a.screenshot, "file://" + html], capture_output=True, timeout=120)
                print("   screenshot:", a.screenshot, os.path.exists(a.screenshot), flush=True)

        # 6. Recommendations.
        truth = json.load(open(truth_live)) if os.path.exists(truth_live) else {}
        cache = json.load(open(rc)) if os.path.exists(rc) else {}
        ids = set()
        for v in (cache.get("queries") or {}).values():
            ids.update(v.get("ids") or [])
        anchors = [p["anchor"] for p in truth.get("pairs", [])]
        pool = sorted(ids) or anchors
        rng = random.Random(5)
        targets = [rng.choice(anchors) if anchors and rng.random() < 0.2 else rng.choice(pool) for _ in range(a.rec_requests)]
        lat, took, sources, lock = [], [], {"bought_together": 0, "similar": 0}, threading.Lock()

        def rec_worker(part):
            cl = Client(a.port)
            for pid in part:
                t0 = time.monotonic()
                st, body = cl.req("GET", "/api/v1/products/%s/recommendations?limit=8" % urllib.parse.quote(pid, safe=""))
                d = time.monotonic() - t0
                with lock:
                    lat.append(d)
                    if st == 200:
                        took.append(body["took_us"] / 1e6)
                        for r in body["recommendations"]:
                            sources[r["source"]] = sources.get(r["source"], 0) + 1
        for pid in targets[:50]:
            c.req("GET", "/api/v1/products/%s/recommendations?limit=8" % urllib.parse.quote(pid, safe=""))   # warm
        ths = [threading.Thread(target=rec_worker, args=(targets[i::2],)) for i in range(2)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        out["recommendations"] = {"requests": len(lat), "client_p50_ms": ms(pct(lat, 50)), "client_p99_ms": ms(pct(lat, 99)),
                                  "server_p50_ms": ms(pct(took, 50)), "server_p99_ms": ms(pct(took, 99)), "sources": sources}
        print("   recommendations:", json.dumps(out["recommendations"]), flush=True)

        # 7. Ingestion while searching.
        qs = []
        for line in open(a.queries):
            line = line.strip()
            if line:
                try:
                    qs.append(json.loads(line)["q"])
                except (ValueError, KeyError, TypeError):
                    qs.append(line)
        sample_ids = pool[:5000] or ["x"]

        def search_load(seconds, result):
            stop_at = time.monotonic() + seconds
            per_thread = a.search_rate / 2

            def worker(k):
                cl = Client(a.port)
                r = random.Random(k)
                nxt = time.monotonic()
                while True:
                    nxt += r.expovariate(per_thread)
                    now = time.monotonic()
                    if nxt > stop_at:
                        return
                    if nxt > now:
                        time.sleep(nxt - now)
                    q = r.choice(qs)
                    t0 = time.monotonic()
                    st, _ = cl.req("GET", "/api/v1/products/search?q=" + urllib.parse.quote(q) + "&limit=20",
                                   headers={"X-Aisle-Session": "bench-%d" % k, "X-Aisle-Device": "desktop"})
                    d = time.monotonic() - t0
                    with lock:
                        result.append(d if st == 200 else float("inf"))
            ts = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
            for t in ts:
                t.start()
            return ts

        def poster(seconds, stats):
            cl = Client(a.port)
            r = random.Random(99)
            batch = 500
            interval = batch / a.ingest_rate
            stop_at = time.monotonic() + seconds
            nxt = time.monotonic()
            kinds = ["click", "view", "view", "add_to_cart"]
            while time.monotonic() < stop_at:
                evs = []
                for i in range(batch):
                    k = r.choice(kinds)
                    e = {"type": k, "session": "ing-%d" % r.randrange(100000), "device": "mobile", "product_id": r.choice(sample_ids)}
                    if k == "click":
                        e["query_id"] = "unknown-%d" % r.randrange(1 << 30)
                        e["position"] = r.randint(1, 10)
                    evs.append(e)
                st, body = cl.req("POST", "/api/v1/events", {"events": evs})
                if st == 202:
                    stats["accepted"] += body["accepted"]
                    stats["dropped"] += body["dropped"]
                else:
                    stats["errors"] += 1
                nxt += interval
                now = time.monotonic()
                if nxt > now:
                    time.sleep(nxt - now)
            stats["seconds"] = seconds

        rounds = []
        for rnd in range(a.rounds):
            row = {}
            for phase in ("idle", "ingest"):
                res = []
                before = int(sql("SELECT count(*) FROM analytics_events"))
                t0 = time.monotonic()
                ts = search_load(a.seconds, res)
                stats = {"accepted": 0, "dropped": 0, "errors": 0}
                pt = None
                if phase == "ingest":
                    pt = threading.Thread(target=poster, args=(a.seconds, stats))
                    pt.start()
                for t in ts:
                    t.join()
                if pt:
                    pt.join()
                elapsed = time.monotonic() - t0
                time.sleep(1.0)   # the writer's last batch
                after = int(sql("SELECT count(*) FROM analytics_events"))
                row[phase] = {"searches": len(res), "p50_ms": ms(pct(res, 50)), "p99_ms": ms(pct(res, 99)),
                              "failed": sum(1 for x in res if x == float("inf")),
                              "events_accepted_per_s": round(stats["accepted"] / elapsed) if phase == "ingest" else 0,
                              "events_dropped": stats["dropped"], "post_errors": stats["errors"],
                              "events_written_per_s": round((after - before) / elapsed)}
                print("   round %d %s: %s" % (rnd + 1, phase, json.dumps(row[phase])), flush=True)
            rounds.append(row)
        ratio = statistics.median([r["ingest"]["p99_ms"] / r["idle"]["p99_ms"] for r in rounds])
        out["ingestion"] = {"rounds": rounds, "p99_ratio_median": round(ratio, 3),
                            "idle_p99_ms_median": statistics.median([r["idle"]["p99_ms"] for r in rounds]),
                            "ingest_p99_ms_median": statistics.median([r["ingest"]["p99_ms"] for r in rounds]),
                            "events_written_per_s_median": statistics.median([r["ingest"]["events_written_per_s"] for r in rounds])}
        print("   ingestion:", json.dumps({k: v for k, v in out["ingestion"].items() if k != "rounds"}), flush=True)

        # 8. Planted preferences: popularity and preferred products from the offline events (the
        # bulk of the data; the live run plants the same, same seed), pairs from the live run's orders.
        off_path = os.path.join(work, "truth-offline.json")
        truth_off = json.load(open(off_path)) if os.path.exists(off_path) else truth
        if truth:
            top = [t["query"] for t in truth_off.get("top_queries", [])][:10]
            st, body = c.req("GET", "/api/v1/analytics/queries?from=%s&to=%s&limit=1000" % (start, today))
            got = [r["query"] for r in body["queries"]] if st == 200 and isinstance(body, dict) and "queries" in body else []
            pref = truth_off.get("preferred", {})
            rec_pref, tried = 0, 0
            for q in top:
                if q not in pref:
                    continue
                tried += 1
                row = sql("SELECT product_id FROM analytics_query_product_daily WHERE query = %s GROUP BY product_id ORDER BY sum(clicks) DESC, product_id LIMIT 1"
                          % ("'" + q.replace("'", "''") + "'"))
                rec_pref += row == pref[q]["product_id"]
            pairs_ok = []
            for p in truth.get("pairs", []):
                st, body = c.req("GET", "/api/v1/products/%s/recommendations?limit=8" % urllib.parse.quote(p["anchor"], safe=""))
                bt = [r for r in (body or {}).get("recommendations", []) if r.get("source") == "bought_together"]
                pairs_ok.append({"anchor": p["anchor"], "partner": p["partner"], "first": bt[0]["id"] if bt else None,
                                 "share": bt[0].get("share") if bt else None})
            out["planted"] = {"top10_planted": top, "top10_report_positions": [got.index(q) + 1 if q in got else None for q in top],
                              "preferred_recovered": "%d of %d" % (rec_pref, tried), "pairs": pairs_ok}
            print("   planted:", json.dumps(out["planted"]), flush=True)
    finally:
        if srv:
            srv.send_signal(signal.SIGINT)
            try:
                srv.wait(30)
            except subprocess.TimeoutExpired:
                srv.kill()
        subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=env, capture_output=True)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
