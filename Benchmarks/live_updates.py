#!/usr/bin/env python3
"""The live index at scale: how fast an accepted write becomes searchable, and what a stream of
writes does to query latency. Runs against an `aisle serve` it starts over a copy of an index.

    Benchmarks/live_updates.py --index INDEX_DIR [--seconds 60] [--idle-seconds 20] [--rate 1000]
        [--markers-per-s 5] [--aisle .build/release/aisle] [--json OUT]    (--help for all options)

1. Copies the index (--copy-to, default a temporary directory: the server writes to it) and starts
   `aisle serve` on it; waits for /healthz.
2. Idle phase (--idle-seconds, after --warmup-seconds): one thread replays the text queries of
   --queries (AND, limit 10) in a loop over a keep-alive connection and records the server's
   took_us and the client's wall time of each search.
3. Stream phase (--seconds): a separate process (so the client side of the writes does not share a
   GIL with the query thread) sends --rate price updates/s as small `_bulk` batches of `set` lines
   (every --batch-ms), paced by the wall clock, to random products. --markers-per-s of them set a
   product to a unique "marker" price (--marker-base + k * 0.01, above every price of the index,
   checked before the run); a prober polls `POST /api/v1/search` {"q": <its title>, "filters":
   {"price_min": m, "price_max": m}, "limit": 1} every --probe-ms until the marked product is the
   hit. Visibility latency = time of the probe answer that found it - time the bulk answer that
   carried the write arrived (an upper bound; its resolution, the time since the previous missed
   probe, is reported too). Marker products come from a reserved set of ids that the random
   updates never touch, so a marker cannot be overwritten before it is found. Meanwhile the query
   thread replays the same queries as in the idle phase (the probes are extra read load of this
   phase; their rate and latency are reported).
4. Prints updates/s achieved, updates applied, visibility p50/p95/p99/max, query latency idle vs
   during the stream (took_us and wall), the p99 ratios, and /healthz at the end; stops the server
   with SIGTERM (it commits on shutdown). Also: bulk answer latency, the slowest bulk answers and
   queries with their time into the stream (to line stalls up with the commits, every --commit-ms), and
   the CPU use of the server and of the two client processes per phase (client and server share
   the machine's cores). --json OUT writes the figures.

Targets: visibility p99 < 1 s; query p99 during the stream <= 1.5 x idle p99.
Product ids are assumed to be P%08d for 0 <= i < documents (the synthetic catalog), or --ids N.
Python 3 standard library only.
"""
import argparse
import http.client
import json
import re
import multiprocessing as mp
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

now = time.monotonic  # CLOCK_MONOTONIC: comparable between the processes of this script


# MARK: - HTTP

