#!/usr/bin/env python3
"""Crash test: prove an Aisle index survives `kill -9` at random moments.

After every kill the index must open at its last commit, hold every change that
commit covers (and nothing more), and pass `aisle check`.

Usage:
    scripts/crash_test.py [--kills 25] [--aisle BIN] [--work DIR] [--seed S]
                          [--base 3000] [--changes 60000] [--min-sleep 0.05]
                          [--max-sleep 1.5] [--keep] [--verbose]

    e.g. scripts/crash_test.py --kills 5 --seed 1
         scripts/crash_test.py --kills 25 --vectors     # with a vector field (.vec files, HNSW graphs)
         scripts/crash_test.py --aisle .build/release/aisle --kills 100

Exit status 0 when every kill left a sound index with exactly its committed
changes, 1 otherwise (the seed and the kept work directory reproduce it).

What it does:
 1. Builds a base index of generated products (ids B00000..) with `aisle index`.
 2. Generates a long, seeded change file: upserts of new ids, upserts replacing
    live ids, deletes of live ids, sets of price / in_stock on live ids, and a
    few deletes / sets naming ids that do not exist. When fewer than half of
    --changes lines are left uncommitted, the same seeded stream is continued.
 3. Runs `--kills` rounds. Each round writes the changes not yet committed
    (everything after the global line offset) to a file of its own, starts
    `aisle update --commit-every K` (K random in 50..500) on it, sleeps a
    random 0.05..1.5 s and sends SIGKILL. Kills land while changes are applied,
    while commits are written and while background merges run.
    After each kill:
      - `aisle check --json` must exit 0 with "ok": true;
      - the commit it opens must be the newest commit file on disk, and no
        older than any commit seen on disk while the process ran;
      - the commit's user data (`changes_file`, `changes_lines`) tells how many
        lines of this round's file it covers; the global offset advances by
        that many (a commit from an earlier round's file must leave the offset
        where it was);
      - the expected state (the base products with the first `offset` lines of
        the change file applied in Python) is compared with
        `aisle export --fields price,in_stock`: the same live ids, and the same
        price and in_stock for each.
 4. Finally applies the rest of the changes without a kill and verifies the
    final state the same way (the index is still writable and consistent).
 5. Prints a table row per round and a summary line; exits 1 on any failure.

The "phase" column is a guess from the files the killed process left behind
(files no commit on disk references):
  commit      a commit point or side file of the next commit, or a freshly
              flushed segment (at most K documents), was being written
  merge       a segment a merge wrote or was writing (reserved before the last
              commit, or bigger than a flushed chunk)
  apply       no leftovers after at least one commit: change lines were being
              applied
  open/apply  no leftovers and no commit yet: opening, or the first chunk
  open        only the previous kill's leftovers, untouched: killed while
              opening, before the writer swept them
  finished    the process exited before the kill (not an interruption)

Only the Python standard library is used. The work directory (a fresh temp dir
unless --work is given; it must be empty or absent) is removed after a clean
run unless --keep, and kept after a failure so it can be examined.
"""

import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# Product and change generation
# ---------------------------------------------------------------------------

ADJECTIVES = ["classic", "modern", "compact", "deluxe", "rustic", "sleek", "vintage",
              "portable", "heavy-duty", "soft", "ergonomic", "wireless", "foldable", "premium"]
MATERIALS = ["oak", "steel", "linen", "velvet", "bamboo", "leather", "glass", "ceramic",
             "cotton", "walnut", "aluminium", "wool"]
NOUNS = ["sofa", "lamp", "chair", "table", "kettle", "blender", "backpack", "headphones",
         "rug", "shelf", "mug", "jacket", "speaker", "desk", "pillow", "skillet"]
EXTRAS = ["with storage", "for kids", "set of 2", "extra large", "travel size",
          "with remote", "limited edition", "2-pack", "with cover"]
BRANDS = ["Acme", "Northwind Home", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay",
          "Stark Goods", "Wayne Living"]
