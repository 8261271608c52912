"""Real processes for the integration tests and the benchmarks (bench/harness): nginx,
esputnik-sandbox, app-inbox-fcgi and redis-server, on 127.0.0.1 and free high ports, each stopped
by its own PID; the test CA; and the one HTTP client that every test and bench/run speak through."""

import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("APP_INBOX_BIN_DIR", ROOT / ".build" / "release"))
APP_BIN = BIN_DIR / "app-inbox-fcgi"
SANDBOX_BIN = BIN_DIR / "esputnik-sandbox"
NGINX = os.environ.get("NGINX", "nginx")
FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"

API_KEY = "test-key-5f2b9c1e8d7a4b6f"
ROTATED_API_KEY = "test-key-rotated-0c9d8e7f"  # the sandbox accepts both, as during a key rotation
CONTACTS = ["alice@example.com", "+380501234567", "cust-42"] + [f"user{n}@example.com" for n in range(50)]
# A contact that tests try to obtain a token for by smuggling it past the identity params: known
# here, so that a leak would show as a real token rather than as "" for an unknown contact.
CONTACTS += ["victim@example.com"]
# Canonically equivalent but different byte strings, each its own contact (the sandbox, like
# eSputnik, compares by bytes): KELVIN SIGN vs K, and an NFC vs an NFD "é".
CONTACTS += ["K-1001", "\u212a-1001", "jos\u00e9@example.com", "jose\u0301@example.com"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{Path(proc.args[0]).name} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stops a process we started, by PID; returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def child_pids(pid):
    """The children of a process (php-fpm's workers, the supervisor's serving child); none once
    it is gone."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Processes:
    """The processes a long run starts (bench/run), each in its own session so that Ctrl-C
    reaches the run and not them; stop_all stops every one by its PID, children included."""

    def __init__(self):
        self.started = []  # (Popen, stop signal)

    def start(self, argv, log_path, env=None, stop_signal=signal.SIGTERM, cwd=None):
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=cwd)
        self.started.append((proc, stop_signal))
        return proc

    def stop(self, proc, timeout=10.0):
        for entry in list(self.started):
            if entry[0] is proc:
                self.started.remove(entry)
                self._stop(proc, entry[1], timeout)

    def stop_all(self):
        while self.started:
            self._stop(*self.started.pop(), 10.0)

    @staticmethod
    def _stop(proc, sig, timeout):
        children = child_pids(proc.pid) if proc.poll() is None else []
        stop(proc, sig, timeout)
        # php-fpm's children normally leave with their master; make sure, by their own PIDs.
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Headers(dict):
    """An answer's headers under their lower-case names, as a plain dict (so that tests can
    compare and serialize them), looked up in any case. A repeated header keeps its last value."""

    def __init__(self, pairs):
        super().__init__((name.lower(), value) for name, value in pairs)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __contains__(self, name):
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


@dataclass
class Answer:
    status: int
    headers: Headers
    body: bytes

    def json(self):
        return json.loads(self.body)


def basic_auth(user, password):
    """The Authorization header of HTTP Basic auth."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def http_request(port, path, *, method="GET", headers=None, body=None, tls=None, basic=None, host="127.0.0.1",
                 timeout=30):
    """One request on a new connection, closed afterwards. `tls`: HTTPS, trusting this CA file
    (or an ssl.SSLContext); `basic`: (user, password) for HTTP Basic auth."""
    all_headers = dict(headers or {}) | (basic_auth(*basic) if basic else {})
    if tls is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        context = tls if isinstance(tls, ssl.SSLContext) else ssl.create_default_context(cafile=str(tls))
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        return Answer(response.status, Headers(response.getheaders()), response.read())
    finally:
        conn.close()


