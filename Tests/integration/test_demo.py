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
        assert re.fullmatch(r'\{"token":"sbx-alice@example\.com-\d+"\}\s*', answers[0]), answers
        assert any(answer.strip() == '{"token":""}' for answer in answers[1:]), answers
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=20)
    time.sleep(0.5)
    assert not port_taken(8080), "the demo left nginx running"


def test_demo_waits_for_a_responder_that_starts_slowly(workdir):
    """Until app-inbox-fcgi has bound its socket nginx answers 502, which is not "started": a
    responder slower to start than nginx (a loaded machine) once failed the demo at once."""
    bin_dir = Path(workdir) / "slow-bin"
    bin_dir.mkdir()
    (bin_dir / "esputnik-sandbox").symlink_to(SANDBOX_BIN.resolve())
    slow = bin_dir / "app-inbox-fcgi"
    slow.write_text(f'#!/bin/sh\nsleep 1.5\nexec {APP_BIN.resolve()} "$@"\n')
    slow.chmod(0o755)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_INBOX_")}
    env.update(DEMO_DIR=str(Path(workdir) / "slow-demo"), DEMO_PORT=str(port), DEMO_OTHER_PORT=str(free_port()),
               DEMO_SANDBOX_PORT=str(free_port()), APP_INBOX_BIN_DIR=str(bin_dir))
    demo = subprocess.Popen([str(ROOT / "scripts" / "demo")], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output = []
        for line in demo.stdout:
            output.append(line)
            if line.startswith("Ctrl-C stops the demo"):
                break
        assert "Try:" in "".join(output), "".join(output)
        status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                 f"http://127.0.0.1:{port}/app-inbox/healthz"], capture_output=True, text=True)
        assert status.stdout == "200"
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        demo.wait(timeout=20)