CATEGORIES = [
    ["Furniture", "Living Room", "Sofas"], ["Furniture", "Office", "Desks"],
    ["Kitchen", "Appliances", "Blenders"], ["Kitchen", "Cookware", "Skillets"],
    ["Electronics", "Audio", "Headphones"], ["Electronics", "Audio", "Speakers"],
    ["Home", "Lighting", "Lamps"], ["Home", "Textiles", "Rugs"],
    ["Apparel", "Outerwear", "Jackets"], ["Outdoor", "Bags", "Backpacks"],
]
COLORS = ["red", "blue", "green", "black", "white", "grey", "emerald green", "navy", "sand"]


VECTOR_DIMS = 8
WITH_VECTORS = False


def make_product(rng, pid):
    """A catalog product with id `pid` (every field the catalog format knows; with --vectors also
    an 8-number `embedding` that the index keeps in a vector field)."""
    adj, mat, noun = rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(NOUNS)
    title = f"{adj.capitalize()} {mat} {noun}"
    if rng.random() < 0.4:
        title += " " + rng.choice(EXTRAS)
    cat = rng.choice(CATEGORIES)
    return {
        "id": pid,
        "title": title,
        "description": f"A {adj} {noun} made of {mat}, from the {rng.choice(ADJECTIVES)} range. "
                       f"{rng.choice(EXTRAS).capitalize()}.",
        "brand": rng.choice(BRANDS),
        "category": cat,
        "category_path": " > ".join(cat),
        "price": round(rng.uniform(1, 2500), 2),
        "rating": None if rng.random() < 0.1 else round(rng.uniform(1, 5), 1),
        "review_count": rng.randrange(0, 5000),
        "in_stock": rng.random() < 0.8,
        "attributes": {"color": rng.choice(COLORS), "material": mat},
    } | ({"embedding": [round(rng.uniform(-1, 1), 4) for _ in range(VECTOR_DIMS)]} if WITH_VECTORS else {})


class ChangeGenerator:
    """Generates valid-looking change lines, tracking which ids are live.

    Most deletes and sets name a live id (a third of them one touched recently,
    so changes also hit documents still in the writer's buffer or in small
    fresh segments); about 2% name an id that never existed.
    """

    def __init__(self, rng, live_ids):
        self.rng = rng
        self.live = list(live_ids)
        self.pos = {pid: i for i, pid in enumerate(self.live)}
        self.recent = []
        self.next_new = 0

    def _add(self, pid):
        if pid not in self.pos:
            self.pos[pid] = len(self.live)
            self.live.append(pid)

    def _remove(self, pid):
        i = self.pos.pop(pid)
        last = self.live.pop()
        if last != pid:
            self.live[i] = last
            self.pos[last] = i

    def _pick_live(self):
        rng = self.rng
        if self.recent and rng.random() < 0.33:
            pid = rng.choice(self.recent)
            if pid in self.pos:
                return pid
        return rng.choice(self.live) if self.live else None

    def _touch(self, pid):
        self.recent.append(pid)
        if len(self.recent) > 300:
            del self.recent[:100]

    def line(self):
        """One change as a dict (with "op")."""
        rng = self.rng
        r = rng.random()
        pid = self._pick_live()
        if r < 0.02:                      # names an id that does not exist
            ghost = f"X{rng.randrange(10**6):06d}"
            if rng.random() < 0.5:
                return {"op": "delete", "id": ghost}
            return {"op": "set", "id": ghost, "price": round(rng.uniform(1, 99), 2)}
        if r < 0.37 or pid is None:       # upsert of a new id
            pid = f"N{self.next_new:06d}"
            self.next_new += 1
            self._add(pid)
            self._touch(pid)
            return dict({"op": "upsert"}, **make_product(rng, pid))
        self._touch(pid)
        if r < 0.57:                      # upsert replacing a live id
            return dict({"op": "upsert"}, **make_product(rng, pid))
        if r < 0.72:                      # delete of a live id
            self._remove(pid)
            return {"op": "delete", "id": pid}
        c = {"op": "set", "id": pid}     # set price and/or in_stock
        k = rng.random()
        if k < 0.7:
            c["price"] = round(rng.uniform(1, 2500), 2)
        if k > 0.4:
            c["in_stock"] = rng.random() < 0.5
        return c