def make_tls(directory, ca_name="app-inbox-fcgi test CA", days=2, server="server"):
    """A throwaway CA and a certificate it signed for 127.0.0.1 and localhost: ca.pem,
    {server}.pem and {server}.key in `directory`, valid for `days` (scripts/demo keeps its
    CA between runs, so it asks for longer)."""
    d = Path(directory)
    run = lambda *args: subprocess.run(args, cwd=d, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", str(days), "-subj", f"/CN={ca_name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{server}.key", "-out", f"{server}.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", f"{server}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", f"{server}.pem", "-days", str(days), "-extfile", "san.cnf")
    return d / "ca.pem", d / f"{server}.pem", d / f"{server}.key"


def nginx_config(prefix, servers, upstreams="", load=False):
    """A complete nginx.conf in its own prefix dir; `servers` is the http-level body. `load=True`
    is for bench/run: no access log to write per request, warnings only, room for thousands of
    connections, and client connections kept as long as wrk keeps them."""
    prefix = Path(prefix)
    for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would run as nobody and could not reach our files (docs/PITFALLS.md #16).
    user = "user root;" if os.geteuid() == 0 else ""
    limits = "worker_rlimit_nofile 16384;" if load else ""
    keepalive = "keepalive_requests 1000000;\n    keepalive_timeout 300s;" if load else ""
    return f"""
{user}
daemon off;
worker_processes 1;
{limits}
error_log {prefix}/error.log {"warn" if load else "info"};
pid {prefix}/nginx.pid;
events {{ worker_connections {8192 if load else 4096}; }}
http {{
    access_log {"off" if load else f"{prefix}/access.log"};
    {keepalive}
    client_body_temp_path {prefix}/body;
    fastcgi_temp_path {prefix}/fastcgi;
    proxy_temp_path {prefix}/proxy;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {upstreams}
    {servers}
}}
"""


class Nginx:
    def __init__(self, prefix, config, ports):
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(config)
        self.proc = subprocess.Popen([NGINX, "-c", str(self.conf), "-p", str(self.prefix)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.prefix / "stderr.log", "wb"))
        for port in ports:
            wait_for_port(port, proc=self.proc)

    def stop(self):
        stop(self.proc, signal.SIGQUIT)

    def error_log(self):
        return (self.prefix / "error.log").read_text(errors="replace")


# nginx in front of esputnik-sandbox (an upstream named `sandbox`): the params name the connection
# and TLS session of each call, so the sandbox can record whether the responder reused them.
SANDBOX_LOCATION = f"""location / {{
            include {FASTCGI_PARAMS};
            fastcgi_param SANDBOX_CONNECTION $connection;
            fastcgi_param SANDBOX_SSL_SESSION_REUSED $ssl_session_reused;
            fastcgi_keep_conn on;
            fastcgi_read_timeout 300s;
            fastcgi_pass sandbox;
        }}"""


class Sandbox:
    """esputnik-sandbox behind an HTTPS nginx, as the token endpoint the responder calls."""

    def __init__(self, workdir):
        self.dir = Path(workdir) / "sandbox"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca, cert, key = make_tls(self.dir)
        (self.dir / "contacts.txt").write_text("# known contacts\n" + "\n".join(CONTACTS) + "\n",
                                                  encoding="utf-8")
        self.fcgi_port = free_port()
        self.port = free_port()
        self.log_path = self.dir / "sandbox.log"
        self.proc = subprocess.Popen(
            [str(SANDBOX_BIN), "--listen", f"127.0.0.1:{self.fcgi_port}", "--threads", "128",
             "--api-key", API_KEY, "--api-key", ROTATED_API_KEY, "--contacts", str(self.dir / "contacts.txt")],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"))
        wait_for_port(self.fcgi_port, proc=self.proc)
        servers = f"""
    upstream sandbox {{ server 127.0.0.1:{self.fcgi_port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        keepalive_requests 100000;
        {SANDBOX_LOCATION}
    }}"""
        self.nginx = Nginx(self.dir / "nginx", nginx_config(self.dir / "nginx", servers), [self.port])
        self.token_url = f"https://127.0.0.1:{self.port}/v1/auth/contact/token"
        self._tls = ssl.create_default_context(cafile=str(self.ca))

    def _call(self, path):
        answer = http_request(self.port, path, method="POST", tls=self._tls, timeout=10)
        assert answer.status == 200, (path, answer.status, answer.body)
        return answer.body

    def fault(self, **params):
        from urllib.parse import urlencode
        self._call("/_sandbox/fault?" + urlencode(params))

    def reset(self):
        self._call("/_sandbox/reset")

    def requests(self):
        return json.loads(self._call("/_sandbox/requests"))

    def stop(self):
        self.nginx.stop()
        stop(self.proc)


def run_cli(args, env, **kwargs):
    """Runs app-inbox-fcgi once (a subcommand, or a server expected to stop by itself)."""
    return subprocess.run([str(APP_BIN), *args], env=env, capture_output=True, text=True, timeout=30, **kwargs)


def cli_env(sandbox):
    """The least environment the CLI needs to reach the sandbox."""
    return {"PATH": os.environ["PATH"], "APP_INBOX_API_KEY": API_KEY, "APP_INBOX_TOKEN_URL": sandbox.token_url,
            "APP_INBOX_CA_FILE": str(sandbox.ca)}


def serving_pid(pid):
    """The serving child of app-inbox-fcgi's supervisor (the process that holds requests); the
    process itself when it serves alone (--no-supervise, systemd)."""
    children = child_pids(pid)
    return children[0] if children else pid


def app_env(sandbox, env=None):
    """The responder's environment in tests: the sandbox as eSputnik, debug logs, no rate limit.
    `env` adds or overrides variables; a value of None removes one."""
    merged = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "APP_INBOX_API_KEY": API_KEY,
        "APP_INBOX_TOKEN_URL": sandbox.token_url,
        "APP_INBOX_CA_FILE": str(sandbox.ca),
        "APP_INBOX_TIMEOUT_MS": "2000",
        "APP_INBOX_LOG_LEVEL": "debug",
        # Tests ask for the same users many times a minute; test_resilience turns the limit on.
        "APP_INBOX_RATE_LIMIT_PER_MIN": "0",
    }
    merged.update(env or {})
    return {k: v for k, v in merged.items() if v is not None}


class Responder:
    """app-inbox-fcgi alone on 127.0.0.1, no web server in front: for tests that speak FastCGI
    themselves and send what nginx never would."""

    def __init__(self, workdir, sandbox, env=None, threads=4):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "app.log"
        self.env = app_env(sandbox, env)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(APP_BIN), "--listen", f"127.0.0.1:{self.port}", "--threads", str(threads)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"))
        self.pid = self.proc.pid
        try:
            wait_for_port(self.port, proc=self.proc)
        except RuntimeError:
            stop(self.proc)
            raise RuntimeError(f"app-inbox-fcgi did not start:\n{self.log()}")

    def alive(self):
        return self.proc.poll() is None

    def processes(self):
        """The PIDs of the responder and its living descendants: if it serves through child
        processes, a child that crashed and was replaced shows up as a changed set."""
        children = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                state, ppid = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            if state != "Z":
                children.setdefault(int(ppid), []).append(int(entry))
        found, todo = set(), [self.pid] if self.alive() else []
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo += children.get(pid, [])
        return found

    def status_kib(self, field):
        """A size field of /proc/PID/status (VmRSS, VmHWM, ...) in KiB, summed over the
        responder's processes."""
        total = 0
        for pid in self.processes():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        return total

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        return stop(self.proc, sig, timeout)


def identity_location(upstream, keep_conn=True):
    """The front nginx's `location /` for the responders in `upstream`: it trusts the X-Test-*
    request headers as the validated identity, a test-only stand-in for the site's login (see
    nginx/app-inbox.conf for production mappings)."""
    keep = "fastcgi_keep_conn on;" if keep_conn else ""
    return f"""location / {{
            include {FASTCGI_PARAMS};
            fastcgi_param INBOX_EMAIL $http_x_test_email;
            fastcgi_param INBOX_PHONE $http_x_test_phone;
            fastcgi_param INBOX_EXTERNAL_CUSTOMER_ID $http_x_test_external_id;
            # Echoes the identity the answer was for, so load tests can check every token's owner.
            add_header X-Test-Echo-Email $http_x_test_email always;
            {keep}
            fastcgi_read_timeout 30s;
            fastcgi_pass {upstream};
        }}"""


class App:
    """app-inbox-fcgi with its own front nginx on a free port.

    The front nginx trusts the X-Test-* request headers as the validated identity: a test-only
    stand-in for the site's login (see nginx/app-inbox.conf for production mappings), plus a
    second server that takes the identity from HTTP Basic auth as REMOTE_USER."""

    def __init__(self, workdir, sandbox, env=None, threads=16, listen="tcp", launcher=None, keep_conn=True,
                 args=(), keepalive=8):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "app.log"
        self.env = app_env(sandbox, env)
        if listen == "unix":
            self.socket_path = str(self.dir / "app.sock")
            address, upstream = f"unix:{self.socket_path}", f"unix:{self.socket_path}"
        else:
            self.fcgi_port = free_port()
            address, upstream = f"127.0.0.1:{self.fcgi_port}", f"127.0.0.1:{self.fcgi_port}"
        if launcher == "spawn-fcgi":
            # spawn-fcgi binds the socket and passes it on fd 0, as mod_fcgid does.
            command = ["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(self.fcgi_port), "--",
                       str(APP_BIN), "--threads", str(threads)]
        else:
            command = [str(APP_BIN), "--listen", address, "--threads", str(threads), *args]
        self.proc = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "wb"))
        if listen == "unix":
            deadline = time.monotonic() + 10
            while not os.path.exists(self.socket_path):
                assert self.proc.poll() is None, self.log()
                assert time.monotonic() < deadline
                time.sleep(0.02)
        else:
            wait_for_port(self.fcgi_port, proc=self.proc)
        self.port = free_port()
        self.basic_port = free_port()
        htpasswd = self.dir / "htpasswd"
        hashed = subprocess.run(["openssl", "passwd", "-apr1", "secret"], check=True, capture_output=True,
                                text=True).stdout.strip()
        htpasswd.write_text(f"alice@example.com:{hashed}\n")
        keep = "fastcgi_keep_conn on;" if keep_conn else ""
        keepalive = f"keepalive {keepalive};" if keep_conn else ""
        upstreams = f"upstream app {{ server {upstream}; {keepalive} }}"
        servers = f"""
    server {{
        listen 127.0.0.1:{self.port};
        keepalive_requests 100000;
        {identity_location("app", keep_conn)}
    }}
    server {{
        listen 127.0.0.1:{self.basic_port};
        location /app-inbox/ {{
            auth_basic "site";
            auth_basic_user_file {htpasswd};
            include {FASTCGI_PARAMS};
            fastcgi_param INBOX_EMAIL $remote_user;
            {keep}
            fastcgi_pass app;
        }}
    }}"""
        self.nginx = Nginx(self.dir / "nginx", nginx_config(self.dir / "nginx", servers, upstreams),
                           [self.port, self.basic_port])

    def get(self, path="/app-inbox/token", email=None, phone=None, external_id=None, method="GET",
            body=None, headers=None, basic=None, port=None, timeout=30):
        """One request through the front nginx; returns (status, Headers, body bytes)."""
        identity = {"X-Test-Email": email, "X-Test-Phone": phone, "X-Test-External-Id": external_id}
        all_headers = dict(headers or {}) | {name: value for name, value in identity.items() if value is not None}
        answer = http_request(port or self.port, path, method=method, headers=all_headers, body=body, basic=basic,
                              timeout=timeout)
        return answer.status, answer.headers, answer.body

    def token(self, email=None, **kwargs):
        status, headers, body = self.get(email=email, **kwargs)
        return status, json.loads(body) if body else None

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        code = stop(self.proc, sig)
        self.nginx.stop()
        return code


REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


class RedisError(Exception):
    """An error reply from Redis (`-ERR …`)."""


def _resp_command(args):
    """One command in RESP, Redis's wire format: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts += [b"$%d\r\n" % len(data), data, b"\r\n"]
    return b"".join(parts)


def _resp_reply(reader):
    """One RESP2 reply: str for a status, int, bytes or None for a bulk string, a list for an
    array; an error reply is returned as a RedisError, for the caller to raise."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RedisError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        return None if int(rest) < 0 else reader.read(int(rest) + 2)[:-2]
    if kind == b"*":
        return None if int(rest) < 0 else [_resp_reply(reader) for _ in range(int(rest))]
    raise ConnectionError(f"not a RESP reply: {line[:80]!r}")


def _flatten(value):
    """A reply of any shape as bytes, for searching it (fields, members and scores joined)."""
    if isinstance(value, list):
        return b"\n".join(_flatten(item) for item in value)
    if isinstance(value, bytes):
        return value
    return b"" if value is None else str(value).encode()


class Redis:
    """redis-server on 127.0.0.1 and a free port, optionally also on a unix socket, keeping
    nothing on disk; the fleet tests kill, stall and restart it under running responders.
    `command` speaks RESP to it directly, over a new connection each time."""

    def __init__(self, directory, unix_socket=False, password=None, start=True):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()  # kept across restarts: the responders' URL names it
        # Short on purpose: a unix socket's path may have at most 107 bytes.
        self.socket_path = str(self.dir / "redis.sock") if unix_socket else None
        self.password = password
        self.log_path = self.dir / "redis.log"
        self.proc = None
        if start:
            self.start()

    def url(self, db=0, unix=False):
        """The APP_INBOX_REDIS_URL that reaches this server."""
        if unix:
            return f"unix://{self.socket_path}?db={db}"
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self, timeout=10.0):
        """Starts the server (again, on the same port and socket) and waits until PING answers."""
        assert not self.running(), "redis-server is already running"
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError(f"{REDIS_SERVER} is missing: scripts/install-deps --test installs redis-server")
        argv = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", str(self.dir), "--enable-debug-command", "local"]
        if self.socket_path:
            argv += ["--unixsocket", self.socket_path, "--unixsocketperm", "700"]
        if self.password:
            argv += ["--requirepass", self.password]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{self.log()[-2000:]}")
            try:
                if self.command("PING", timeout=0.5) == "PONG":
                    return
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING on {self.port} after {timeout}s")
            time.sleep(0.02)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def command(self, *args, db=None, timeout=5.0):
        """Runs one command, e.g. command("CLIENT", "PAUSE", 2000, "ALL"), and returns its reply;
        raises RedisError for an error reply. `db` selects a database first."""
        prelude = ([("AUTH", self.password)] if self.password else []) + ([("SELECT", db)] if db is not None else [])
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            conn.sendall(b"".join(_resp_command(c) for c in [*prelude, args]))
            with conn.makefile("rb") as reader:
                replies = [_resp_reply(reader) for _ in range(len(prelude) + 1)]
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        return replies[-1]

    def contents(self, db=0):
        """Every key of a database with its value as bytes (fields, members and scores joined):
        what someone who can read this Redis sees."""
        readers = {"string": ["GET"], "hash": ["HGETALL"], "list": ["LRANGE", 0, -1], "set": ["SMEMBERS"],
                   "zset": ["ZRANGE", 0, -1, "WITHSCORES"], "stream": ["XRANGE", "-", "+"]}
        found = {}
        for key in self.command("KEYS", "*", db=db):
            kind = self.command("TYPE", key, db=db)
            if kind in readers:  # "none": expired meanwhile
                name, *extra = readers[kind]
                found[key] = _flatten(self.command(name, key, *extra, db=db))
        return found

    def kill(self):
        """SIGKILL, as a crash or an OOM kill ends it: no goodbye to any client."""
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        if self.running():
            self.stop()
        self.start()

    def stop(self):
        if self.proc is not None:
            stop(self.proc, timeout=5.0)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def write_cache_key(path, size=32):
    """A fleet's shared cache secret as an operator makes one (`openssl rand -hex 32 > FILE`):
    2 × `size` hex digits and a newline."""
    Path(path).write_text(os.urandom(size).hex() + "\n")
    return Path(path)


