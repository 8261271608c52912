"""The nginx and systemd recipes of README "Deploy", and `make install`.

nginx: nginx/app-inbox.conf as shipped (its upstream block uncommented), with a session checker
for its auth_request. systemd: the installed units are checked with systemd-analyze and run the
way systemd runs them (there is no systemd as PID 1 here): the socket unit's listening socket on
fd 0 (StandardInput=socket), the key in a credentials directory (%d), and plain socket activation
(LISTEN_FDS) through systemd-socket-activate."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from stack import API_KEY, APP_BIN, FASTCGI_PARAMS, ROOT, Nginx, free_port, http_request, nginx_config, nginx_for_socket, stop

PREFIX = "/usr"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("destdir")
    os.chmod(destdir, 0o755)
    result = subprocess.run(["make", "-s", "install", f"DESTDIR={destdir}", f"PREFIX={PREFIX}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return destdir


def unit(installed, name):
    return (installed / f"{PREFIX.lstrip('/')}/lib/systemd/system" / name).read_text()


def directives(text, name):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{name}=")]


def test_make_install_honours_prefix_and_destdir(installed):
    binary = installed / "usr/bin/app-inbox-fcgi"
    assert os.access(binary, os.X_OK)
    assert subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.startswith("app-inbox-fcgi ")
    assert "libswift" not in subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    service = unit(installed, "app-inbox-fcgi.service")
    assert directives(service, "ExecStart") == ["/usr/bin/app-inbox-fcgi"]
    man = installed / "usr/share/man/man8/app-inbox-fcgi.8"
    assert "/usr/share/doc/app\\-inbox\\-fcgi/examples" in man.read_text()
    examples = installed / "usr/share/doc/app-inbox-fcgi/examples"
    for name in ("nginx/app-inbox.conf", "apache/app-inbox-proxy.conf", "apache/app-inbox-fcgid.conf",
                 "apache/shared-hosting/.htaccess", "apache/shared-hosting/app-inbox.cgi",
                 "apache/shared-hosting/signed-identity/.htaccess", "signed-identity/issue.php",
                 "systemd/app-inbox-fcgi.service", "systemd/app-inbox-fcgi.socket"):
        assert (examples / name).is_file(), name
    fcgid = (examples / "apache/app-inbox-fcgid.conf").read_text()
    assert "/usr/bin/app-inbox-fcgi" in fcgid and "/usr/local/bin" not in fcgid
    assert not list(installed.rglob("etc")), "make install must not touch /etc"


def test_man_page_renders_without_warnings(installed):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed")
    result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                             str(installed / "usr/share/man/man8/app-inbox-fcgi.8")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_systemd_units_verify(installed, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: point it at the DESTDIR copy.
    for name in ("app-inbox-fcgi.service", "app-inbox-fcgi.socket"):
        text = unit(installed, name).replace("ExecStart=/usr/bin/", f"ExecStart={installed}/usr/bin/")
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / "app-inbox-fcgi.socket"),
                             str(tmp_path / "app-inbox-fcgi.service")], capture_output=True, text=True)
    assert result.returncode == 0 and "app-inbox-fcgi" not in result.stderr, result.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(tmp_path / "app-inbox-fcgi.service")],
                              capture_output=True, text=True)
    exposure = re.search(r"Overall exposure level for app-inbox-fcgi\.service: ([\d.]+)", security.stdout)
    if exposure:
        assert float(exposure.group(1)) <= 2.0, security.stdout


def test_service_unit_declares_the_hardening(installed):
    service = unit(installed, "app-inbox-fcgi.service")
    for setting in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                    "Restart=on-failure", "StandardInput=socket", "StandardOutput=journal", "StandardError=journal",
                    "LoadCredential=api-key:/etc/app-inbox/api-key", "Environment=APP_INBOX_API_KEY_FILE=%d/api-key",
                    "LimitCORE=0", "Environment=SWIFT_BACKTRACE=enable=no"):
        assert setting in service.splitlines(), setting
    socket_unit = unit(installed, "app-inbox-fcgi.socket")
    assert directives(socket_unit, "ListenStream")[0] == "/run/app-inbox/app-inbox.sock"
    assert directives(socket_unit, "Accept") == ["no"]


def fetch(port, email="alice@example.com"):
    answer = http_request(port, "/app-inbox/token", headers={"X-Test-Email": email}, timeout=15)
    return answer.status, answer.body


def service_environment(service, credentials, sandbox):
    """Environment= as systemd sets it (with %d the credentials directory), plus the settings that
    /etc/app-inbox/app-inbox.env (EnvironmentFile=) would add, and the INVOCATION_ID that systemd
    gives every service (the responder then leaves restarting to Restart=)."""
    env = {"PATH": "/usr/bin:/bin", "INVOCATION_ID": "0123456789abcdef0123456789abcdef"}
    for assignment in directives(service, "Environment"):
        name, value = assignment.split("=", 1)
        env[name] = value.replace("%d", str(credentials))
    env.update({"APP_INBOX_TOKEN_URL": sandbox.token_url, "APP_INBOX_CA_FILE": str(sandbox.ca),
                "APP_INBOX_RATE_LIMIT_PER_MIN": "0"})
    return env


def credentials_dir(path, service):
    """LoadCredential=api-key:/etc/app-inbox/api-key, as systemd lays it out."""
    [credential] = directives(service, "LoadCredential")
    name = credential.split(":", 1)[0]
    path.mkdir()
    (path / name).write_text(API_KEY + "\n")
    os.chmod(path / name, 0o400)
    return path


def test_service_serves_the_socket_units_socket_on_fd_0(installed, sandbox, tmp_path):
    os.chmod(tmp_path, 0o755)
    service = unit(installed, "app-inbox-fcgi.service")
    env = service_environment(service, credentials_dir(tmp_path / "credentials", service), sandbox)
    command = shlex.split(directives(service, "ExecStart")[0])
    command[0] = str(installed) + command[0]
    socket_path = tmp_path / "app-inbox-fcgi.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o666)  # our nginx workers are not in the socket unit's group
    listener.listen(1024)
    journal = tmp_path / "journal.log"
    proc = subprocess.Popen(command, env=env, stdin=listener.fileno(), stdout=open(journal, "wb"),
                            stderr=subprocess.STDOUT)
    nginx, port = nginx_for_socket(tmp_path, socket_path)
    try:
        status, body = fetch(port)
        assert status == 200 and body.startswith(b'{"token":"sbx-alice@example.com-'), journal.read_text()
        assert "listening" in journal.read_text() and API_KEY not in journal.read_text()
        # Under systemd the service serves in one process: Restart= does the supervising.
        assert "child_started" not in journal.read_text()
        assert Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split() == []
    finally:
        nginx.stop()
        assert stop(proc) == 0
        listener.close()
    assert socket_path.exists(), "the socket belongs to systemd: the service must not remove it"


def test_plain_socket_activation_with_listen_fds(installed, sandbox, tmp_path):
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("systemd-socket-activate is not installed")
    os.chmod(tmp_path, 0o755)
    socket_path = tmp_path / "activated.sock"
    env = {"PATH": "/usr/bin:/bin", "APP_INBOX_API_KEY": API_KEY, "APP_INBOX_TOKEN_URL": sandbox.token_url,
           "APP_INBOX_CA_FILE": str(sandbox.ca), "APP_INBOX_RATE_LIMIT_PER_MIN": "0"}
    setenv = [f"--setenv={name}" for name in env if name != "PATH"]
    command = [activate, "--listen", str(socket_path), *setenv, str(installed / "usr/bin/app-inbox-fcgi")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "journal.log", "wb"))
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "journal.log").read_text()
        time.sleep(0.02)
    os.chmod(socket_path, 0o666)
    nginx, port = nginx_for_socket(tmp_path, socket_path)
    try:
        status, body = fetch(port)
        assert status == 200 and body.startswith(b'{"token":"sbx-alice@example.com-'), (tmp_path / "journal.log").read_text()
    finally:
        nginx.stop()
        stop(proc, signal.SIGTERM)


# ---- nginx/app-inbox.conf -----------------------------------------------------------------------

class SessionChecker(http.server.BaseHTTPRequestHandler):
    """The site's session check that the example's auth_request asks: 200 with X-User-Email for
    the cookie session=alice, 401 otherwise."""

    def do_GET(self):
        signed_in = self.path == "/internal/session-check" and "session=alice" in (self.headers.get("Cookie") or "")
        self.send_response(200 if signed_in else 401)
        if signed_in:
            self.send_header("X-User-Email", "alice@example.com")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def uncommented_upstream(example_text, address):
    """The example's `upstream app_inbox {}` block, which it keeps commented for the http {} context.
    Its live server line is the systemd socket unit's socket; `address` replaces it."""
    lines = example_text.splitlines()
    start = lines.index("# upstream app_inbox {")
    end = lines.index("# }", start)
    block = "\n".join(line[2:] if line.startswith("# ") else "" for line in lines[start:end + 1])
    live = "    server unix:/run/app-inbox/app-inbox.sock;"
    assert live in block.splitlines(), block
    return block.replace(live, f"    server {address};")