class Model:
    """The expected (price, in_stock) of every live id after the first `applied` lines."""

    def __init__(self, base_products, changes):
        self.docs = {p["id"]: (p["price"], p["in_stock"]) for p in base_products}
        self.changes = changes
        self.applied = 0

    def advance(self, offset):
        if offset < self.applied:
            raise ValueError(f"the model cannot go back from {self.applied} to {offset} lines")
        for c in self.changes[self.applied:offset]:
            op, pid = c["op"], c["id"]
            if op == "upsert":
                self.docs[pid] = (c.get("price"), c.get("in_stock"))
            elif op == "delete":
                self.docs.pop(pid, None)
            elif op == "set" and pid in self.docs:
                price, in_stock = self.docs[pid]
                self.docs[pid] = (c.get("price", price), c.get("in_stock", in_stock))
        self.applied = offset


# ---------------------------------------------------------------------------
# Running Aisle
# ---------------------------------------------------------------------------

COMMIT_RE = re.compile(r"^commit_(\d+)$")
SEG_RE = re.compile(r"^seg_(\d+)")
SIDE_RE = re.compile(r"^seg_\d+_g(\d+)\.")


def run(cmd, timeout=600):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def newest_commit_on_disk(index):
    gens = [int(m.group(1)) for m in map(COMMIT_RE.match, os.listdir(index)) if m]
    return max(gens) if gens else None


def read_commit(index, gen):
    """The JSON of commit file `gen` (between the binary header and footer), or None."""
    try:
        with open(os.path.join(index, f"commit_{gen}"), "rb") as f:
            b = f.read()
        return json.loads(b[b.index(b"{"):b.rindex(b"}") + 1])
    except (OSError, ValueError):
        return None


def file_stamps(index, names):
    """name -> (size, mtime) of the files that exist."""
    out = {}
    for name in names:
        try:
            st = os.stat(os.path.join(index, name))
            out[name] = (st.st_size, st.st_mtime_ns)
        except OSError:
            pass
    return out


def commit_files(meta):
    """Every file a commit references (segment files and side files)."""
    names = set()
    for seg in meta.get("segments", []):
        names.update(seg.get("files", {}))
        for side in ("deletes", "updates"):
            if seg.get(side):
                names.add(seg[side]["name"])
    return names


def guess_phase(index, gen, unreferenced, commit_every, stale, committed):
    """What the killed writer was doing, from the files it left (see the module docstring).

    `unreferenced` are the files `aisle check` found unreferenced by commit `gen`; those another
    commit on disk references (the writer keeps the previous commit's files) are not leftovers.
    `stale` holds the previous kill's leftovers (name -> (size, mtime)): those still there
    unchanged were not written by this writer (it was killed before its opening sweep).
    `committed`: whether this writer made a commit (if not, no leftovers can also mean it was
    still opening).
    """
    meta = read_commit(index, gen) or {}
    kept = set()
    for g in [int(m.group(1)) for m in map(COMMIT_RE.match, os.listdir(index)) if m]:
        kept |= commit_files(read_commit(index, g) or {})
    leftovers = file_stamps(index, [n for n in unreferenced if n not in kept])
    fresh = [n for n, st in leftovers.items() if stale.get(n) != st]
    if leftovers and not fresh:
        return "open"
    phases = set()
    segs = {}
    for name in fresh:
        side = SIDE_RE.match(name)
        if name.endswith(".tmp") or (side and int(side.group(1)) > gen):
            phases.add("commit")      # commit point or side files of the next commit
            continue
        m = SEG_RE.match(name)
        if m and not side:
            segs[int(m.group(1))] = segs.get(int(m.group(1)), 0) + leftovers[name][0]
    if segs:
        docs = sum(s.get("doc_count", 0) for s in meta.get("segments", []))
        size = sum(f.get("size", 0) for s in meta.get("segments", []) for f in s.get("files", {}).values())
        per_doc = size / docs if docs else 0
        for seg, nbytes in segs.items():
            # Ids below the commit's next_segment were reserved by a merge before the
            # commit; otherwise tell a flushed chunk (<= K docs) from a merge by size.
            if seg < meta.get("next_segment", 0) or (per_doc and nbytes / per_doc > 2 * commit_every):
                phases.add("merge")
            else:
                phases.add("commit")
    return "+".join(sorted(phases)) or ("apply" if committed else "open/apply")


