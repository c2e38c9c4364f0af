#!/usr/bin/env python3
"""End to end: simulated shop traffic against a real `aisle serve`, then the analytics reports and
the recommendations must show what the simulator planted (issue 19).

    scripts/analytics_sim_test.py --aisle .build/debug/aisle [--sessions 1500] [--seed 19] [--keep]

Stores: AISLE_TEST_DATABASE_URL / AISLE_TEST_REDIS_URL (the test command's), else DATABASE_URL /
REDIS_URL, else `scripts/services.sh start` on ports of its own (55523 / 56523, stopped at the
end). A fresh database `aisle_analytics_sim_test` and Redis database 9 (emptied).

It needs nothing from ../shared: it writes its own catalog (600 products: 20 product nouns x 30,
with colours, materials, styles and brands in the titles, stock 100,000 each) and 42 queries (the
20 nouns, 20 "modifier noun" pairs, and 2 that find nothing), loads the catalog with `aisle
catalog load`, indexes it with `aisle reindex`, serves it with a token, and runs
Benchmarks/traffic_sim.py live (--sessions, 8 threads). Once the funnel report shows everything the
simulator sent (polled, at most 60 s), it checks, for the UTC days the run covered:

1. Funnel (GET /api/v1/analytics/funnel): searches, clicks, carts and purchases per device equal
   what the simulator sent, exactly (no other device).
2. Top queries (GET /api/v1/analytics/queries?limit=1000): every query's searches, clicks, mean
   click position and conversions equal what was sent (exactly; conversions as the server defines
   them: a purchase converts each query its session searched earlier that UTC day); the planted most
   popular query is first; and the Spearman rank correlation between the planted order and the
   report's order of the planted top 10 is at least 0.8. Why these: exact counts are deterministic
   (they fail only if the server loses or miscounts an event); the ranking assertions are
   statistical but safe: Zipf(1) over 42 queries and ~3,000 searches puts about 700/k searches on
   the k-th query, so #1 leads #2 by ~350 (20 standard deviations); over 40 seeds of the same model
   offline, neither assertion ever failed. The zero-result report lists exactly the two queries
   that find nothing, with the searches sent.
3. Preferences: from the server's click events (analytics_events joined with analytics_searches,
   and analytics_query_product_daily when it exists), the clicks per (query, product) of the top
   20 planted queries equal what was sent, and for each of the 5 most popular queries with results
   the most clicked product is its hidden preferred product (over 40 offline seeds: never wrong;
   the preferred product is 5-6x as attractive as any other, which beats the position bias down to
   position 8). The recovery over every query with at least 30 searches is printed.
4. Bought together (GET /api/v1/products/{A}/recommendations?limit=8): for the anchor of the most
   popular query, the planted partner B is the first `bought_together` entry; for every anchor,
   the first bought-together entry and its `orders` equal the co-purchase counts of the placed
   orders (SQL over order_lines), when one product leads there. Polled (a projection): up to 20 s
   for the first anchor, 5 s for the others.

Prints what it measured; exits 1 naming each failed check.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from pgwire import PG  # noqa: E402
import test_stores  # noqa: E402
from test_stores import free_port  # noqa: E402

TOKEN = "analytics-sim-test-token"
DB_NAME = "aisle_analytics_sim_test"
NOUNS = ["sofa", "armchair", "lamp", "rug", "desk", "bookshelf", "mirror", "pillow", "blanket", "vase", "clock", "stool",
         "bench", "curtain", "planter", "candle", "basket", "kettle", "mug", "towel"]
COLORS = ["red", "blue", "green", "black", "white", "grey", "oak", "walnut", "ivory", "teal"]
MATERIALS = ["velvet", "linen", "leather", "wool", "cotton", "ceramic", "glass", "steel"]
STYLES = ["modern", "rustic", "classic", "compact", "deluxe", "vintage", "minimalist", "cozy", "elegant", "sturdy"]
BRANDS = ["Northwind", "Acme", "Zephyr", "Lumen", "Harbor", "Juniper", "Quarry", "Birch", "Cobalt", "Meadow", "Saffron", "Tundra"]
NOTHING = ["xylophone", "zeppelin hangar"]
failures = []


def check(cond, what):
    print("  %s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        failures.append(what)
    return cond



def http(port, path, token=None):
    """(status, parsed JSON or raw text)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            st, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        st, raw = e.code, e.read()
    try:
        return st, json.loads(raw) if raw else None
    except ValueError:
        return st, raw.decode(errors="replace")