class Fleet:
    """Responders in fleet mode, sharing one Redis and one cache key file, each alone on
    127.0.0.1, behind one front nginx whose upstream round-robins across them. Each responder
    can also be reached alone, through a server of the same nginx of its own: `host=1` … `size`.

    The front nginx trusts the X-Test-* request headers as the identity, as App's does."""

    def __init__(self, workdir, sandbox, redis_url, env=None, size=3, threads=4, key_file=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key_file = key_file or write_cache_key(self.dir / "cache.key")
        self.env = {"APP_INBOX_REDIS_URL": redis_url, "APP_INBOX_CACHE_KEY_FILE": str(self.key_file)} | (env or {})
        self.hosts = list(range(1, size + 1))
        self.responders = []
        self.nginx = None
        try:
            for host in self.hosts:
                self.responders.append(Responder(self.dir / f"host{host}", sandbox, env=self.env, threads=threads))
            self.port = free_port()
            self.host_ports = {host: free_port() for host in self.hosts}
            members = " ".join(f"server 127.0.0.1:{r.port};" for r in self.responders)
            upstreams = f"upstream app {{ {members} keepalive 8; }}\n" + "\n".join(
                f"    upstream host{host} {{ server 127.0.0.1:{r.port}; keepalive 4; }}"
                for host, r in zip(self.hosts, self.responders))
            servers = "\n".join(
                f"""
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 100000;
        {identity_location(upstream)}
    }}""" for port, upstream in [(self.port, "app")] + [(self.host_ports[h], f"host{h}") for h in self.hosts])
            self.nginx = Nginx(self.dir / "nginx", nginx_config(self.dir / "nginx", servers, upstreams),
                               [self.port, *self.host_ports.values()])
        except BaseException:
            self.stop()
            raise

    def responder(self, host):
        return self.responders[host - 1]

    def get(self, path="/app-inbox/token", email=None, host=None, headers=None, timeout=10):
        """One request, to responder `host` alone or (host=None) through the round robin;
        returns (status, Headers, body bytes) as App.get does."""
        all_headers = dict(headers or {}) | ({"X-Test-Email": email} if email is not None else {})
        answer = http_request(self.host_ports[host] if host else self.port, path, headers=all_headers,
                              timeout=timeout)
        return answer.status, answer.headers, answer.body

    def token(self, email, host=None, fresh=False, **kwargs):
        status, _, body = self.get("/app-inbox/token" + ("?fresh=1" if fresh else ""), email=email, host=host,
                                   **kwargs)
        return status, json.loads(body) if body else None

    def status(self, host):
        """GET /app-inbox/status of one responder (each keeps its own counters)."""
        status, _, body = self.get("/app-inbox/status", host=host)
        assert status == 200, (host, status, body)
        return json.loads(body)

    def log(self, host):
        return self.responder(host).log()

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
        for responder in self.responders:
            responder.stop()


def nginx_passing(workdir, identity, fastcgi_pass):
    """nginx with one location that includes fastcgi_params, then sets `identity` (the
    fastcgi_param line that names the signed-in user) and passes to `fastcgi_pass`; returns it
    and its port."""
    port = free_port()
    servers = f"""
    server {{
        listen 127.0.0.1:{port};
        location /app-inbox/ {{
            include {FASTCGI_PARAMS};
            {identity}
            fastcgi_pass {fastcgi_pass};
        }}
    }}"""
    return Nginx(Path(workdir) / "nginx", nginx_config(Path(workdir) / "nginx", servers), [port]), port


def nginx_for_socket(workdir, socket_path):
    """nginx in front of a responder's unix socket, as README's nginx recipe with the systemd
    socket (the X-Test-Email header standing in for the site's login); returns it and its port."""
    return nginx_passing(workdir, "fastcgi_param INBOX_EMAIL $http_x_test_email;", f"unix:{socket_path}")
