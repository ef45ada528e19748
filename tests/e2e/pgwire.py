"""A minimal PostgreSQL client for the tests' own reads and writes of a
database (harness.db_query, harness.db_exec): protocol 3.0, the simple query
protocol, text results, trust authentication only (the tests' throwaway
server, scripts/pg.sh, trusts loopback and nothing else).

Why not psql: the harness used to start one psql per query, about 75 ms
each (process, connection, backend start); a PostgreSQL test file asks
hundreds.  One connection per database, kept, asks in well under 1 ms.
Why not psycopg2: the tests run on whatever python3 the machine has, which
need not see Debian's python3-psycopg2."""

import socket
import struct


class PgError(Exception):
    """An ErrorResponse from the server (message and SQLSTATE), or a
    connection that could not be made or was lost."""

    def __init__(self, message, sqlstate=None):
        super().__init__(message)
        self.sqlstate = sqlstate


def parse_conninfo(conninfo):
    """'host=H port=P user=U dbname=D' (the form scripts/pg.sh prints)."""
    out = {}
    for part in conninfo.split():
        k, sep, v = part.partition("=")
        if not sep:
            raise PgError(f"conninfo: {part!r} is not key=value")
        out[k] = v
    return out


class Connection:
    def __init__(self, conninfo, timeout=60):
        ci = parse_conninfo(conninfo)
        self.sock = socket.create_connection((ci.get("host", "127.0.0.1"), int(ci["port"])),
                                             timeout=timeout)
        self.buf = b""
        params = {"user": ci["user"], "database": ci.get("dbname", ci["user"]),
                  "client_encoding": "UTF8", "application_name": "visura-tests"}
        body = struct.pack("!i", 196608) + b"".join(
            k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            t, msg = self._read()
            if t == b"R":
                code = struct.unpack("!i", msg[:4])[0]
                if code != 0:
                    self.close()
                    raise PgError(f"authentication method {code} asked: only trust is supported")
            elif t == b"E":
                self.close()
                raise PgError(*_error_fields(msg))
            elif t == b"Z":
                return
            # S (parameter status), K (key data), N (notice): nothing to keep

    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PgError("the server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read(self):
        head = self._recv(5)
        n = struct.unpack("!i", head[1:])[0]
        return head[:1], self._recv(n - 4)

    def query(self, sql):
        """Runs sql (one or more statements) in one simple query; returns
        the last result's rows as dicts of text (None for NULL).  Raises
        PgError on the first error (the statements of the query are then
        rolled back, as an implicit transaction; an explicit BEGIN left
        open by an error is rolled back here)."""
        data = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", len(data) + 4) + data)
        cols, rows, err = None, [], None
        while True:
            t, msg = self._read()
            if t == b"T":
                cols, rows = _row_description(msg), []
            elif t == b"D":
                rows.append(_data_row(msg, cols))
            elif t == b"E":
                err = _error_fields(msg)
            elif t == b"Z":
                if msg == b"E":      # a failed explicit transaction: end it
                    self.query("ROLLBACK")
                if err:
                    raise PgError(*err)
                return rows
            # C (complete), I (empty), N (notice), S: nothing to keep

    def close(self):
        try:
            self.sock.sendall(b"X" + struct.pack("!i", 4))
        except OSError:
            pass
        self.sock.close()


def _row_description(msg):
    n = struct.unpack("!h", msg[:2])[0]
    pos, names = 2, []
    for _ in range(n):
        end = msg.index(b"\0", pos)
        names.append(msg[pos:end].decode())
        pos = end + 1 + 18
    return names


def _data_row(msg, cols):
    n = struct.unpack("!h", msg[:2])[0]
    pos, vals = 2, []
    for _ in range(n):
        ln = struct.unpack("!i", msg[pos:pos + 4])[0]
        pos += 4
        if ln < 0:
            vals.append(None)
        else:
            vals.append(msg[pos:pos + ln].decode())
            pos += ln
    return dict(zip(cols, vals))


def _error_fields(msg):
    fields = {}
    for part in msg.split(b"\0"):
        if part:
            fields[part[:1]] = part[1:].decode(errors="replace")
    text = fields.get(b"M", "error")
    if fields.get(b"D"):
        text += " (" + fields[b"D"] + ")"
    return f"{fields.get(b'S', 'ERROR')}: {text}", fields.get(b"C")
