#!/usr/bin/env python3
"""A small MongoDB wire-protocol server for tests (no mongod can be installed here).

    scripts/mongo_wire_server.py [--host 127.0.0.1] [--port 57017]

Speaks what libmongoc 1.23 needs: the legacy OP_QUERY handshake (isMaster/hello answered with
OP_REPLY), then OP_MSG (with kind-1 document sequences and the moreToCome flag). Commands:
hello/isMaster, ping, buildInfo, insert, find (filter, sort, projection-free, skip, limit,
batchSize), getMore, killCursors, update (replacement or $set, upsert, multi), delete, count,
drop, listCollections (minimal), endSessions. Filters: equality on fields (dotted paths), $in,
$nin, $ne, $gt, $gte, $lt, $lte, $exists, $and. Data lives in memory (per database and
collection) and is lost when the server stops. Python 3 standard library only: the BSON codec is
below.
"""
import argparse
import asyncio
import datetime
import itertools
import os
import signal
import struct
import sys

# MARK: - BSON


class Int64(int):
    """An int that encodes as BSON int64."""


class ObjectId:
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def __init__(self, raw=None):
        if raw is None:
            t = int(datetime.datetime.now().timestamp())
            raw = struct.pack(">I", t) + os.urandom(5) + (next(self._counter) & 0xFFFFFF).to_bytes(3, "big")
        self.raw = bytes(raw)

    def __eq__(self, o):
        return isinstance(o, ObjectId) and o.raw == self.raw

    def __hash__(self):
        return hash(self.raw)

    def __lt__(self, o):
        return self.raw < o.raw

    def __repr__(self):
        return "ObjectId(%s)" % self.raw.hex()


class DateTime(int):
    """Milliseconds since the epoch (BSON date)."""


class Binary:
    def __init__(self, subtype, data):
        self.subtype, self.data = subtype, bytes(data)

    def __eq__(self, o):
        return isinstance(o, Binary) and (o.subtype, o.data) == (self.subtype, self.data)

    def __hash__(self):
        return hash((self.subtype, self.data))


class Raw:
    """A value of a BSON type this server only carries (timestamp, decimal128, regex, ...)."""

    def __init__(self, code, data):
        self.code, self.data = code, bytes(data)

    def __eq__(self, o):
        return isinstance(o, Raw) and (o.code, o.data) == (self.code, self.data)

    def __hash__(self):
        return hash((self.code, self.data))


def _cstring(b, i):
    j = b.index(b"\x00", i)
    return b[i:j].decode("utf-8", "replace"), j + 1


def decode(b, i=0, array=False):
    """Decodes the document at b[i:]; returns (dict or list, end offset)."""
    (n,) = struct.unpack_from("<i", b, i)
    end = i + n
    i += 4
    out = {}
    while i < end - 1:
        t = b[i]
        i += 1
        key, i = _cstring(b, i)
        if t == 0x01:
            (v,) = struct.unpack_from("<d", b, i); i += 8
        elif t == 0x02:
            (ln,) = struct.unpack_from("<i", b, i)
            v = b[i + 4:i + 4 + ln - 1].decode("utf-8", "replace"); i += 4 + ln
        elif t in (0x03, 0x04):
            v, i = decode(b, i, array=(t == 0x04))
        elif t == 0x05:
            (ln,) = struct.unpack_from("<i", b, i)
            v = Binary(b[i + 4], b[i + 5:i + 5 + ln]); i += 5 + ln
        elif t == 0x07:
            v = ObjectId(b[i:i + 12]); i += 12
        elif t == 0x08:
            v = b[i] != 0; i += 1
        elif t == 0x09:
            (ms,) = struct.unpack_from("<q", b, i); v = DateTime(ms); i += 8
        elif t in (0x0A, 0x06):
            v = None
        elif t == 0x10:
            (v,) = struct.unpack_from("<i", b, i); i += 4
        elif t == 0x12:
            (v,) = struct.unpack_from("<q", b, i); v = Int64(v); i += 8
        elif t == 0x11:
            v = Raw(t, b[i:i + 8]); i += 8
        elif t == 0x13:
            v = Raw(t, b[i:i + 16]); i += 16
        elif t == 0x0B:
            p, j = _cstring(b, i); f, j = _cstring(b, j); v = Raw(t, b[i:j]); i = j
        elif t in (0x7F, 0xFF):
            v = Raw(t, b"")
        else:
            raise ValueError("unsupported BSON type 0x%02x" % t)
        out[key] = v
    if array:
        return [out[k] for k in out], end
    return out, end


