"""The eSputnik stand-in that every exchanging contender calls, and the front nginx."""

import os
from pathlib import Path

from stack import NGINX, SANDBOX_LOCATION, free_port, http_request, make_tls, nginx_config, wait_for_port

from . import API_KEY, EXCHANGE_IDENTITIES, TOKEN_BODY


def start_nginx(procs, prefix, servers, ports):
    """An nginx tuned for load (stack.nginx_config(load=True)) with these servers, up on `ports`."""
    prefix = Path(prefix)
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, servers, load=True))
    proc = procs.start([NGINX, "-c", str(conf), "-p", str(prefix)], prefix / "stderr.log")
    for port in ports:
        wait_for_port(port, timeout=15.0, proc=proc)
    return proc


class Upstream:
    """The eSputnik stand-in: one HTTPS nginx with a fixed-token server ("fixed") and a server in
    front of esputnik-sandbox ("sandbox"). Their access logs record each request's connection,
    so new TLS connections can be counted ($connection_requests = 1) and resumptions
    ($ssl_session_reused)."""

    def __init__(self, procs, workdir, sandbox_binary=None):
        self.dir = Path(workdir) / "upstream"
        self.dir.mkdir(parents=True)
        self.ca, cert, key = make_tls(self.dir, ca_name="app-inbox-fcgi bench CA")
        self.fixed_port = free_port()
        self.fixed_log = self.dir / "fixed.access.log"
        self.sandbox_log = self.dir / "sandbox.access.log"
        tls = f"""ssl_certificate {cert}; ssl_certificate_key {key};
        ssl_session_cache shared:SSL:10m;"""
        body = f"""
    log_format tls '$msec $connection $connection_requests $ssl_session_reused $status';
    server {{
        listen 127.0.0.1:{self.fixed_port} ssl;
        {tls}
        access_log {self.fixed_log} tls;
        location = /v1/auth/contact/token {{
            default_type application/json;
            return 200 '{TOKEN_BODY}';
        }}
    }}"""
        ports = [self.fixed_port]
        self.sandbox_port = None
        if sandbox_binary is not None:
            (self.dir / "contacts.txt").write_text(
                "".join(f"user{n}@example.com\n" for n in range(EXCHANGE_IDENTITIES)))
            sandbox_fcgi_port = free_port()
            sandbox = procs.start(
                [str(sandbox_binary), "--listen", f"127.0.0.1:{sandbox_fcgi_port}", "--threads", "600",
                 "--api-key", API_KEY, "--contacts", str(self.dir / "contacts.txt")],
                self.dir / "sandbox.log")
            wait_for_port(sandbox_fcgi_port, timeout=15.0, proc=sandbox)
            self.sandbox_port = free_port()
            body += f"""
    upstream sandbox {{ server 127.0.0.1:{sandbox_fcgi_port}; keepalive 64; keepalive_requests 1000000; }}
    server {{
        listen 127.0.0.1:{self.sandbox_port} ssl;
        {tls}
        access_log {self.sandbox_log} tls;
        {SANDBOX_LOCATION}
    }}"""
            ports.append(self.sandbox_port)
        start_nginx(procs, self.dir / "nginx", body, ports)

    def token_url(self, which):
        port = self.fixed_port if which == "fixed" else self.sandbox_port
        return f"https://127.0.0.1:{port}/v1/auth/contact/token"

    def app_env(self, which, cache):
        """app-inbox-fcgi's environment for exchanging with the `which` server."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "APP_INBOX_API_KEY": API_KEY,
            "APP_INBOX_TOKEN_URL": self.token_url(which),
            "APP_INBOX_CA_FILE": str(self.ca),
            "APP_INBOX_RATE_LIMIT_PER_MIN": "0",  # wrk asks for the same users far more than 60 times a minute
            "APP_INBOX_CACHE_TTL_S": "300" if cache else "0",
            "APP_INBOX_TIMEOUT_MS": "5000",
        }

    def log_path(self, which):
        return self.fixed_log if which == "fixed" else self.sandbox_log

    def log_offset(self, which):
        path = self.log_path(which)
        return path.stat().st_size if path.exists() else 0

    def tls_since(self, which, offset):
        """(requests, new TLS connections, of which resumed) logged since `offset`."""
        path = self.log_path(which)
        if not path.exists():
            return 0, 0, 0
        with open(path, "rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        new = resumed = 0
        for line in lines:
            parts = line.split()
            if len(parts) >= 4 and parts[2] == "1":
                new += 1
                resumed += parts[3] == "r"
        return len(lines), new, resumed

    def sandbox_control(self, query):
        answer = http_request(self.sandbox_port, f"/_sandbox/{query}", method="POST", tls=self.ca, timeout=10)
        if answer.status != 200:
            raise RuntimeError(f"the sandbox answered {answer.status} to {query}: {answer.body[:200]!r}")
        return answer.body
