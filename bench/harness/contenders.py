"""What bench/run measures: each contender's spec, and one class per kind that starts it behind
the front nginx."""

import base64
import glob
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stack import FASTCGI_PARAMS, child_pids, free_port, wait_for_port

from . import API_KEY, BENCH, EXCHANGE_IDENTITIES, HIT_IDENTITIES, LATENCY_MS, TOKEN_BODY, signed

PHP_SCRIPT = BENCH / "php" / "token.php"
C_SOURCE = BENCH / "c-responder" / "responder.c"


@dataclass(frozen=True)
class Binaries:
    """The programs one run measures, copied at its start so that a rebuild meanwhile changes
    nothing: app-inbox-fcgi, esputnik-sandbox, the `make static` build when there is one, and the
    C responder, compiled per run."""
    app: Path
    sandbox: Path
    static: Path = None
    c_responder: Path = None


@dataclass(frozen=True)
class ContenderSpec:
    key: str
    label: str
    kind: str                 # "nginx", "c", "app", "fleet", "php" or "standin": the class that starts it (KINDS)
    keep_conn: bool           # fastcgi_keep_conn; None for nginx answering itself
    upstream: str = None      # "fixed" or "sandbox": which eSputnik stand-in it exchanges with
    cache: bool = False
    threads: int = None       # instead of --threads
    extra: bool = False       # an experiment, run only when named in --only
    args: tuple = ()          # more arguments for the responder
    pool: int = None          # nginx's upstream keepalive pool; None: half the worker count
    idle: int = 0             # then hold this many idle kept connections (bench/harness/idle.py)
    signed: str = None        # users sign in with a signed identity cookie of this algorithm
    cold: bool = False        # … a new token each time, so that each is verified in full
    hosts: int = 3            # kind "fleet": responders behind the one upstream …
    redis: bool = True        # … sharing a redis-server (False: each on its own, for comparison)

    @property
    def mode(self):
        return "-" if self.keep_conn is None else ("on" if self.keep_conn else "off")