def _ename(k):
    return k.encode("utf-8") + b"\x00"


def encode(doc):
    parts = []
    items = enumerate(doc) if isinstance(doc, list) else doc.items()
    for k, v in items:
        k = _ename(str(k))
        if isinstance(v, bool):
            parts.append(b"\x08" + k + (b"\x01" if v else b"\x00"))
        elif isinstance(v, DateTime):
            parts.append(b"\x09" + k + struct.pack("<q", v))
        elif isinstance(v, Int64):
            parts.append(b"\x12" + k + struct.pack("<q", v))
        elif isinstance(v, int):
            if -2**31 <= v < 2**31:
                parts.append(b"\x10" + k + struct.pack("<i", v))
            else:
                parts.append(b"\x12" + k + struct.pack("<q", v))
        elif isinstance(v, float):
            parts.append(b"\x01" + k + struct.pack("<d", v))
        elif isinstance(v, str):
            s = v.encode("utf-8")
            parts.append(b"\x02" + k + struct.pack("<i", len(s) + 1) + s + b"\x00")
        elif isinstance(v, dict):
            parts.append(b"\x03" + k + encode(v))
        elif isinstance(v, (list, tuple)):
            parts.append(b"\x04" + k + encode(list(v)))
        elif v is None:
            parts.append(b"\x0A" + k)
        elif isinstance(v, ObjectId):
            parts.append(b"\x07" + k + v.raw)
        elif isinstance(v, Binary):
            parts.append(b"\x05" + k + struct.pack("<i", len(v.data)) + bytes([v.subtype]) + v.data)
        elif isinstance(v, Raw):
            parts.append(bytes([v.code]) + k + v.data)
        else:
            raise TypeError("cannot encode %r" % (v,))
    body = b"".join(parts)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


# MARK: - Queries

_MISSING = object()


def _get(doc, path):
    cur = doc
    for p in path.split("."):
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            return _MISSING
    return cur


def _key(v):
    """Sort key across types (numbers < strings < documents < ...), roughly MongoDB's order."""
    if v is _MISSING or v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (5, v)
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    if isinstance(v, ObjectId):
        return (4, v.raw)
    if isinstance(v, DateTime):
        return (6, int(v))
    return (3, repr(v))


def _eq(a, b):
    if isinstance(a, list) and not isinstance(b, list):
        return any(_eq(x, b) for x in a)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def matches(doc, flt):
    for k, cond in flt.items():
        if k == "$and":
            if not all(matches(doc, c) for c in cond):
                return False
            continue
        if k == "$or":
            if not any(matches(doc, c) for c in cond):
                return False
            continue
        v = _get(doc, k)
        if isinstance(cond, dict) and cond and all(c.startswith("$") for c in cond):
            for op, arg in cond.items():
                if op == "$in":
                    if not any(_eq(v, a) for a in arg):
                        return False
                elif op == "$nin":
                    if any(_eq(v, a) for a in arg):
                        return False
                elif op == "$ne":
                    if _eq(v, arg):
                        return False
                elif op == "$eq":
                    if not _eq(v, arg):
                        return False
                elif op in ("$gt", "$gte", "$lt", "$lte"):
                    if v is _MISSING:
                        return False
                    a, b = _key(v), _key(arg)
                    if a[0] != b[0]:
                        return False
                    if not {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]:
                        return False
                elif op == "$exists":
                    if (v is not _MISSING) != bool(arg):
                        return False
                else:
                    raise CommandError(2, "BadValue", "unknown operator " + op)
        else:
            if v is _MISSING:
                if cond is not None:
                    return False
            elif not _eq(v, cond):
                return False
    return True


class CommandError(Exception):
    def __init__(self, code, name, msg):
        super().__init__(msg)
        self.code, self.name, self.msg = code, name, msg


# MARK: - The server


class Store:
    def __init__(self):
        self.colls = {}        # (db, coll) -> {id key: doc}
        self.cursors = {}      # id -> (ns, remaining docs)
        self.next_cursor = itertools.count(1)
        self.conn_ids = itertools.count(1)

    def coll(self, db, name):
        return self.colls.setdefault((db, name), {})

    @staticmethod
    def idkey(v):
        return (type(v).__name__, v.raw if isinstance(v, ObjectId) else repr(v))


def hello_reply(conn_id):
    return {"helloOk": True, "ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
            "localTime": DateTime(int(datetime.datetime.now().timestamp() * 1000)),
            "logicalSessionTimeoutMinutes": 30, "connectionId": conn_id, "minWireVersion": 0, "maxWireVersion": 13,
            "readOnly": False, "ok": 1.0}