def write_catalog(path):
    rng = random.Random(19)
    n = 0
    with open(path, "w") as out:
        for k, noun in enumerate(NOUNS):
            for _ in range(30):
                n += 1
                s, c, m, b = rng.choice(STYLES), rng.choice(COLORS), rng.choice(MATERIALS), rng.choice(BRANDS)
                out.write(json.dumps({
                    "id": "T%04d" % n, "title": "%s %s %s %s" % (s.title(), c.title(), m.title(), noun.title()),
                    "description": "A %s %s %s made of %s." % (s, c, noun, m), "brand": b,
                    "category": ["Home", "Group %d" % (k % 5), noun.title()], "category_path": "Home > Group %d > %s" % (k % 5, noun.title()),
                    "price": round(rng.uniform(5, 500), 2), "rating": 4.0, "review_count": 3, "in_stock": True, "stock": 100000,
                    "attributes": {"color": c, "material": m}}) + "\n")


def write_queries(path):
    rng = random.Random(3)
    qs = list(NOUNS) + ["%s %s" % (rng.choice(COLORS + MATERIALS + STYLES), n) for n in NOUNS] + NOTHING
    with open(path, "w") as f:
        f.write("\n".join(qs) + "\n")
    return qs


def spearman(xs, ys):
    n = len(xs)
    if n < 2:
        return 1.0
    return 1 - 6 * sum((x - y) ** 2 for x, y in zip(xs, ys)) / (n * (n * n - 1))


