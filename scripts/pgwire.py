"""A minimal PostgreSQL client for the repository's Python scripts and benchmarks (the simple
query protocol over a socket; trust, password or md5 authentication; only the standard library).

    from pgwire import PG          # scripts/ on sys.path
    pg = PG("postgresql://postgres@127.0.0.1:55432/db")
    rows = pg.query("SELECT 1")    # lists of text (None for NULL); an error raises RuntimeError
    pg.query("UPDATE products SET price = $1 WHERE id = $2", ["9.99", "P1"])   # parameters, as text
"""
import hashlib
import re
import socket
import struct


class PG:
    def __init__(self, url, timeout=300):
        m = re.match(r"postgres(?:ql)?://(?:([^:@/]+)(?::([^@/]*))?@)?([^:/?]+)(?::(\d+))?(?:/([^?]*))?", url)
        if not m:
            raise SystemExit("cannot parse DATABASE_URL %s (postgresql://user[:password]@host:port/db)" % url)
        self.user, self.password = m.group(1) or "postgres", m.group(2) or ""
        self.host, self.port, self.db = m.group(3), int(m.group(4) or 5432), m.group(5) or "postgres"
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError as e:
            raise SystemExit("cannot connect to PostgreSQL at %s:%d/%s: %s" % (self.host, self.port, self.db, e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        body = struct.pack("!i", 196608) + b"user\0" + self.user.encode() + b"\0database\0" + self.db.encode() + b"\0\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            t, data = self._msg()
            if t == b"R":
                code = struct.unpack("!i", data[:4])[0]
                if code == 5:
                    salt = data[4:8]
                    inner = hashlib.md5((self.password + self.user).encode()).hexdigest()
                    self._send(b"p", ("md5" + hashlib.md5(inner.encode() + salt).hexdigest()).encode() + b"\0")
                elif code == 3:
                    self._send(b"p", self.password.encode() + b"\0")
                elif code != 0:
                    raise SystemExit("PostgreSQL asks for authentication method %d; use trust or md5" % code)
            elif t == b"E":
                raise SystemExit("PostgreSQL: " + self._err(data))
            elif t == b"Z":
                break

    def _send(self, t, body):
        self.sock.sendall(t + struct.pack("!i", len(body) + 4) + body)

    def _msg(self):
        while len(self.buf) < 5:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("PostgreSQL closed the connection")
            self.buf += d
        t, n = self.buf[:1], struct.unpack("!i", self.buf[1:5])[0]
        while len(self.buf) < 1 + n:
            d = self.sock.recv(max(65536, 1 + n - len(self.buf)))
            if not d:
                raise ConnectionError("PostgreSQL closed the connection")
            self.buf += d
        data = self.buf[5:1 + n]
        self.buf = self.buf[1 + n:]
        return t, data

    @staticmethod
    def _err(data):
        fields = dict((f[:1], f[1:].decode(errors="replace")) for f in data.split(b"\0") if f)
        return "%s %s" % (fields.get(b"C", ""), fields.get(b"M", ""))

    def send(self, sql):
        """Sends one query (its answer is read by `wait`)."""
        self._send(b"Q", sql.encode() + b"\0")

    def wait(self):
        """Reads one query's answer; returns the rows (lists of text or None)."""
        rows, err = [], None
        while True:
            t, data = self._msg()
            if t == b"D":
                n = struct.unpack("!h", data[:2])[0]
                i, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", data[i:i + 4])[0]
                    i += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(data[i:i + ln].decode())
                        i += ln
                rows.append(row)
            elif t == b"E":
                err = self._err(data)
            elif t == b"Z":
                if err:
                    raise RuntimeError(err)
                return rows

    def query(self, sql, params=None):
        """Runs `sql`; with `params` (values sent as text, None for NULL: $1, $2, ...) through the
        extended protocol, so values never become SQL text."""
        if params is None:
            self.send(sql)
        else:
            self._send(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!h", 0))
            bind = b"\0\0" + struct.pack("!hh", 0, len(params))
            for v in params:
                if v is None:
                    bind += struct.pack("!i", -1)
                else:
                    b = str(v).encode()
                    bind += struct.pack("!i", len(b)) + b
            self._send(b"B", bind + struct.pack("!h", 0))
            self._send(b"E", b"\0" + struct.pack("!i", 0))
            self._send(b"S", b"")
        return self.wait()

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return rows[0][0] if rows and rows[0] else None

    def close(self):
        try:
            self._send(b"X", b"")
            self.sock.close()
        except OSError:
            pass