def run_command(store, cmd, seqs, conn_id):
    name = next(iter(cmd))
    lname = name.lower()
    db = cmd.get("$db", "test")
    if lname in ("hello", "ismaster"):
        return hello_reply(conn_id)
    if lname in ("ping", "endsessions", "killallsessions"):
        return {"ok": 1.0}
    if lname == "buildinfo":
        return {"version": "5.0.0-wire-test", "versionArray": [5, 0, 0, 0], "ok": 1.0}
    if lname == "insert":
        c = store.coll(db, cmd[name])
        docs = cmd.get("documents") or seqs.get("documents", [])
        errors = []
        for i, d in enumerate(docs):
            if "_id" not in d:
                d = {"_id": ObjectId(), **d}
            k = store.idkey(d["_id"])
            if k in c:
                errors.append({"index": i, "code": 11000, "errmsg": "E11000 duplicate key error _id"})
                if cmd.get("ordered", True):
                    break
                continue
            c[k] = d
        r = {"n": len(docs) - len(errors), "ok": 1.0}
        if errors:
            r["writeErrors"] = errors
        return r
    if lname == "update":
        c = store.coll(db, cmd[name])
        ups = cmd.get("updates") or seqs.get("updates", [])
        n = modified = 0
        upserted = []
        for i, u in enumerate(ups):
            q, upd = u.get("q", {}), u.get("u", {})
            hits = [k for k, d in c.items() if matches(d, q)]
            if not u.get("multi"):
                hits = hits[:1]
            is_ops = isinstance(upd, dict) and upd and all(k.startswith("$") for k in upd)
            if not hits and u.get("upsert"):
                base = {k: v for k, v in q.items() if not k.startswith("$") and not isinstance(v, dict)}
                new = apply_update(base, upd) if is_ops else dict(upd)
                if "_id" not in new:
                    new = {"_id": base.get("_id", ObjectId()), **new}
                c[store.idkey(new["_id"])] = new
                upserted.append({"index": i, "_id": new["_id"]})
                n += 1
                continue
            for k in hits:
                old = c[k]
                new = apply_update(old, upd) if is_ops else {"_id": old["_id"], **{kk: vv for kk, vv in upd.items() if kk != "_id"}}
                n += 1
                if new != old:
                    modified += 1
                c[k] = new
        r = {"n": n, "nModified": modified, "ok": 1.0}
        if upserted:
            r["upserted"] = upserted
        return r
    if lname == "delete":
        c = store.coll(db, cmd[name])
        dels = cmd.get("deletes") or seqs.get("deletes", [])
        n = 0
        for d in dels:
            hits = [k for k, doc in c.items() if matches(doc, d.get("q", {}))]
            if d.get("limit", 0) == 1:
                hits = hits[:1]
            for k in hits:
                del c[k]
            n += len(hits)
        return {"n": n, "ok": 1.0}
    if lname == "find":
        c = store.coll(db, cmd[name])
        docs = [d for d in c.values() if matches(d, cmd.get("filter", {}))]
        for field, direction in reversed(list((cmd.get("sort") or {}).items())):
            docs.sort(key=lambda d: _key(_get(d, field)), reverse=direction < 0)
        docs = docs[int(cmd.get("skip", 0)):]
        limit = int(cmd.get("limit", 0) or 0)
        if limit:
            docs = docs[:abs(limit)]
        ns = "%s.%s" % (db, cmd[name])
        return cursor_reply(store, ns, docs, cmd.get("batchSize"), "firstBatch", single=bool(cmd.get("singleBatch")))
    if lname == "getmore":
        cid = int(cmd[name])
        if cid not in store.cursors:
            raise CommandError(43, "CursorNotFound", "cursor id %d not found" % cid)
        ns, rest = store.cursors.pop(cid)
        return cursor_reply(store, ns, rest, cmd.get("batchSize"), "nextBatch", cid=cid)
    if lname == "killcursors":
        killed = []
        for cid in cmd.get("cursors", []):
            if store.cursors.pop(int(cid), None) is not None:
                killed.append(Int64(cid))
        return {"cursorsKilled": killed, "cursorsNotFound": [], "cursorsAlive": [], "cursorsUnknown": [], "ok": 1.0}
    if lname == "count":
        c = store.coll(db, cmd[name])
        return {"n": sum(1 for d in c.values() if matches(d, cmd.get("query") or {})), "ok": 1.0}
    if lname == "drop":
        store.colls.pop((db, cmd[name]), None)
        return {"ok": 1.0}
    if lname == "listcollections":
        names = [c for (d, c) in store.colls if d == db]
        return {"cursor": {"id": Int64(0), "ns": db + ".$cmd.listCollections",
                           "firstBatch": [{"name": n, "type": "collection"} for n in names]}, "ok": 1.0}
    raise CommandError(59, "CommandNotFound", "no such command: '%s'" % name)