POOL = 1024
IDLE_CONNECTIONS = 10_000
LAT8_LEVELS = [256, 1024]
_APP_LAT = f"app-inbox-fcgi, sandbox +{LATENCY_MS} ms"
_PHP_LAT = f"php-fpm + php-curl, sandbox +{LATENCY_MS} ms"
CONTENDERS = {spec.key: spec for spec in [
    ContenderSpec("nginx", "nginx return 200", "nginx", None),
    ContenderSpec("c-keep", "C libfcgi responder", "c", True),
    ContenderSpec("c-nokeep", "C libfcgi responder", "c", False),
    # The C responder with app-inbox-fcgi's FCGX_FFlush before FCGX_Finish_r: two writes per answer.
    ContenderSpec("c-flush-keep", "C responder + FCGX_FFlush before Finish", "c", True, extra=True,
                  args=("--flush",)),
    ContenderSpec("app-hit-keep", "app-inbox-fcgi, cache hit", "app", True, "fixed", cache=True),
    ContenderSpec("app-hit-nokeep", "app-inbox-fcgi, cache hit", "app", False, "fixed", cache=True),
    # The same cache hit with the user in a signed identity cookie that the responder verifies
    # (README.md "Signed identity") instead of a param the front nginx sets.
    ContenderSpec("app-hit-signed-hs256", "app-inbox-fcgi, cache hit, HS256 cookie", "app", True, "fixed", cache=True,
                  signed="HS256"),
    ContenderSpec("app-hit-signed-eddsa", "app-inbox-fcgi, cache hit, EdDSA cookie", "app", True, "fixed", cache=True,
                  signed="EdDSA"),
    # Every request with a token not seen before: the full verification's cost per algorithm.
    *[ContenderSpec(f"app-hit-signed-{alg.lower()}-cold", f"app-inbox-fcgi, cache hit, {alg} cookie, each token new",
                    "app", True, "fixed", cache=True, signed=alg, cold=True) for alg in ("HS256", "EdDSA", "ES256", "RS256")],
    # nginx's keepalive pool at least the concurrency, as the README recommends now that a kept
    # connection costs the responder a descriptor, not a thread: connections are really kept.
    # The responder runs its default, one worker per core; the C ceiling its best, --threads.
    ContenderSpec("c-keep-pool", f"C libfcgi responder, pool {POOL}", "c", True, pool=POOL),
    ContenderSpec("app-hit-keep-pool", f"app-inbox-fcgi, cache hit, pool {POOL}", "app", True, "fixed", cache=True,
                  pool=POOL, idle=IDLE_CONNECTIONS, threads=os.cpu_count()),
    # Fleet mode (README.md "Scaling out"): three responders behind one nginx upstream sharing one
    # redis-server, all on these two cores; the cache hit costs a Redis round trip (the rate
    # limit and the cache in one script), an exchange three (admit, lead, finish).
    # nginx's pool as the single-host rows have it (half their 32 workers), not half of one worker.
    ContenderSpec("app-fleet-hit", "app-inbox-fcgi fleet of 3 + Redis, cache hit", "fleet", True, "fixed", cache=True,
                  threads=1, pool=16),
    ContenderSpec("app-fleet-exch", "app-inbox-fcgi fleet of 3 + Redis, exchange", "fleet", True, "fixed", threads=1,
                  pool=16),
    # Where the fleet's cost goes: one responder with Redis, and three without.
    ContenderSpec("app-fleet1-hit", "app-inbox-fcgi + Redis, cache hit", "fleet", True, "fixed", cache=True, hosts=1,
                  extra=True),
    ContenderSpec("app-three-hit", "3 × app-inbox-fcgi, no Redis, cache hit", "fleet", True, "fixed", cache=True,
                  threads=1, pool=16, redis=False, extra=True),
    ContenderSpec("app-exch-keep", "app-inbox-fcgi, exchange", "app", True, "fixed"),
    ContenderSpec("app-exch-nokeep", "app-inbox-fcgi, exchange", "app", False, "fixed"),
    ContenderSpec("php-keep", "php-fpm + php-curl, exchange", "php", True, "fixed"),
    ContenderSpec("php-nokeep", "php-fpm + php-curl, exchange", "php", False, "fixed"),
    ContenderSpec("app-lat", _APP_LAT, "app", True, "sandbox"),
    ContenderSpec("php-lat", _PHP_LAT, "php", True, "sandbox"),
    # Little's law: N workers serve at most N / latency requests per second, so the latency-bound
    # target at 64 connections needs 64 workers; these run the same with 64 threads / children.
    ContenderSpec("app-lat64", _APP_LAT, "app", True, "sandbox", threads=64),
    ContenderSpec("php-lat64", _PHP_LAT, "php", True, "sandbox", threads=64),
    ContenderSpec("app-rss64", "app-inbox-fcgi, exchange", "app", True, "fixed", threads=64),
    # Exchanges wait in the curl event loop, not in threads: 8 workers at 256 and 1,024
    # connections, with nginx's pool at the concurrency (LAT8_LEVELS; bench/run).
    ContenderSpec("app-lat8", _APP_LAT + ", pool " + str(POOL), "app", True, "sandbox", threads=8, pool=POOL),
    # wrk straight at the stand-in (nginx + esputnik-sandbox +50 ms) at the same levels: what two
    # cores give when nothing stands between wrk and eSputnik, app-lat8's other yardstick.
    ContenderSpec("standin-lat", f"eSputnik stand-in alone, +{LATENCY_MS} ms", "standin", None, "sandbox"),
]}


def php_fpm_binary():
    found = sorted(glob.glob("/usr/sbin/php-fpm*"))
    return found[-1] if found else None


def build_c_responder(workdir, with_curl=False):
    binary = Path(workdir) / ("c-responder-curl" if with_curl else "c-responder")
    flags = ["-DWITH_CURL"] if with_curl else []
    libraries = ["-lfcgi", "-lcurl"] if with_curl else ["-lfcgi"]
    subprocess.run(["cc", "-O2", "-pthread", *flags, "-o", str(binary), str(C_SOURCE), *libraries], check=True)
    return binary