class Checker:
    """Verifies the index after a kill and accumulates failure counts."""

    def __init__(self, aisle, index, model):
        self.aisle, self.index, self.model = aisle, index, model
        self.failed_opens = 0
        self.check_errors = 0
        self.lost = 0
        self.unexpected = 0
        self.mismatches = 0
        self.notes = []

    def note(self, label, text):
        self.notes.append(f"{label}: {text}")

    def check(self, label):
        """`aisle check --json`: (report or None, ok)."""
        p = run([self.aisle, "check", "--index", self.index, "--json"])
        try:
            report = json.loads(p.stdout.decode())
        except ValueError:
            self.failed_opens += 1
            self.note(label, f"check exit {p.returncode}, no report: {p.stderr.decode().strip()[:500]}")
            return None, False
        ok = p.returncode == 0 and report.get("ok") is True
        if not ok:
            self.check_errors += max(1, len(report.get("problems", [])))
            self.note(label, f"check exit {p.returncode}, problems: {report.get('problems')}")
        return report, ok

    def compare(self, label, offset, report):
        """Compares `aisle export` with the model after `offset` lines; returns (lost, unexpected, mismatched)."""
        self.model.advance(offset)
        expected = self.model.docs
        p = run([self.aisle, "export", "--index", self.index, "--fields", "price,in_stock"])
        if p.returncode != 0:
            self.failed_opens += 1
            self.note(label, f"export exit {p.returncode}: {p.stderr.decode().strip()[:500]}")
            return None
        actual = {}
        dupes = 0
        for line in p.stdout.decode().splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            if d["id"] in actual:
                dupes += 1
            actual[d["id"]] = (d.get("price"), d.get("in_stock"))
        if dupes:
            self.check_errors += dupes
            self.note(label, f"export lists {dupes} ids twice")
        lost = sorted(set(expected) - set(actual))
        unexpected = sorted(set(actual) - set(expected))
        mismatched = []
        for pid in set(expected) & set(actual):
            (ep, es), (ap, as_) = expected[pid], actual[pid]
            same_price = (ep is None and ap is None) or (
                ep is not None and ap is not None and math.isclose(float(ep), float(ap), rel_tol=1e-9, abs_tol=1e-9))
            if not same_price or es != as_:
                mismatched.append((pid, expected[pid], actual[pid]))
        if report is not None and report.get("documents") != len(actual):
            self.check_errors += 1
            self.note(label, f"check counts {report.get('documents')} live documents, export lists {len(actual)}")
        self.lost += len(lost)
        self.unexpected += len(unexpected)
        self.mismatches += len(mismatched)
        if lost:
            self.note(label, f"{len(lost)} committed documents lost after {offset} lines, e.g. {lost[:5]}")
        if unexpected:
            self.note(label, f"{len(unexpected)} unexpected documents after {offset} lines, e.g. {unexpected[:5]}")
        if mismatched:
            self.note(label, f"{len(mismatched)} value mismatches (id, expected, actual), e.g. {sorted(mismatched)[:5]}")
        return len(lost), len(unexpected), len(mismatched)

    @property
    def failures(self):
        return self.failed_opens + self.check_errors + self.lost + self.unexpected + self.mismatches