def apply_update(doc, upd):
    new = dict(doc)
    for op, fields in upd.items():
        for k, v in fields.items():
            if op == "$set":
                new[k] = v
            elif op == "$unset":
                new.pop(k, None)
            elif op == "$inc":
                new[k] = new.get(k, 0) + v
            elif op == "$setOnInsert":
                new.setdefault(k, v)
            else:
                raise CommandError(9, "FailedToParse", "unknown update operator " + op)
    return new


def cursor_reply(store, ns, docs, batch_size, key, cid=None, single=False):
    n = len(docs) if batch_size in (None, 0) else int(batch_size)
    if key == "firstBatch" and batch_size is None:
        n = 101
    batch, rest = docs[:n], docs[n:]
    if rest and not single:
        cid = cid or next(store.next_cursor)
        store.cursors[cid] = (ns, rest)
    else:
        cid = 0
    return {"cursor": {"id": Int64(cid), "ns": ns, key: batch}, "ok": 1.0}


class Connection:
    def __init__(self, store, reader, writer, log):
        self.store, self.reader, self.writer, self.log = store, reader, writer, log
        self.conn_id = next(store.conn_ids)
        self.request_ids = itertools.count(1)

    def send(self, response_to, opcode, payload):
        rid = next(self.request_ids)
        self.writer.write(struct.pack("<iiii", 16 + len(payload), rid, response_to, opcode) + payload)

    async def serve(self):
        try:
            while True:
                head = await self.reader.readexactly(16)
                length, request_id, _, opcode = struct.unpack("<iiii", head)
                body = await self.reader.readexactly(length - 16)
                if opcode == 2004:      # OP_QUERY: only the handshake and legacy commands
                    flags, = struct.unpack_from("<i", body, 0)
                    coll, i = _cstring(body, 4)
                    i += 8             # numberToSkip, numberToReturn
                    q, _ = decode(body, i)
                    if "$query" in q:
                        q = q["$query"]
                    q.setdefault("$db", coll.split(".")[0])
                    reply = self.execute(q, {})
                    self.send(request_id, 1, struct.pack("<iqii", 0, 0, 0, 1) + encode(reply))
                elif opcode == 2013:    # OP_MSG
                    flags, = struct.unpack_from("<I", body, 0)
                    end = len(body) - (4 if flags & 1 else 0)
                    i = 4
                    cmd, seqs = None, {}
                    while i < end:
                        kind = body[i]
                        i += 1
                        if kind == 0:
                            cmd, i = decode(body, i)
                        elif kind == 1:
                            (size,) = struct.unpack_from("<i", body, i)
                            sec_end = i + size
                            ident, j = _cstring(body, i + 4)
                            docs = []
                            while j < sec_end:
                                d, j = decode(body, j)
                                docs.append(d)
                            seqs[ident] = docs
                            i = sec_end
                        else:
                            raise ValueError("unknown OP_MSG section kind %d" % kind)
                    reply = self.execute(cmd, seqs)
                    if not flags & 2:   # moreToCome: no answer
                        self.send(request_id, 2013, struct.pack("<I", 0) + b"\x00" + encode(reply))
                else:
                    self.log("unsupported opcode %d; closing" % opcode)
                    break
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
            pass
        finally:
            self.writer.close()

    def execute(self, cmd, seqs):
        try:
            return run_command(self.store, cmd, seqs, self.conn_id)
        except CommandError as e:
            return {"ok": 0.0, "errmsg": e.msg, "code": e.code, "codeName": e.name}
        except Exception as e:  # noqa: BLE001
            self.log("command %r failed: %r" % (next(iter(cmd), None), e))
            return {"ok": 0.0, "errmsg": "internal error: %r" % (e,), "code": 1, "codeName": "InternalError"}


async def main_async(host, port):
    store = Store()

    def log(m):
        print("mongo-wire: " + m, file=sys.stderr, flush=True)

    async def handle(reader, writer):
        await Connection(store, reader, writer, log).serve()

    server = await asyncio.start_server(handle, host, port)
    log("listening on %s:%d" % (host, port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    async with server:
        await stop.wait()
    log("stopped")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=57017)
    a = ap.parse_args()
    asyncio.run(main_async(a.host, a.port))


if __name__ == "__main__":
    main()