class Contender:
    """One contender at its levels: a FastCGI responder on its own port and a server for it in
    the front nginx, the same FastCGI settings for every kind."""

    def __init__(self, spec, threads, levels):
        self.spec = spec
        self.key, self.label, self.kind, self.upstream = spec.key, spec.label, spec.kind, spec.upstream
        self.mode = spec.mode
        self.threads = spec.threads or threads
        self.levels = levels
        self.identities = HIT_IDENTITIES if spec.cache or self.kind in ("nginx", "c") else EXCHANGE_IDENTITIES
        self.fcgi_port = free_port()
        self.front_port = free_port()
        self.proc = None

    def front_server(self):
        name = "fcgi_" + self.key.replace("-", "_")
        size = self.spec.pool or max(1, self.threads // 2)
        pool = f"keepalive {size}; keepalive_requests 1000000;" if self.spec.keep_conn else ""
        keep = "fastcgi_keep_conn on;" if self.spec.keep_conn else ""
        servers = " ".join(f"server 127.0.0.1:{port};" for port in self.fcgi_ports())
        return f"""
    upstream {name} {{ {servers} {pool} }}
    server {{
        listen 127.0.0.1:{self.front_port};
        location / {{
            include {FASTCGI_PARAMS};
            fastcgi_param SCRIPT_FILENAME {PHP_SCRIPT};
            # A test stand-in for the site's login: the signed-in user from a request header.
            fastcgi_param INBOX_EMAIL $http_x_bench_email;
            {keep}
            fastcgi_read_timeout 30s;
            fastcgi_pass {name};
        }}
    }}"""

    def fcgi_ports(self):
        return [self.fcgi_port]

    def pids(self):
        if self.proc is None:
            return []
        # php-fpm's master and workers; app-inbox-fcgi's supervisor and its serving child.
        return [self.proc.pid] + child_pids(self.proc.pid)

    def stop(self, procs):
        if self.proc is not None:
            procs.stop(self.proc)

    def start(self, procs, workdir, upstream, binaries):
        """Starts the responder and waits until it takes connections."""
        directory = Path(workdir) / self.key
        directory.mkdir()
        self.proc = self.launch(procs, directory, upstream, binaries)
        wait_for_port(self.fcgi_port, timeout=15.0, proc=self.proc)

    def launch(self, procs, directory, upstream, binaries):
        raise NotImplementedError

    def wrk_env(self):
        """More environment for bench/wrk.lua (BENCH_TOKENS: sign in with these cookies)."""
        return {}

    def listen_args(self):
        return ["--listen", f"127.0.0.1:{self.fcgi_port}", "--threads", str(self.threads), *self.spec.args]


class NginxContender(Contender):
    """nginx answering the token itself: the ceiling of the front nginx and wrk."""

    def front_server(self):
        return f"""
    server {{
        listen 127.0.0.1:{self.front_port};
        location / {{
            default_type application/json;
            add_header Cache-Control "no-store, private";
            add_header X-Content-Type-Options nosniff;
            return 200 '{TOKEN_BODY}';
        }}
    }}"""

    def start(self, procs, workdir, upstream, binaries):
        (Path(workdir) / self.key).mkdir()


class StandinContender(Contender):
    """No responder: wrk asks the eSputnik stand-in directly (bench/wrk.lua, BENCH_DIRECT_AUTH)."""

    def front_server(self):
        return ""

    def start(self, procs, workdir, upstream, binaries):
        (Path(workdir) / self.key).mkdir()
        self.direct = (upstream.token_url("sandbox"), "Basic " + base64.b64encode(f"app-inbox-fcgi:{API_KEY}".encode()).decode())


class CContender(Contender):
    """bench/c-responder: libfcgi answering a fixed token, the FastCGI ceiling."""

    def launch(self, procs, directory, upstream, binaries):
        return procs.start([str(binaries.c_responder), *self.listen_args()], directory / "responder.log")


class AppContender(Contender):
    tokens = None

    def launch(self, procs, directory, upstream, binaries):
        env = upstream.app_env(self.upstream, cache=self.spec.cache)
        if self.spec.signed:
            extra, self.tokens = signed.prepare(self.spec.signed, self.identities, directory, cold=self.spec.cold)
            env = {**env, **extra}
        return procs.start([str(binaries.app), *self.listen_args()], directory / "responder.log", env=env)

    def wrk_env(self):
        return {"BENCH_TOKENS": str(self.tokens)} if self.tokens else {}


class FleetContender(AppContender):
    """Three app-inbox-fcgi processes in fleet mode behind one nginx upstream (round robin), with
    one redis-server on a unix socket: several hosts' responders, squeezed onto this machine.
    The fleet's budget is set far above what the fixed upstream answers, so that the exchange
    row measures the Redis round trips, not the budget."""

    def __init__(self, spec, threads, levels):
        super().__init__(spec, threads, levels)
        self.ports = [self.fcgi_port] + [free_port() for _ in range(spec.hosts - 1)]
        self.hosts = []
        self.redis = None

    def fcgi_ports(self):
        return self.ports

    def start(self, procs, workdir, upstream, binaries):
        directory = Path(workdir) / self.key
        directory.mkdir()
        if not self.spec.redis:
            env = upstream.app_env(self.upstream, cache=self.spec.cache)
            for port in self.ports:
                argv = [str(binaries.app), "--listen", f"127.0.0.1:{port}", "--threads", str(self.threads)]
                self.hosts.append((procs.start(argv, directory / f"responder-{port}.log", env=env), None))
            self.proc = self.hosts[0][0]
            for (host, _), port in zip(self.hosts, self.ports):
                wait_for_port(port, timeout=15.0, proc=host)
            return
        socket = directory / "redis.sock"
        self.redis = procs.start(["redis-server", "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
                                  "--save", "", "--appendonly", "no", "--dir", str(directory)], directory / "redis.log")
        deadline = time.monotonic() + 10
        while not socket.exists():
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(directory / 'redis.log').read_text()}")
            time.sleep(0.02)
        secret = directory / "fleet.key"
        secret.write_text(os.urandom(32).hex())
        secret.chmod(0o600)
        env = {**upstream.app_env(self.upstream, cache=self.spec.cache), "APP_INBOX_REDIS_URL": f"unix://{socket}",
               "APP_INBOX_CACHE_KEY_FILE": str(secret), "APP_INBOX_UPSTREAM_RPS": "100000"}
        for index, port in enumerate(self.ports):
            log = directory / f"responder-{index}.log"
            argv = [str(binaries.app), "--listen", f"127.0.0.1:{port}", "--threads", str(self.threads)]
            self.hosts.append((procs.start(argv, log, env=env), log))
        self.proc = self.hosts[0][0]
        for (host, log), port in zip(self.hosts, self.ports):
            wait_for_port(port, timeout=15.0, proc=host)
            while "redis_up" not in log.read_text(errors="replace"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a fleet responder did not reach Redis: {log.read_text()}")
                time.sleep(0.02)

    def pids(self):
        pids = [self.redis.pid] if self.redis else []
        for host, _ in self.hosts:
            pids += [host.pid] + child_pids(host.pid)
        return pids

    def stop(self, procs):
        for host, _ in self.hosts:
            procs.stop(host)
        if self.redis is not None:
            procs.stop(self.redis)


class PhpContender(Contender):
    """php-fpm running bench/php/token.php, the same exchange with php-curl."""

    def launch(self, procs, directory, upstream, binaries):
        conf = directory / "php-fpm.conf"
        root = "user = root\ngroup = root\n" if os.geteuid() == 0 else ""
        conf.write_text(f"""[global]
pid = {directory}/php-fpm.pid
error_log = {directory}/php-fpm.log
daemonize = no
[bench]
{root}listen = 127.0.0.1:{self.fcgi_port}
listen.backlog = 1024
pm = static
pm.max_children = {self.threads}
pm.max_requests = 0
clear_env = yes
env[BENCH_TOKEN_URL] = {upstream.token_url(self.upstream)}
env[BENCH_API_KEY] = {API_KEY}
env[BENCH_CA_FILE] = {upstream.ca}
""")
        argv = [php_fpm_binary(), "-F", "-y", str(conf)] + (["-R"] if os.geteuid() == 0 else [])
        return procs.start(argv, directory / "responder.log", stop_signal=signal.SIGQUIT)

    def start(self, procs, workdir, upstream, binaries):
        super().start(procs, workdir, upstream, binaries)
        deadline = time.monotonic() + 10  # pm = static: wait until every child is there
        while len(child_pids(self.proc.pid)) < self.threads and time.monotonic() < deadline:
            time.sleep(0.05)


KINDS = {"nginx": NginxContender, "c": CContender, "app": AppContender, "php": PhpContender,
         "standin": StandinContender, "fleet": FleetContender}


def contender(key, threads, levels):
    spec = CONTENDERS[key]
    return KINDS[spec.kind](spec, threads, levels)
