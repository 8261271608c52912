"""`make run`, then the README's curl lines, exactly as written, return a sandbox token."""

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from stack import APP_BIN, ROOT, SANDBOX_BIN, free_port


def readme_demo_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- demo-curl -->\s*```(?:sh|console|bash)?\n(.*?)```", text, re.S)
    assert block, "README.md has no demo curl block after <!-- demo-curl -->"
    return [line.removeprefix("$ ") for line in block.group(1).splitlines() if line.startswith("$ curl")]


def port_taken(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_then_readme_curl_lines():
    if port_taken(8080) or port_taken(8081) or port_taken(8443):
        pytest.skip("the demo's ports 8080/8081/8443 are in use on this machine")
    demo = subprocess.Popen(["make", "-s", "run"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env={k: v for k, v in os.environ.items()
                                                                    if k != "APP_INBOX_API_KEY"})
    try:
        output = []
        deadline = time.monotonic() + 300
        for line in demo.stdout:
            output.append(line)
            if line.startswith("Ctrl-C stops the demo"):
                break
            assert time.monotonic() < deadline
        assert "Try:" in "".join(output), "".join(output)
        commands = readme_demo_commands()
        assert commands
        answers = [subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30).stdout
                   for command in commands]
        tokens = [answer for answer in answers if answer.startswith('{"token"')]
        assert len(tokens) == 2, answers
        assert re.fullmatch(r'\{"token":"sbx-alice@example\.com-\d+"\}\s*', tokens[0]), answers
        assert tokens[1].strip() == '{"token":""}', answers
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=20)
    time.sleep(0.5)
    assert not port_taken(8080), "the demo left nginx running"


class FreePortDemo:
    """scripts/demo on free ports in `directory`, with `env` on top; stopped by `stop()`."""

    def __init__(self, directory, bin_dir, **env):
        self.port = free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("APP_INBOX_")}
        full.update(DEMO_DIR=str(directory), DEMO_PORT=str(self.port), DEMO_OTHER_PORT=str(free_port()),
                    DEMO_SANDBOX_PORT=str(free_port()), APP_INBOX_BIN_DIR=str(bin_dir), **env)
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "demo")], cwd=ROOT, env=full, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.output = []
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("Ctrl-C stops the demo"):
                break

    def curl(self, *args):
        return subprocess.run(["curl", "-s", *args], capture_output=True, text=True, timeout=30).stdout

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=20)


def test_demo_waits_for_a_responder_that_starts_slowly(workdir):
    """Until app-inbox-fcgi has bound its socket nginx answers 502, which is not "started": a
    responder slower to start than nginx (a loaded machine) once failed the demo at once."""
    bin_dir = Path(workdir) / "slow-bin"
    bin_dir.mkdir()
    (bin_dir / "esputnik-sandbox").symlink_to(SANDBOX_BIN.resolve())
    slow = bin_dir / "app-inbox-fcgi"
    slow.write_text(f'#!/bin/sh\nsleep 1.5\nexec {APP_BIN.resolve()} "$@"\n')
    slow.chmod(0o755)
    demo = FreePortDemo(Path(workdir) / "slow-demo", bin_dir)
    try:
        assert "Try:" in "".join(demo.output), "".join(demo.output)
        assert demo.curl("-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{demo.port}/app-inbox/healthz") == "200"
    finally:
        demo.stop()


def test_demo_switch_to_auth_request(workdir):
    """DEMO_IDENTITY=auth_request: nginx asks the sign-in on every token request and passes the
    user as INBOX_EMAIL, so Basic auth as a demo user works and the identity cookie is not set."""
    demo = FreePortDemo(Path(workdir) / "auth-request-demo", APP_BIN.resolve().parent, DEMO_IDENTITY="auth_request")
    try:
        assert "curl -u alice@example.com:demo" in "".join(demo.output), "".join(demo.output)
        site = f"http://127.0.0.1:{demo.port}"
        assert re.fullmatch(r'\{"token":"sbx-alice@example\.com-\d+"\}',
                            demo.curl("-u", "alice@example.com:demo", f"{site}/app-inbox/token"))
        login = demo.curl("-D", "-", "-o", "/dev/null", f"{site}/_demo/login?email=alice@example.com")
        assert "demo_session=" in login and "app_inbox_identity" not in login, login
    finally:
        demo.stop()


def test_signed_demo_sign_in_sets_the_identity_cookie_and_sign_out_clears_it(workdir):
    demo = FreePortDemo(Path(workdir) / "signed-demo", APP_BIN.resolve().parent)
    try:
        site = f"http://127.0.0.1:{demo.port}"
        jar = Path(workdir) / "signed-demo" / "jar"
        login = demo.curl("-D", "-", "-o", "/dev/null", "-c", str(jar), f"{site}/_demo/login?email=alice@example.com")
        assert re.search(r"(?im)^set-cookie: app_inbox_identity=[\w-]+\.[\w-]+\.[\w-]+; Path=/app-inbox/; HttpOnly; "
                         r"SameSite=Lax; Max-Age=3600", login), login
        assert demo.curl("-b", str(jar), f"{site}/app-inbox/token").startswith('{"token":"sbx-alice@example.com-')
        # Basic auth names no one here: the token route reads only the signed cookie.
        assert '"unauthenticated"' in demo.curl("-u", "alice@example.com:demo", f"{site}/app-inbox/token")
        demo.curl("-b", str(jar), "-c", str(jar), "-o", "/dev/null", f"{site}/_demo/logout")
        assert '"unauthenticated"' in demo.curl("-b", str(jar), f"{site}/app-inbox/token")
    finally:
        demo.stop()