def write_lines(path, changes, append=False):
    with open(path, "a" if append else "w") as f:
        for c in changes:
            f.write(json.dumps(c, separators=(",", ":")))
            f.write("\n")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=25, help="rounds of update + kill -9 (default 25)")
    ap.add_argument("--aisle", default="/tmp/aisle-debug", help="the aisle binary (default /tmp/aisle-debug)")
    ap.add_argument("--work", help="work directory (must be empty or absent; default a fresh temp dir)")
    ap.add_argument("--seed", type=int, help="random seed (default: random; printed)")
    ap.add_argument("--base", type=int, default=3000, help="products in the base index (default 3000)")
    ap.add_argument("--changes", type=int, default=60000, help="change lines generated (default 60000)")
    ap.add_argument("--min-sleep", type=float, default=0.05, help="shortest time before a kill, s (default 0.05)")
    ap.add_argument("--max-sleep", type=float, default=1.5, help="longest time before a kill, s (default 1.5)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory after a clean run")
    ap.add_argument("--verbose", action="store_true", help="list the files each kill left behind")
    ap.add_argument("--vectors", action="store_true",
                    help="products carry an 8-number embedding kept in a vector field (a .vec file and an HNSW graph per segment)")
    args = ap.parse_args()
    global WITH_VECTORS
    WITH_VECTORS = args.vectors

    aisle = os.path.abspath(args.aisle)
    if not os.access(aisle, os.X_OK):
        sys.exit(f"crash_test: {aisle} is not an executable (see --aisle)")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**9)
    if args.work:
        work = os.path.abspath(args.work)
        if os.path.exists(work) and os.listdir(work):
            sys.exit(f"crash_test: work directory {work} is not empty")
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="aisle-crash-")
    index = os.path.join(work, "index")
    print(f"crash test: seed {seed}, {args.kills} kills, aisle {aisle}, work {work}", flush=True)

    # 1. Base index.
    rng = random.Random(seed)
    base = [make_product(rng, f"B{i:05d}") for i in range(args.base)]
    base_file = os.path.join(work, "base.jsonl")
    write_lines(base_file, base)
    p = run([aisle, "index", "--corpus", base_file, "--index", index, "--quiet"])
    if p.returncode != 0:
        sys.exit(f"crash_test: aisle index failed ({p.returncode}): {p.stderr.decode().strip()}")
    if WITH_VECTORS:
        # The built-in catalog schema plus a vector field, read back from the first commit.
        schema = (read_commit(index, 1) or {}).get("schema")
        if not schema:
            sys.exit("crash_test: cannot read the schema from the base index's first commit")
        schema["fields"].append({"name": "embedding", "type": "vector", "dims": VECTOR_DIMS, "source": "embedding",
                                 "m": 8, "ef_construction": 40})
        schema_file = os.path.join(work, "schema.json")
        with open(schema_file, "w") as f:
            json.dump(schema, f)
        shutil.rmtree(index)
        p = run([aisle, "index", "--corpus", base_file, "--index", index, "--schema", schema_file, "--quiet"])
        if p.returncode != 0:
            sys.exit(f"crash_test: aisle index --schema (vectors) failed ({p.returncode}): {p.stderr.decode().strip()}")
        if not any(n.endswith(".vec") for n in os.listdir(index)):
            sys.exit("crash_test: the vector index has no .vec file")

    # 2. Change file.
    gen = ChangeGenerator(random.Random(seed + 1), [b["id"] for b in base])
    changes = [gen.line() for _ in range(args.changes)]
    changes_file = os.path.join(work, "changes.jsonl")
    write_lines(changes_file, changes)
    ops = {}
    for c in changes:
        ops[c["op"]] = ops.get(c["op"], 0) + 1
    print(f"base index: {len(base)} products; change file: {len(changes)} lines "
          f"({', '.join(f'{n} {op}s' for op, n in sorted(ops.items()))})", flush=True)

    checker = Checker(aisle, index, Model(base, changes))
    report, ok = checker.check("base")
    if not ok:
        sys.exit(f"crash_test: the base index does not pass check: {checker.notes}")
    checker.compare("base", 0, report)
    if checker.failures:
        sys.exit(f"crash_test: the base index does not match its products: {checker.notes}")

    # 3. Kill rounds.
    krng = random.Random(seed + 2)
    offset = 0                           # change lines covered by the last commit
    round_base = {}                      # round file -> global offset it starts at
    last_gen = report.get("commit", 0)   # newest commit opened so far
    rows = []
    stale = {}                           # leftovers of the previous kill (for the phase guess)
    interrupted = 0
    for rnd in range(1, args.kills + 1):
        label = f"round {rnd}"
        if len(changes) - offset < args.changes // 2:
            # A fast binary eats the stream: continue it (same seeded generator).
            more = [gen.line() for _ in range(args.changes)]
            changes.extend(more)
            write_lines(changes_file, more, append=True)
            print(f"change file extended to {len(changes)} lines", flush=True)
        round_file = os.path.join(work, f"round_{rnd:03d}.jsonl")
        write_lines(round_file, changes[offset:])
        round_base[round_file] = offset
        k = krng.randint(50, 500)
        delay = krng.uniform(args.min_sleep, args.max_sleep)
        err_path = os.path.join(work, f"round_{rnd:03d}.stderr")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([aisle, "update", "--index", index, "--changes", round_file,
                                     "--commit-every", str(k), "--quiet"],
                                    stdout=subprocess.DEVNULL, stderr=err)
            # Watch the commit files while the writer runs: any commit that reached its
            # final name is durable and must not be lost.
            seen_gen = last_gen
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    g = newest_commit_on_disk(index)
                except OSError:
                    g = None
                if g is not None:
                    seen_gen = max(seen_gen, g)
                time.sleep(0.005)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            rc = proc.wait()
            # It may have exited between the poll and the signal: only -SIGKILL counts.
            killed = rc == -signal.SIGKILL
            if killed:
                interrupted += 1
        stderr_text = open(err_path, errors="replace").read().strip()
        if not killed and rc != 0:
            checker.failed_opens += 1
            checker.note(label, f"update exited {rc} before the kill: {stderr_text[:500]}")

        disk_gen = newest_commit_on_disk(index)
        report, ok = checker.check(label)
        row = {"round": rnd, "sleep": delay, "k": k, "killed": killed, "ok": ok,
               "gen": None, "round_lines": None, "offset": offset, "docs": None,
               "lost": "-", "unexp": "-", "mism": "-", "phase": "?"}
        if report is not None:
            gen_opened = report.get("commit")
            row["gen"] = gen_opened
            if gen_opened != disk_gen or gen_opened < seen_gen or gen_opened < last_gen:
                checker.check_errors += 1
                checker.note(label, f"opened commit {gen_opened}, but commit {disk_gen} is the newest on disk, "
                                    f"{seen_gen} was seen while the writer ran, {last_gen} opened before")
            last_gen = max(last_gen, gen_opened or 0)
            ud = report.get("user_data", {})
            cfile, clines = ud.get("changes_file"), ud.get("changes_lines")
            if cfile == round_file:
                row["round_lines"] = int(clines)
                offset = round_base[round_file] + int(clines)
            elif cfile in round_base:
                row["round_lines"] = 0
                if round_base[cfile] + int(clines) != offset:
                    checker.check_errors += 1
                    checker.note(label, f"commit {gen_opened} is from {os.path.basename(cfile)} line {clines}, "
                                        f"that is change line {round_base[cfile] + int(clines)}, "
                                        f"but change line {offset} was committed before")
            elif cfile is None:
                row["round_lines"] = 0
                if offset != 0:
                    checker.check_errors += 1
                    checker.note(label, f"commit {gen_opened} has no changes_file but {offset} lines were committed")
            else:
                checker.check_errors += 1
                checker.note(label, f"commit {gen_opened} names an unknown changes_file {cfile}")
            row["offset"] = offset
            row["docs"] = report.get("documents")
            leftovers = report.get("unreferenced", [])
            row["phase"] = guess_phase(index, gen_opened, leftovers, k, stale, cfile == round_file) if killed else "finished"
            stale = file_stamps(index, leftovers)
            if args.verbose and leftovers:
                print(f"  leftovers: {' '.join(sorted(leftovers))}")
            if not killed:
                checker.note(label, f"update finished (exit {rc}) before the kill at {delay:.2f} s")
            result = checker.compare(label, offset, report)
            if result is not None:
                row["lost"], row["unexp"], row["mism"] = result
        rows.append(row)
        print(f"round {rnd:3d}: sleep {delay:.2f} s, commit every {k:3d}, "
              f"{'killed' if killed else 'finished'}, commit {row['gen']}, +{row['round_lines']} lines "
              f"-> {offset}, {row['docs']} docs, check {'ok' if ok else 'FAILED'}, phase {row['phase']}",
              flush=True)

    # 4. Apply the rest without a kill: the index must still take writes and end exactly right.
    final = None
    if offset < len(changes):
        round_file = os.path.join(work, "final.jsonl")
        write_lines(round_file, changes[offset:])
        p = run([aisle, "update", "--index", index, "--changes", round_file, "--commit-every", "1000", "--quiet"],
                timeout=3600)
        if p.returncode != 0:
            checker.failed_opens += 1
            checker.note("final", f"update exited {p.returncode}: {p.stderr.decode().strip()[:500]}")
        report, ok = checker.check("final")
        if report is not None:
            ud = report.get("user_data", {})
            if ud.get("changes_file") != round_file or int(ud.get("changes_lines", -1)) != len(changes) - offset:
                checker.check_errors += 1
                checker.note("final", f"final commit records {ud.get('changes_file')} line {ud.get('changes_lines')}, "
                                      f"expected {round_file} line {len(changes) - offset}")
            final = (len(changes), report.get("documents"), ok, checker.compare("final", len(changes), report))

    # 5. Report.
    print()
    print(f"{'round':>5} {'sleep':>6} {'every':>5} {'result':>8} {'commit':>6} {'+lines':>6} {'lines':>6} "
          f"{'docs':>6} {'check':>5} {'lost':>4} {'unexp':>5} {'mism':>4}  phase")
    for r in rows:
        print(f"{r['round']:>5} {r['sleep']:>6.2f} {r['k']:>5} {'killed' if r['killed'] else 'finished':>8} "
              f"{str(r['gen']):>6} {str(r['round_lines']):>6} {r['offset']:>6} {str(r['docs']):>6} "
              f"{'ok' if r['ok'] else 'FAIL':>5} {str(r['lost']):>4} {str(r['unexp']):>5} {str(r['mism']):>4}  {r['phase']}")
    if final is not None:
        lines, docs, ok, res = final
        res = res or ("-", "-", "-")
        print(f"{'final':>5} {'':>6} {1000:>5} {'complete':>8} {'':>6} {'':>6} {lines:>6} {str(docs):>6} "
              f"{'ok' if ok else 'FAIL':>5} {res[0]:>4} {res[1]:>5} {res[2]:>4}")
    if checker.notes:
        print()
        for n in checker.notes:
            print(n)
    phases = {}
    for r in rows:
        if r["killed"]:
            phases[r["phase"]] = phases.get(r["phase"], 0) + 1
    print()
    print(f"{interrupted} of {len(rows)} kills interrupted a running update"
          + (f" (phases: {', '.join(f'{n} {p}' for p, n in sorted(phases.items()))})" if phases else "")
          + f"; {offset} of {len(changes)} change lines committed during the kill rounds")
    unexpected = f", {checker.unexpected} unexpected documents" if checker.unexpected else ""
    print(f"kills {len(rows)}: {checker.failed_opens} failed opens, {checker.check_errors} checksum/invariant errors, "
          f"{checker.lost} committed documents lost, {checker.mismatches} value mismatches{unexpected}")
    if checker.failures:
        print(f"FAILED (seed {seed}); work directory kept: {work}")
        return 1
    if args.keep or args.work:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