def utc_day(t=None):
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aisle", default=".build/debug/aisle")
    ap.add_argument("--sessions", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (truth, report, serve.log)")
    a = ap.parse_args()
    aisle = os.path.abspath(a.aisle)
    if not os.access(aisle, os.X_OK):
        raise SystemExit("analytics sim test: no aisle binary at %s" % aisle)
    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="aisle-analytics-sim-")
    srv = services_env = None
    try:
        base_db, redis, services_env = test_stores.stores("analytics sim test", 55523, 56523)
        db = test_stores.fresh_database(base_db, DB_NAME)
        redis = test_stores.fresh_redis("analytics sim test", redis, 9)
        corpus, queries_file = os.path.join(work, "catalog.jsonl"), os.path.join(work, "queries.txt")
        write_catalog(corpus)
        write_queries(queries_file)
        env = dict(os.environ, DATABASE_URL=db, REDIS_URL=redis, AISLE_ATTRIBUTES=os.path.join(work, "product_attributes.json"))
        for k in ("MONGODB_URI", "AISLE_API_TOKEN"):
            env.pop(k, None)
        index = os.path.join(work, "index")
        for cmd in ([aisle, "catalog", "load", "--corpus", corpus, "--quiet"], [aisle, "reindex", "--index", index, "--quiet"]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("analytics sim test: %s failed: %s" % (" ".join(cmd[1:3]), (r.stdout + r.stderr)[-2000:]))
        port = free_port()
        log = open(os.path.join(work, "serve.log"), "w")
        srv = subprocess.Popen([aisle, "serve", "--index", index, "--port", str(port), "--token", TOKEN, "--order-expiry", "86400"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
                break
            except OSError:
                if srv.poll() is not None:
                    raise SystemExit("analytics sim test: aisle serve exited:\n" + open(os.path.join(work, "serve.log")).read()[-2000:])
                time.sleep(0.1)

        # The traffic.
        day_from = utc_day()
        truth_path, report_path = os.path.join(work, "truth.json"), os.path.join(work, "report.json")
        print("analytics sim: %d simulated sessions against aisle serve (seed %d), then the reports and recommendations" % (a.sessions, a.seed),
              flush=True)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks", "traffic_sim.py"), "--url", "http://127.0.0.1:%d" % port,
                            "--queries", queries_file, "--sessions", str(a.sessions), "--seed", str(a.seed), "--concurrency", "8",
                            "--token", TOKEN, "--truth", truth_path, "--json", report_path], capture_output=True, text=True)
        sys.stdout.write("".join("  | " + x + "\n" for x in r.stdout.splitlines()))
        if r.returncode != 0 or not os.path.exists(truth_path):
            print(r.stderr[-3000:])
            check(False, "traffic_sim.py ran without errors (exit %d)" % r.returncode)
            return 1
        truth = json.load(open(truth_path))
        sent = truth["sent"]
        day_to = utc_day()
        rng_q = "from=%s&to=%s" % (day_from, day_to)

        # 1. Funnel: poll until it shows everything sent.
        want = {d: [c["searches"], c["clicks"], c["carts"], c["purchases"]] for d, c in sent["per_device"].items()}
        got, t0 = {}, time.monotonic()
        while time.monotonic() - t0 < 60:
            st, body = http(port, "/api/v1/analytics/funnel?" + rng_q, TOKEN)
            if st == 200:
                got = {}
                for row in body.get("days") or []:
                    g = got.setdefault(row["device"], [0, 0, 0, 0])
                    for i, k in enumerate(("searches", "clicks", "carts", "purchases")):
                        g[i] += int(row[k])
                if got == want:
                    break
            time.sleep(0.25)
        waited = time.monotonic() - t0
        print("1. funnel (searches, clicks, carts, purchases) per device, %s..%s, seen after %.1f s:" % (day_from, day_to, waited))
        for d in sorted(set(want) | set(got)):
            print("     %-8s sent %-22s report %s" % (d, want.get(d), got.get(d)))
        check(got == want, "the funnel report equals what the simulator sent, per device")

        # 2. Top queries.
        st, body = http(port, "/api/v1/analytics/queries?limit=1000&" + rng_q, TOKEN)
        rows = body.get("queries") if st == 200 and isinstance(body, dict) else None
        check(rows is not None, "GET /api/v1/analytics/queries -> 200 (%s)" % (st if rows is None else "ok"))
        rows = rows or []
        per_q = sent["per_query"]
        bad = []
        for row in rows:
            s = per_q.get(row["query"])
            if s is None:
                bad.append("%r not sent" % row["query"])
                continue
            mcp = (s["position_sum"] / s["clicks"]) if s["clicks"] else None
            if (row["searches"], row["clicks"], row["conversions"]) != (s["searches"], s["clicks"], s["conversions"]) or \
                    (mcp is None) != (row["mean_click_position"] is None) or (mcp is not None and abs(mcp - row["mean_click_position"]) > 1e-9):
                bad.append("%r report %s/%s/%s/%s sent %s/%s/%s/%s" % (row["query"], row["searches"], row["clicks"], row["mean_click_position"],
                                                                      row["conversions"], s["searches"], s["clicks"], mcp, s["conversions"]))
        missing = sorted(set(q for q, s in per_q.items() if s["searches"]) - set(r_["query"] for r_ in rows))
        top = [x["query"] for x in truth["top_queries"]]
        order = [r_["query"] for r_ in rows]
        print("2. top queries: planted %s; report %s" % (top[:5], ["%s (%d)" % (r_["query"], r_["searches"]) for r_ in rows[:5]]))
        check(not bad and not missing and len(rows) == len([1 for s in per_q.values() if s["searches"]]),
              "every query's searches, clicks, mean click position and conversions equal what was sent (%d queries)%s"
              % (len(rows), ("; " + "; ".join(bad[:3] + ["missing %s" % missing[:3]] if missing else bad[:3])) if bad or missing else ""))
        check(bool(order) and order[0] == top[0], "the planted most popular query %r is first (report: %r)" % (top[0], order[0] if order else None))
        top10 = [q for q in top[:10] if q in order]
        obs = sorted(range(len(top10)), key=lambda i: order.index(top10[i]))
        rank_in_report = [0] * len(top10)
        for pos, i in enumerate(obs):
            rank_in_report[i] = pos
        rho = spearman(list(range(len(top10))), rank_in_report)
        check(len(top10) == 10 and rho >= 0.8, "Spearman rank correlation, planted vs report, planted top 10: %.3f (>= 0.8)" % rho)
        st, body = http(port, "/api/v1/analytics/zero-results?limit=1000&" + rng_q, TOKEN)
        zero = {r_["query"]: r_["zero_results"] for r_ in (body.get("queries") or [])} if st == 200 and isinstance(body, dict) else None
        want_zero = {q: per_q[q]["searches"] for q in NOTHING if q in per_q}
        check(zero == want_zero, "zero-result report %s equals the searches sent for the queries that find nothing %s" % (zero, want_zero))

        # 3. The hidden preferred product from the server's clicks.
        pg = PG(db)
        clicks = {}
        for q, pid, n in pg.query("SELECT s.query, e.product_id, count(*) FROM analytics_events e JOIN analytics_searches s ON s.query_id = e.query_id "
                                  "WHERE e.kind = 'click' GROUP BY 1, 2"):
            clicks.setdefault(q, {})[pid] = int(n)
        sent_cb = sent["clicks_by_product"]
        check(all(clicks.get(q, {}) == c for q, c in sent_cb.items()),
              "the server's clicks per (query, product) equal the simulator's for the top %d queries" % len(sent_cb))
        has_rollup = pg.query("SELECT to_regclass('analytics_query_product_daily') IS NOT NULL")[0][0] == "t"
        if has_rollup:
            roll = {}
            for q, pid, n in pg.query("SELECT query, product_id, sum(clicks) FROM analytics_query_product_daily "
                                      "WHERE day BETWEEN %s AND %s GROUP BY 1, 2 HAVING sum(clicks) > 0" % (sql_str(day_from), sql_str(day_to))):
                roll.setdefault(q, {})[pid] = int(n)
            check(roll == clicks, "analytics_query_product_daily's clicks equal the click events (%d queries)" % len(roll))
        pref = truth["preferred"]
        lines, top5_ok, top5 = [], 0, [q for q in top if q in pref][:5]
        for q in top5:
            c = clicks.get(q, {})
            best = max(sorted(c), key=lambda p: c[p]) if c else None
            top5_ok += best == pref[q]["product_id"]
            lines.append("     %-18r preferred %s (position %d): %d clicks of %d; most clicked %s" % (
                q, pref[q]["product_id"], pref[q]["position"], c.get(pref[q]["product_id"], 0), sum(c.values()), best))
        everywhere = [q for q, s in per_q.items() if s["searches"] >= 30 and q in pref]
        hit = sum(1 for q in everywhere if clicks.get(q) and max(sorted(clicks[q]), key=lambda p: clicks[q][p]) == pref[q]["product_id"])
        print("3. preferred products from the clicks (raw counts, no position correction):")
        print("\n".join(lines))
        print("     every query with >= 30 searches: %d of %d recovered" % (hit, len(everywhere)))
        check(top5_ok == len(top5) == 5, "the hidden preferred product is the most clicked for each of the 5 most popular queries (%d/5)" % top5_ok)

        # 4. Bought together.
        print("4. bought together (planted rate %.2f):" % truth["pairs"][0]["rate"] if truth["pairs"] else "4. no pairs planted")
        anchors = sorted(truth["pairs"], key=lambda p: -sent["anchors"][p["anchor"]]["orders"])
        for k, p in enumerate(anchors):
            A, B = p["anchor"], p["partner"]
            co = {}
            for pid, n in pg.query("SELECT b.product_id, count(DISTINCT a.order_id) FROM order_lines a JOIN order_lines b "
                                   "ON b.order_id = a.order_id AND b.product_id <> a.product_id WHERE a.product_id = %s GROUP BY 1" % sql_str(A)):
                co[pid] = int(n)
            n_a = int(pg.query("SELECT count(DISTINCT order_id) FROM order_lines WHERE product_id = %s" % sql_str(A))[0][0])
            ranked = sorted(co.items(), key=lambda x: (-x[1], x[0]))
            leader = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) else None
            if k == 0:
                check(leader == B, "the orders carry the plant: %s is bought most often with the top anchor %s (%d of %d orders)"
                      % (B, A, co.get(B, 0), n_a))
            first, t0 = None, time.monotonic()
            while time.monotonic() - t0 < (20 if k == 0 else 5):
                st, body = http(port, "/api/v1/products/%s/recommendations?limit=8" % urllib.parse.quote(A))
                bt = [x for x in (body.get("recommendations") or [])] if st == 200 and isinstance(body, dict) else []
                bt = [x for x in bt if x.get("source") == "bought_together"]
                first = bt[0] if bt else None
                if first and first.get("id") == (leader or B) and first.get("orders") == co.get(first["id"]):
                    break
                time.sleep(0.25)
            print("     %s (%d orders): planted partner %s in %d (%.2f); SQL leader %s; route's first bought_together %s (orders %s, share %s); "
                  "next in SQL: %s" % (A, n_a, B, co.get(B, 0), co.get(B, 0) / n_a if n_a else 0, leader,
                                       first and first.get("id"), first and first.get("orders"), first and first.get("share"), ranked[1:3]))
            if not first or first.get("id") != (leader or B):
                print("     the route's last answer: %s" % json.dumps(body)[:600])
            if k == 0:
                check(first is not None and first.get("id") == B, "the top anchor %s's first bought-together recommendation is its partner %s (got %s)"
                      % (A, B, first and first.get("id")))
            if leader:
                check(first is not None and first.get("id") == leader and first.get("orders") == co[leader],
                      "anchor %s: first bought-together %s with %s orders equals the orders' leader %s with %d"
                      % (A, first and first.get("id"), first and first.get("orders"), leader, co[leader]))
        pg.close()
        print("analytics sim: %.1f s in all" % (time.monotonic() - t_start))
    finally:
        if srv:
            srv.terminate()
            try:
                srv.wait(30)
            except subprocess.TimeoutExpired:
                srv.kill()
        if services_env:
            subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "stop"], env=services_env, capture_output=True)
        if a.keep:
            print("analytics sim: work files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("analytics sim test: FAILED (%d): %s" % (len(failures), "; ".join(failures)))
        return 1
    print("analytics sim test: PASSED (funnel exact per device, per-query counts exact, planted top query and ranking, "
          "preferred products, bought together)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