def example_responder(tmp_path, sandbox, **env):
    """The responder on a unix socket in `tmp_path` for the nginx example, once it listens."""
    socket_path = tmp_path / "app-inbox.sock"
    env = {"PATH": "/usr/bin:/bin", "APP_INBOX_API_KEY": API_KEY, "APP_INBOX_TOKEN_URL": sandbox.token_url,
           "APP_INBOX_CA_FILE": str(sandbox.ca), "APP_INBOX_RATE_LIMIT_PER_MIN": "0",
           "APP_INBOX_SOCKET_MODE": "666", **env}  # our nginx workers are not in the socket unit's group
    app = subprocess.Popen([str(APP_BIN), "--listen", f"unix:{socket_path}", "--threads", "4"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "app.log", "wb"))
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        assert app.poll() is None and time.monotonic() < deadline, (tmp_path / "app.log").read_text()
        time.sleep(0.02)
    return socket_path, app


def example_prefix(tmp_path):
    """An nginx prefix with the example's `include fastcgi_params;` in reach."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    shutil.copy(FASTCGI_PARAMS, prefix / "fastcgi_params")
    return prefix


def test_nginx_example_with_its_session_check(sandbox, tmp_path):
    os.chmod(tmp_path, 0o755)
    checker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SessionChecker)
    threading.Thread(target=checker.serve_forever, daemon=True).start()
    socket_path, app = example_responder(tmp_path, sandbox)
    example = (ROOT / "nginx/app-inbox.conf").read_text()
    snippet = example_prefix(tmp_path) / "app-inbox.conf"
    snippet.write_text(example.replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{checker.server_port}/"))
    port = free_port()
    servers = f"server {{ listen 127.0.0.1:{port}; include {snippet}; }}"
    nginx = Nginx(snippet.parent, nginx_config(snippet.parent, servers, uncommented_upstream(example, f"unix:{socket_path}")),
                  [port])

    def request(path="/app-inbox/token", headers=None, basic=None):
        answer = http_request(port, path, headers=headers, basic=basic, timeout=15)
        return answer.status, answer.body

    try:
        status, body = request(headers={"Cookie": "session=alice"})
        assert status == 200 and body.startswith(b'{"token":"sbx-alice@example.com-'), nginx.error_log()
        # A client's own X-User-Email is no identity: without a session nginx answers 401, and with
        # one the checker's answer wins.
        assert request(headers={"X-User-Email": "alice@example.com"})[0] == 401
        status, body = request(headers={"Cookie": "session=alice", "X-User-Email": "+380501234567"})
        assert status == 200 and body.startswith(b'{"token":"sbx-alice@example.com-')
        assert [r["body"] for r in sandbox.requests()] == ['{"email":"alice@example.com"}'] * 2
        # A client's own Basic-auth name reaches nobody: the example pins REMOTE_USER before
        # `include fastcgi_params`, and the identity is the checker's.
        victim = ("victim@example.com", "x")
        status, body = request(headers={"Cookie": "session=alice"}, basic=victim)
        assert status == 200 and body.startswith(b'{"token":"sbx-alice@example.com-'), body
        assert request(basic=victim)[0] == 401
        assert request("/app-inbox/healthz") == (200, b"ok\n")  # open to 127.0.0.1 without a session
        # init.js needs no session (here 404: the example's responder has no site id); status is local.
        assert request("/app-inbox/init.js")[0] == 404
        status, body = request("/app-inbox/status")
        assert status == 200 and b'"workers"' in body
    finally:
        nginx.stop()
        stop(app)
        checker.shutdown()


def variant_c(example_text):
    """The example with its signed identity location (variant C) uncommented in place of the active
    session-check location (variant B), as a site that signs its own identity cookie sets it up."""
    lines = example_text.splitlines()
    start = lines.index("location /app-inbox/ {")
    end = lines.index("}", start)
    del lines[start:end + 1]
    heading = next(i for i, line in enumerate(lines) if line.startswith("# ---- Variant C"))
    first = lines.index("# location /app-inbox/ {", heading)
    last = lines.index("# }", first)
    lines[first:last + 1] = [line[2:] if line.startswith("# ") else "" for line in lines[first:last + 1]]
    return "\n".join(lines) + "\n"


def hs256_token(secret, claims):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def test_nginx_example_variant_c_needs_no_auth_module(sandbox, tmp_path):
    """Signed identity behind nginx/app-inbox.conf as shipped: nginx sets no identity and passes
    the site's cookies untouched; the responder verifies the identity cookie."""
    os.chmod(tmp_path, 0o755)
    secret = tmp_path / "identity-secret"
    secret.write_text("a-site-secret-of-at-least-32-bytes-long\n")
    secret.chmod(0o600)
    socket_path, app = example_responder(tmp_path, sandbox, APP_INBOX_SIGNED_IDENTITY_SECRET_FILE=str(secret))
    example = (ROOT / "nginx/app-inbox.conf").read_text()
    snippet = example_prefix(tmp_path) / "app-inbox.conf"
    snippet.write_text(variant_c(example))
    port = free_port()
    servers = f"server {{ listen 127.0.0.1:{port}; include {snippet}; }}"
    nginx = Nginx(snippet.parent, nginx_config(snippet.parent, servers, uncommented_upstream(example, f"unix:{socket_path}")),
                  [port])
    now = int(time.time())
    alice = hs256_token(b"a-site-secret-of-at-least-32-bytes-long",
                        {"email": "alice@example.com", "aud": "app-inbox", "iat": now, "exp": now + 600})
    try:
        answer = http_request(port, "/app-inbox/token", headers={"Cookie": f"PHPSESSID=8f3a; app_inbox_identity={alice}"},
                              timeout=15)
        assert answer.status == 200 and answer.body.startswith(b'{"token":"sbx-alice@example.com-'), nginx.error_log()
        # Nothing else names anyone: no cookie, a client's Basic-auth name or X-User-Email header.
        for headers, basic in (({}, None), ({}, ("victim@example.com", "x")), ({"X-User-Email": "victim@example.com"}, None)):
            refused = http_request(port, "/app-inbox/token", headers=headers, basic=basic, timeout=15)
            assert refused.status == 401 and refused.json()["error"] == "unauthenticated", refused.body
        assert [r["body"] for r in sandbox.requests()] == ['{"email":"alice@example.com"}']
    finally:
        nginx.stop()
        stop(app)
