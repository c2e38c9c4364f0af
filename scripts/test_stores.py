"""PostgreSQL and Redis for the end-to-end scripts (scripts/browser_test.py,
scripts/analytics_sim_test.py, scripts/replica_test.py): the test command's stores when it gives them, else a pair started
with scripts/services.sh on ports of the script's own; a fresh database and an emptied Redis
database for each run."""
import os
import re
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stores(label, pg_port, redis_port):
    """(database URL, Redis URL, the services' environment to stop them with, or None)."""
    db, redis = os.environ.get("AISLE_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"), \
        os.environ.get("AISLE_TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if db and redis:
        return db, redis, None
    env = dict(os.environ, AISLE_PG_PORT=str(pg_port), AISLE_REDIS_PORT=str(redis_port))
    r = subprocess.run([os.path.join(ROOT, "scripts/services.sh"), "start"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s: scripts/services.sh start failed:\n%s" % (label, r.stderr[-2000:]))
    db = re.search(r"DATABASE_URL='([^']+)'", r.stdout).group(1)
    redis = re.search(r"REDIS_URL='([^']+)'", r.stdout).group(1)
    return db, redis, env


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fresh_redis(label, url, db):
    """Redis database `db` of the server at `url`, emptied: customer carts are keyed by customer id,
    and a fresh PostgreSQL database numbers its customers from 1 again."""
    m = re.match(r"redis://(?:[^@/]*@)?([^:/]+)(?::(\d+))?", url)
    s = socket.create_connection((m.group(1), int(m.group(2) or 6379)), timeout=10)
    s.sendall(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n*1\r\n$7\r\nFLUSHDB\r\n" % (len(str(db)), db))
    reply = b""
    while reply.count(b"\r\n") < 2:
        chunk = s.recv(100)
        if not chunk:
            break
        reply += chunk
    s.close()
    if reply.count(b"+OK") != 2:
        raise SystemExit("%s: could not empty Redis database %d: %r" % (label, db, reply))
    return re.sub(r"/\d*$", "", url.rstrip("/")) + "/%d" % db


def fresh_database(base_url, name):
    """A database `name` (dropped first if there), as a URL on the same server."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from pgwire import PG
    admin = PG(base_url)
    admin.query("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    admin.query("CREATE DATABASE %s" % name)
    admin.close()
    return re.sub(r"^(postgres(?:ql)?://[^/]+)(/[^?]*)?", r"\1/" + name, base_url)
