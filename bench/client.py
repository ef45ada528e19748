"""The benchmarks' client of visura's JSON API over HTTPS (the server's
certificate self-signed, not checked): one connection a call, the
session's cookie and CSRF token kept from the answers, as the web
interface does.  call() returns (status, body); ok() the body, and
exits on any status of 300 or more."""
import http.client, json, socket, ssl

_ctx = ssl._create_unverified_context()


def free_port():
    """A TCP port of 127.0.0.1 free now, for a server to listen on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Client:
    def __init__(self, port, timeout=3600):
        self.port, self.timeout = port, timeout
        self.cookie = self.csrf = None

    def call(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=_ctx,
                                        timeout=self.timeout)
        h = {"Content-Type": "application/json", **(headers or {})}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        c.request(method, path, raw if raw is not None else
                  (json.dumps(body) if body is not None else None), h)
        r = c.getresponse()
        data = json.loads(r.read() or b"null")
        c.close()
        if r.getheader("Set-Cookie"):
            self.cookie = r.getheader("Set-Cookie").split(";")[0]
        if isinstance(data, dict) and "csrf_token" in data:
            self.csrf = data["csrf_token"]
        return r.status, data

    def ok(self, method, path, body=None, headers=None, raw=None):
        st, data = self.call(method, path, body, headers, raw)
        if st >= 300:
            raise SystemExit(f"{method} {path}: {st} {data}")
        return data