class _Conn(http.client.HTTPConnection):
    """http.client sends headers and body in two writes: without TCP_NODELAY, Nagle and delayed
    ACKs can add tens of milliseconds to a request."""

    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port, token=None, timeout=60.0):
        self.port, self.timeout = port, timeout
        self.auth = {"Authorization": "Bearer " + token} if token else {}
        self.conn = None
        self.reconnects = 0

    def request(self, method, path, body=None, ctype="application/json", auth=False):
        """Returns (status, body bytes, time sent, time the whole answer was read)."""
        headers = {"Content-Type": ctype} if body is not None else {}
        if auth:
            headers.update(self.auth)
        if isinstance(body, str):
            body = body.encode()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = _Conn("127.0.0.1", self.port, timeout=self.timeout)
            t0 = now()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                t1 = now()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data, t0, t1
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest, http.client.BadStatusLine,
                    ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                self.close()
                self.reconnects += 1
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def pct(sorted_xs, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, int(-(-p * len(sorted_xs) // 100)) - 1))
    return sorted_xs[k]


def summary(xs):
    s = sorted(xs)
    return {"n": len(s), "p50": pct(s, 50), "p95": pct(s, 95), "p99": pct(s, 99), "max": s[-1] if s else None,
            "mean": sum(s) / len(s) if s else None}


def pid_id(i):
    return "P%08d" % i


# MARK: - Queries (main process)

def query_phase(port, bodies, until, start_offset=0, rate=0.0):
    """Replays the query bodies in a loop until until() is true. Returns the samples
    [(took_us, wall_ms, time sent, query number)] and the number of failed searches (with the first few errors)."""
    c = Client(port)
    samples, errors, first_errors = [], 0, []
    i = start_offset
    interval = 1.0 / rate if rate > 0 else 0.0
    next_t = now()
    while not until():
        if interval:
            d = next_t - now()
            if d > 0:
                time.sleep(d)
            next_t += interval
        body = bodies[i % len(bodies)]
        i += 1
        try:
            st, data, t0, t1 = c.request("POST", "/api/v1/search", body)
        except Exception as e:  # noqa: BLE001
            errors += 1
            if len(first_errors) < 5:
                first_errors.append(repr(e))
            continue
        if st != 200:
            errors += 1
            if len(first_errors) < 5:
                first_errors.append("HTTP %d %s" % (st, data[:200]))
            continue
        took = json.loads(data).get("took_us")
        samples.append((float(took) if took is not None else float("nan"), (t1 - t0) * 1000.0, t0, (i - 1) % len(bodies)))
    c.close()
    return samples, errors, first_errors


def run_query_threads(port, bodies, until, threads, rate):
    out = [None] * threads
    def work(k):
        out[k] = query_phase(port, bodies, until, start_offset=k * len(bodies) // threads, rate=rate / threads)
    ts = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    t0 = now()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dur = now() - t0
    samples = [s for o in out for s in o[0]]
    errors = sum(o[1] for o in out)
    first = [e for o in out for e in o[2]][:5]
    return samples, errors, first, dur, t0


# MARK: - The stream of writes and the visibility prober (child process)

class Marker:
    __slots__ = ("k", "id", "price", "t_accepted", "t_found", "t_last_miss", "probes", "failed")

    def __init__(self, k, pid, price):
        self.k, self.id, self.price = k, pid, price
        self.t_accepted = self.t_found = self.t_last_miss = None
        self.probes = 0
        self.failed = None


def stream_process(cfg, started, finished, results):
    """Runs in a child process: updater threads and the prober; puts a result dict on results."""
    try:
        results.put(_stream(cfg, started, finished))
    except BaseException as e:  # noqa: BLE001
        started.set()
        finished.set()
        results.put({"fatal": repr(e)})


def _stream(cfg, started, finished):
    sys.setswitchinterval(0.001)
    port, token = cfg["port"], cfg["token"]
    n, stride = cfg["ids"], cfg["marker_stride"]
    rng_seed = cfg["seed"]
    lock = threading.Lock()
    cond = threading.Condition(lock)
    pending = {}            # product id -> Marker being probed
    markers = []            # every marker, in order
    marker_pool = list(range(0, n, stride))
    random.Random(rng_seed).shuffle(marker_pool)
    pool_pos = [0]
    markers_sent = [0]
    t_start = [None]
    stop_updates = threading.Event()
    stream_over = threading.Event()   # updaters done: the prober finishes what is pending, then stops

    def next_marker_locked():
        """A marker for the next free reserved product (one with no marker being probed)."""
        for _ in range(len(marker_pool)):
            i = marker_pool[pool_pos[0] % len(marker_pool)]
            pool_pos[0] += 1
            if pid_id(i) not in pending:
                k = len(markers) + 1
                m = Marker(k, pid_id(i), "%.2f" % (cfg["marker_base"] + k * 0.01))
                markers.append(m)
                return m
        return None

    stats_lock = threading.Lock()
    stats = {"sent": 0, "applied": 0, "not_found": 0, "line_errors": 0, "http_errors": 0, "exceptions": 0,
             "batches": 0, "first_errors": [], "bulk_ms": [], "late_batches": 0, "probe_took_ms": [], "probe_wall_ms": []}

    def note_error(msg):
        if len(stats["first_errors"]) < 8:
            stats["first_errors"].append(msg)

    def updater(u, nthreads):
        rng = random.Random(rng_seed * 1000 + u + 1)
        c = Client(port, token)
        rate = cfg["rate"] / nthreads
        per_batch = max(1, int(round(rate * cfg["batch_ms"] / 1000.0)))
        interval = per_batch / rate
        next_t = t_start[0] + u * interval / nthreads
        while not stop_updates.is_set():
            d = next_t - now()
            if d > 0:
                if stop_updates.wait(d):
                    break
            elif d < -interval:
                with stats_lock:
                    stats["late_batches"] += 1
            next_t += interval
            lines = []
            mk = None
            with lock:
                due = int((now() - t_start[0]) * cfg["markers_per_s"]) + 1
                if markers_sent[0] < due:
                    mk = next_marker_locked()
                    if mk is not None:
                        markers_sent[0] += 1
            marker_line = -1
            if mk is not None:
                marker_line = rng.randrange(per_batch)
            for j in range(per_batch):
                if j == marker_line:
                    lines.append('{"op":"set","id":"%s","price":%s}\n' % (mk.id, mk.price))
                    continue
                i = rng.randrange(n)
                if i % stride == 0:          # reserved for markers
                    i = i + 1 if i + 1 < n else i - 1
                lines.append('{"op":"set","id":"%s","price":%.2f}\n' % (pid_id(i), rng.randint(100, 999999) / 100.0))
            body = "".join(lines)
            try:
                st, data, t0, t1 = c.request("POST", "/api/v1/products/_bulk", body, "application/x-ndjson", auth=True)
            except Exception as e:  # noqa: BLE001
                with stats_lock:
                    stats["exceptions"] += 1
                    stats["sent"] += per_batch
                    note_error("bulk: " + repr(e))
                if mk is not None:
                    mk.failed = "bulk request failed: " + repr(e)
                continue
            ok_marker = st == 200
            with stats_lock:
                stats["sent"] += per_batch
                stats["batches"] += 1
                stats["bulk_ms"].append(((t1 - t0) * 1000.0, t0 - t_start[0]))
                if st != 200:
                    stats["http_errors"] += 1
                    note_error("bulk HTTP %d: %s" % (st, data[:300]))
                else:
                    r = json.loads(data)
                    stats["applied"] += int(r.get("applied", 0))
                    nf, errs = r.get("not_found") or [], r.get("errors") or []
                    stats["not_found"] += len(nf)
                    stats["line_errors"] += len(errs)
                    for e in (nf + errs)[:2]:
                        note_error("bulk line: " + json.dumps(e))
                    bad_lines = {e.get("line") for e in nf + errs}
                    if marker_line + 1 in bad_lines:
                        ok_marker = False
            if mk is not None:
                if not ok_marker:
                    mk.failed = "marker write not applied (HTTP %d)" % st
                    continue
                with cond:
                    mk.t_accepted = t1
                    pending[mk.id] = mk
                    cond.notify_all()
        c.close()

    titles = {}   # product id -> query words of its title (probes search by title + exact price)

    def probe_query(c, pid):
        """The probe's words: the product's own title, so a probe is an ordinary text search narrowed
        by the exact marker price (a filter-only browse would scan every document per probe)."""
        if not cfg.get("probe_by_title", True):
            return ""
        if pid not in titles:
            st, data, _, _ = c.request("GET", "/api/v1/products/" + pid, None)
            words = re.findall(r"[A-Za-z0-9]+", json.loads(data).get("title", "")) if st == 200 else []
            titles[pid] = " ".join(words[:6])
        return titles[pid]

    def prober():
        c = Client(port)
        timeout = cfg["visibility_timeout"]
        probe_s = cfg["probe_ms"] / 1000.0
        while True:
            with cond:
                while not pending and not stream_over.is_set():
                    cond.wait(0.05)
                if not pending and stream_over.is_set():
                    break
                items = sorted(pending.values(), key=lambda m: m.k)
            cycle = now()
            for mk in items:
                body = '{"q":%s,"filters":{"price_min":%s,"price_max":%s},"limit":1}' % (
                    json.dumps(probe_query(c, mk.id)), mk.price, mk.price)
                try:
                    st, data, t0, t1 = c.request("POST", "/api/v1/search", body)
                except Exception as e:  # noqa: BLE001
                    with stats_lock:
                        note_error("probe: " + repr(e))
                    st, data, t0, t1 = None, b"", now(), now()
                mk.probes += 1
                hit = None
                if st == 200:
                    r = json.loads(data)
                    hits = r.get("hits") or []
                    hit = hits[0]["id"] if hits else None
                    stats["probe_took_ms"].append(float(r.get("took_us", 0.0)) / 1000.0)
                    stats["probe_wall_ms"].append((t1 - t0) * 1000.0)
                elif st is not None:
                    with stats_lock:
                        note_error("probe HTTP %d: %s" % (st, data[:200]))
                if hit == mk.id:
                    mk.t_found = t1
                    with cond:
                        pending.pop(mk.id, None)
                    continue
                if hit is not None:
                    mk.failed = "probe found %s instead of %s" % (hit, mk.id)
                elif t1 - mk.t_accepted > timeout:
                    mk.failed = "not visible after %.1f s (%d probes)" % (timeout, mk.probes)
                if mk.failed:
                    with cond:
                        pending.pop(mk.id, None)
                    continue
                mk.t_last_miss = t1
            d = probe_s - (now() - cycle)
            if d > 0:
                time.sleep(d)
        c.close()

    nthreads = cfg["updaters"]
    t_start[0] = now() + 0.05
    ups = [threading.Thread(target=updater, args=(u, nthreads), daemon=True) for u in range(nthreads)]
    pr = threading.Thread(target=prober, daemon=True)
    pr.start()
    for t in ups:
        t.start()
    d = t_start[0] - now()
    if d > 0:
        time.sleep(d)
    started.set()
    time.sleep(max(0.0, t_start[0] + cfg["seconds"] - now()))
    stop_updates.set()
    for t in ups:
        t.join()
    t_end = now()
    finished.set()
    stream_over.set()
    with cond:
        cond.notify_all()
    pr.join()
    vis = []
    for m in markers:
        vis.append({"k": m.k, "id": m.id, "price": m.price, "probes": m.probes, "failed": m.failed,
                    "at_s": m.t_accepted - t_start[0] if m.t_accepted is not None else None,
                    "latency_ms": (m.t_found - m.t_accepted) * 1000.0 if m.t_found is not None else None,
                    "resolution_ms": ((m.t_found - (m.t_last_miss or m.t_accepted)) * 1000.0
                                      if m.t_found is not None else None)})
    stats["duration_s"] = t_end - t_start[0]
    stats["cpu_s"] = time.process_time()
    stats["bulk_slowest"] = [{"at_s": t, "ms": ms} for ms, t in sorted(stats["bulk_ms"], reverse=True)[:10]]
    stats["bulk_ms"] = [ms for ms, _ in stats["bulk_ms"]]
    stats["markers"] = vis
    return stats


# MARK: - Server

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get_json(port, path, timeout=10.0):
    c = Client(port, timeout=timeout)
    try:
        st, data, _, _ = c.request("GET", path)
        return st, (json.loads(data) if data else None)
    finally:
        c.close()


def search(port, body):
    c = Client(port)
    try:
        st, data, _, _ = c.request("POST", "/api/v1/search", json.dumps(body))
        return st, json.loads(data)
    finally:
        c.close()


def cpu_seconds(pid):
    """User + system CPU seconds of a process (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_delta(a, b, seconds):
    return (b - a) / seconds * 100.0 if a is not None and b is not None and seconds > 0 else None


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# MARK: - Report

def fmt(x, d=1):
    return "-" if x is None else ("%.*f" % (d, x))


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    default_aisle = os.path.join(here, "..", ".build", "release", "aisle")
    ap.add_argument("--aisle", default=None, help="aisle binary (default .build/release/aisle, else /tmp/aisle-debug)")
    ap.add_argument("--index", required=True, help="index directory (left unchanged: the server runs on a copy)")
    ap.add_argument("--copy-to", default=None, help="where to copy the index (must not exist; kept); default a temp dir, removed")
    ap.add_argument("--keep-copy", action="store_true", help="keep the default temporary copy")
    ap.add_argument("--queries", default="/tmp/aisle-bench/corpora/queries-2k.jsonl")
    ap.add_argument("--query-filters", action="store_true", help="send the filters of the query set too (default: text only)")
    ap.add_argument("--query-threads", type=int, default=1, help="concurrent query connections (default 1)")
    ap.add_argument("--query-rate", type=float, default=0.0, help="queries/s in total, same in both phases (default 0: closed loop)")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the update stream")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="length of the idle query phase")
    ap.add_argument("--warmup-seconds", type=float, default=5.0, help="queries before the idle phase, not measured")
    ap.add_argument("--rate", type=float, default=1000.0, help="updates/s")
    ap.add_argument("--batch-ms", type=float, default=20.0, help="one bulk batch every this many ms per updater")
    ap.add_argument("--updaters", type=int, default=1, help="updater connections (the rate is split between them)")
    ap.add_argument("--markers-per-s", type=float, default=5.0, help="of the updates, markers probed for visibility")
    ap.add_argument("--marker-base", type=float, default=90000.0, help="marker prices are base + k * 0.01")
    ap.add_argument("--marker-stride", type=int, default=50, help="every n-th product id is reserved for markers")
    ap.add_argument("--probe-ms", type=float, default=5.0, help="poll interval of a pending marker")
    ap.add_argument("--visibility-timeout", type=float, default=10.0, help="a marker not found after this many s counts as lost")
    ap.add_argument("--ids", type=int, default=None, help="ids are P%%08d below this (default: /healthz documents)")
    ap.add_argument("--refresh-ms", type=int, default=None, help="passed to aisle serve (its default: 100)")
    ap.add_argument("--commit-ms", type=int, default=None, help="passed to aisle serve (its default: 2000)")
    ap.add_argument("--port", type=int, default=None, help="server port (default: a free one)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the figures to this file")
    a = ap.parse_args()
    sys.setswitchinterval(0.001)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup (stop the server, remove the copy)

    aisle = a.aisle
    if aisle is None:
        aisle = os.path.normpath(default_aisle)
        if not os.path.exists(aisle):
            aisle = "/tmp/aisle-debug"
            print("note: %s not found, using %s" % (os.path.normpath(default_aisle), aisle), file=sys.stderr)
    if not os.path.exists(aisle):
        sys.exit("aisle binary not found: " + aisle)
    if not os.path.isdir(a.index):
        sys.exit("index not found: " + a.index)

    bodies = []
    with open(a.queries) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            q = json.loads(line)
            terms = q.get("terms") or q.get("q", "").split()
            b = {"q": " ".join(terms), "operator": "and", "limit": 10}
            if a.query_filters and q.get("filters"):
                b["filters"] = q["filters"]
            bodies.append(json.dumps(b))
    if not bodies:
        sys.exit("no queries in " + a.queries)

    tmp = None
    if a.copy_to:
        if os.path.exists(a.copy_to):
            sys.exit("--copy-to %s exists; give a new path" % a.copy_to)
        copy = a.copy_to
    else:
        tmp = tempfile.mkdtemp(prefix="aisle-live-")
        copy = os.path.join(tmp, "index")
    t0 = now()
    shutil.copytree(a.index, copy)
    copy_s = now() - t0
    log_path = (os.path.join(tmp, "serve.log") if tmp else copy.rstrip("/") + ".serve.log")
    port = a.port or free_port()
    token = secrets.token_hex(16)
    cmd = [aisle, "serve", "--index", copy, "--port", str(port), "--token", token]
    if a.refresh_ms is not None:
        cmd += ["--refresh-ms", str(a.refresh_ms)]
    if a.commit_ms is not None:
        cmd += ["--commit-ms", str(a.commit_ms)]
    print("copied %s to %s (%.1f s); starting %s serve on port %d (log %s)" % (a.index, copy, copy_s, aisle, port, log_path),
          file=sys.stderr)
    log = open(log_path, "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    child = None
    out = {}
    try:
        health0 = None
        t0 = now()
        while now() - t0 < 600:
            if server.poll() is not None:
                sys.exit("aisle serve exited with %s before answering /healthz:\n%s" % (server.returncode, tail(log_path)))
            try:
                st, health0 = get_json(port, "/healthz", timeout=2)
                if st == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("aisle serve did not answer /healthz within 600 s")
        start_s = now() - t0
        print("server up in %.1f s: %s" % (start_s, json.dumps(health0)), file=sys.stderr)
        if not health0.get("writable", False):
            sys.exit("the server is not writable: %s" % json.dumps(health0))
        n_ids = a.ids or int(health0["documents"])
        for i in (0, n_ids - 1):
            st, _ = get_json(port, "/api/v1/products/" + pid_id(i))
            if st != 200:
                sys.exit("product %s not found (HTTP %d): ids must be P%%08d below %d (use --ids)" % (pid_id(i), st, n_ids))
        st, r = search(port, {"q": "", "filters": {"price_min": a.marker_base}, "limit": 1})
        if st != 200:
            sys.exit("browse search failed: HTTP %d %s" % (st, r))
        if r.get("hits"):
            sys.exit("a product already has a price >= --marker-base %.2f (%s): raise --marker-base" % (a.marker_base, r["hits"][0]["id"]))

        # Warm-up and idle phase.
        def phase(seconds):
            end = now() + seconds
            return run_query_threads(port, bodies, lambda: now() >= end, a.query_threads, a.query_rate)
        if a.warmup_seconds > 0:
            ws, we, wf, wd, _ = phase(a.warmup_seconds)
            print("warm-up: %d queries in %.1f s (%d errors)" % (len(ws), wd, we), file=sys.stderr)
        print("idle phase: %.0f s" % a.idle_seconds, file=sys.stderr)
        c0, m0 = cpu_seconds(server.pid), time.process_time()
        idle = phase(a.idle_seconds)
        c1, m1 = cpu_seconds(server.pid), time.process_time()
        cpu_idle = (cpu_delta(c0, c1, idle[3]), (m1 - m0) / idle[3] * 100.0)

        # Stream phase: writes from a child process, queries here.
        cfg = {"port": port, "token": token, "ids": n_ids, "marker_stride": a.marker_stride, "seed": a.seed,
               "rate": a.rate, "batch_ms": a.batch_ms, "updaters": a.updaters, "markers_per_s": a.markers_per_s,
               "marker_base": a.marker_base, "probe_ms": a.probe_ms, "visibility_timeout": a.visibility_timeout,
               "seconds": a.seconds}
        ctx = mp.get_context("fork")
        started, finished, results = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(target=stream_process, args=(cfg, started, finished, results), daemon=True)
        print("stream phase: %.0f s at %.0f updates/s" % (a.seconds, a.rate), file=sys.stderr)
        child.start()
        started.wait()
        c0, m0 = cpu_seconds(server.pid), time.process_time()
        during = run_query_threads(port, bodies, finished.is_set, a.query_threads, a.query_rate)
        c1, m1 = cpu_seconds(server.pid), time.process_time()
        cpu_during = (cpu_delta(c0, c1, during[3]), (m1 - m0) / during[3] * 100.0)
        try:
            wres = results.get(timeout=a.visibility_timeout + 300)
        except Exception:  # noqa: BLE001
            sys.exit("the update stream process gave no result (exit code %s)" % child.exitcode)
        child.join(30)
        child = None
        if "fatal" in wres:
            sys.exit("the update stream failed: " + wres["fatal"])

        st, health1 = get_json(port, "/healthz")
        t0 = now()
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(300)
        except subprocess.TimeoutExpired:
            rc = None
        stop_s = now() - t0
        server_alive = server.poll() is None

        # Figures.
        mk = wres["markers"]
        found = [m["latency_ms"] for m in mk if m["latency_ms"] is not None]
        lost = [m for m in mk if m["latency_ms"] is None]
        vis = summary(found)
        resol = summary([m["resolution_ms"] for m in mk if m["resolution_ms"] is not None])
        def qfig(res):
            samples, errors, first, dur, t_phase = res
            took = summary([s[0] / 1000.0 for s in samples])
            wall = summary([s[1] for s in samples])
            slow = sorted(samples, key=lambda s: -s[1])[:10]
            return {"queries": len(samples), "errors": errors, "first_errors": first, "seconds": dur,
                    "qps": len(samples) / dur if dur else None, "took_ms": took, "wall_ms": wall,
                    "slowest": [{"at_s": s[2] - t_phase, "wall_ms": s[1], "took_ms": s[0] / 1000.0,
                                 "query": json.loads(bodies[s[3]])} for s in slow]}
        qi, qd = qfig(idle), qfig(during)
        dur = wres["duration_s"]
        out = {
            "aisle": aisle, "index": a.index, "copy": copy, "documents": int(health0["documents"]), "ids": n_ids,
            "refresh_ms": a.refresh_ms or 100, "commit_ms": a.commit_ms or 2000,
            "server_start_s": start_s, "copy_s": copy_s,
            "stream": {"seconds": dur, "target_rate": a.rate, "updates_sent": wres["sent"],
                       "updates_per_s": wres["sent"] / dur if dur else None, "applied": wres["applied"],
                       "not_found": wres["not_found"], "line_errors": wres["line_errors"],
                       "http_errors": wres["http_errors"], "exceptions": wres["exceptions"],
                       "batches": wres["batches"], "late_batches": wres["late_batches"],
                       "bulk_ms": summary(wres["bulk_ms"]), "bulk_slowest": wres["bulk_slowest"],
                       "probes": len(wres["probe_wall_ms"]), "probes_per_s": len(wres["probe_wall_ms"]) / dur if dur else None,
                       "probe_took_ms": summary(wres["probe_took_ms"]), "probe_wall_ms": summary(wres["probe_wall_ms"]),
                       "first_errors": wres["first_errors"]},
            "visibility": {"markers": len(mk), "found": len(found), "lost": len(lost),
                           "lost_examples": [{"id": m["id"], "price": m["price"], "why": m["failed"]} for m in lost[:5]],
                           "latency_ms": vis, "resolution_ms": resol, "per_marker": mk,
                           "probes_per_marker": sum(m["probes"] for m in mk) / len(mk) if mk else None,
                           "target_p99_ms": 1000.0,
                           "pass": bool(found) and not lost and vis["p99"] < 1000.0},
            "queries": {"threads": a.query_threads, "rate": a.query_rate or "closed loop", "filters": a.query_filters,
                        "idle": qi, "during": qd,
                        "p99_ratio_took": ratio(qd["took_ms"]["p99"], qi["took_ms"]["p99"]),
                        "p99_ratio_wall": ratio(qd["wall_ms"]["p99"], qi["wall_ms"]["p99"]), "target_ratio": 1.5},
            "cpu_percent": {"cores": os.cpu_count(), "server_idle": cpu_idle[0], "server_during": cpu_during[0],
                            "query_client_idle": cpu_idle[1], "query_client_during": cpu_during[1],
                            "write_client_during": wres["cpu_s"] / dur * 100.0 if dur else None},
            "healthz_start": health0, "healthz_end": health1,
            "shutdown": {"exit_code": rc, "seconds": stop_s, "still_running": server_alive},
        }
        rt, rw = out["queries"]["p99_ratio_took"], out["queries"]["p99_ratio_wall"]
        out["queries"]["pass"] = rt is not None and rw is not None and rt <= 1.5 and rw <= 1.5

        # Table.
        S = out["stream"]
        V = out["visibility"]
        print()
        print("live updates: %s, %d documents, refresh %d ms, commit %d ms" % (aisle, out["documents"], out["refresh_ms"], out["commit_ms"]))
        print()
        print("updates  sent %d in %.1f s = %.0f/s (target %.0f/s); applied %d; not found %d; line errors %d; "
              "HTTP errors %d; exceptions %d" % (S["updates_sent"], dur, S["updates_per_s"] or 0, a.rate, S["applied"],
                                                 S["not_found"], S["line_errors"], S["http_errors"], S["exceptions"]))
        b = S["bulk_ms"]
        print("         %d bulk batches, answer p50 %s / p99 %s / max %s ms; %d batches more than one interval late"
              % (S["batches"], fmt(b["p50"]), fmt(b["p99"]), fmt(b["max"]), S["late_batches"]))
        print("         slowest bulk answers (s into the stream: ms): "
              + ", ".join("%.2f: %.0f" % (x["at_s"], x["ms"]) for x in S["bulk_slowest"][:5]))
        print()
        print("visibility (write accepted -> search returns it), %d markers, %d found, %d lost:" % (V["markers"], V["found"], V["lost"]))
        print("  %-10s %8s %8s %8s %8s %8s" % ("", "p50", "p95", "p99", "max", "mean"))
        print("  %-10s %8s %8s %8s %8s %8s" % ("ms", fmt(vis["p50"]), fmt(vis["p95"]), fmt(vis["p99"]), fmt(vis["max"]), fmt(vis["mean"])))
        print("  %-10s %8s %8s %8s %8s %8s   (time since the previous missed probe)"
              % ("resolution", fmt(resol["p50"]), fmt(resol["p95"]), fmt(resol["p99"]), fmt(resol["max"]), fmt(resol["mean"])))
        pt, pw = S["probe_took_ms"], S["probe_wall_ms"]
        print("  %d probe searches (%.0f/s, part of the query load of the stream phase): took p50 %s / p99 %s ms, wall p50 %s / p99 %s ms"
              % (S["probes"], S["probes_per_s"] or 0, fmt(pt["p50"], 3), fmt(pt["p99"], 3), fmt(pw["p50"], 3), fmt(pw["p99"], 3)))
        print("  target p99 < 1000 ms: %s" % ("PASS" if V["pass"] else "FAIL"))
        for m in V["lost_examples"]:
            print("  lost: %s price %s: %s" % (m["id"], m["price"], m["why"]))
        print()
        print("queries (AND, limit 10, %s, %d thread%s):" % ("closed loop" if not a.query_rate else "%.0f q/s" % a.query_rate,
                                                             a.query_threads, "" if a.query_threads == 1 else "s"))
        print("  %-14s %10s %10s %10s %10s %10s %8s" % ("ms", "idle p50", "during p50", "idle p95", "during p95", "idle p99", "during p99") + "  p99 ratio")
        for key, label in (("took_ms", "took_us/1000"), ("wall_ms", "client wall")):
            i_, d_ = qi[key], qd[key]
            print("  %-14s %10s %10s %10s %10s %10s %10s  %s" % (label, fmt(i_["p50"], 3), fmt(d_["p50"], 3), fmt(i_["p95"], 3),
                                                                 fmt(d_["p95"], 3), fmt(i_["p99"], 3), fmt(d_["p99"], 3),
                                                                 fmt(ratio(d_["p99"], i_["p99"]), 2)))
        print("  queries: idle %d (%.0f q/s, %d errors), during %d (%.0f q/s, %d errors)"
              % (qi["queries"], qi["qps"] or 0, qi["errors"], qd["queries"], qd["qps"] or 0, qd["errors"]))
        print("  slowest during the stream (s into it: wall / took ms): "
              + ", ".join("%.2f: %.1f / %.1f" % (x["at_s"], x["wall_ms"], x["took_ms"]) for x in qd["slowest"][:5]))
        for e in qi["first_errors"] + qd["first_errors"]:
            print("  query error: " + e)
        print("  target p99 during <= 1.5 x idle: %s" % ("PASS" if out["queries"]["pass"] else "FAIL"))
        print()
        C = out["cpu_percent"]
        print("CPU %% of one core (%d cores): server idle %s, during %s; query client idle %s, during %s; write client %s"
              % (C["cores"], fmt(C["server_idle"], 0), fmt(C["server_during"], 0), fmt(C["query_client_idle"], 0),
                 fmt(C["query_client_during"], 0), fmt(C["write_client_during"], 0)))
        for e in S["first_errors"]:
            print("stream error: " + e)
        print("healthz start: %s" % json.dumps(health0))
        print("healthz end:   %s" % json.dumps(health1))
        print("server stopped by SIGTERM in %.1f s, exit code %s%s" % (stop_s, rc, " (STILL RUNNING)" if server_alive else ""))
        if rc not in (0, None) or server_alive:
            print(tail(log_path))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)
            print("wrote " + a.json)
    finally:
        if child is not None and child.is_alive():
            child.terminate()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        if tmp and not a.keep_copy:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp:
            print("kept the copy in " + tmp, file=sys.stderr)


if __name__ == "__main__":
    main()
