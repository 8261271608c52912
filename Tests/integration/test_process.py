"""The process around the route: config errors, CLI, listen modes, signals."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

from stack import API_KEY, APP_BIN, App, cli_env, free_port, run_cli


def test_missing_key_stops_serve_with_exit_2_naming_the_variable():
    result = run_cli(["--listen", f"127.0.0.1:{free_port()}"], {"PATH": os.environ["PATH"]})
    assert result.returncode == 2
    assert "APP_INBOX_API_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_config_problem_is_listed(sandbox):
    env = cli_env(sandbox) | {"APP_INBOX_TIMEOUT_MS": "soon", "APP_INBOX_EMAIL_PARAM": "HTTP_X_USER_EMAIL",
                               "APP_INBOX_TOKEN_URL": "http://esputnik.com/v1/auth/contact/token"}
    result = run_cli(["check-config"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert any("APP_INBOX_TIMEOUT_MS" in line for line in lines)
    assert any("APP_INBOX_TOKEN_URL" in line and "https" in line for line in lines)
    header_line = next(line for line in lines if "APP_INBOX_EMAIL_PARAM" in line)
    assert "client" in header_line and "APP_INBOX_ALLOW_HEADER_IDENTITY" in header_line


def test_header_identity_allowed_only_when_asked(sandbox):
    env = cli_env(sandbox) | {"APP_INBOX_EMAIL_PARAM": "HTTP_X_USER_EMAIL", "APP_INBOX_ALLOW_HEADER_IDENTITY": "1"}
    assert run_cli(["check-config"], env).returncode == 0


def test_check_config_prints_effective_config_with_key_redacted(sandbox):
    result = run_cli(["check-config"], cli_env(sandbox))
    assert result.returncode == 0
    assert f"APP_INBOX_TOKEN_URL={sandbox.token_url}" in result.stdout
    assert f"APP_INBOX_THREADS={os.cpu_count()}" in result.stdout  # one worker per core by default
    assert API_KEY not in result.stdout + result.stderr
    assert "redacted" in result.stdout


def test_env_file_and_key_file(sandbox, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    env_file = tmp_path / "app-inbox.env"
    env_file.write_text(f"# app-inbox-fcgi\nAPP_INBOX_API_KEY_FILE={key_file}\n"
                        f"APP_INBOX_TOKEN_URL=\"{sandbox.token_url}\"\nAPP_INBOX_CA_FILE={sandbox.ca}\n"
                        "APP_INBOX_TIMEOUT_MS=1234\n")
    env = {"PATH": os.environ["PATH"], "APP_INBOX_TIMEOUT_MS": "4321"}
    result = run_cli(["check-config", "--env-file", str(env_file)], env)
    assert result.returncode == 0, result.stderr
    assert "APP_INBOX_TIMEOUT_MS=4321" in result.stdout  # the environment wins over the file
    result = run_cli(["token", "--email", "alice@example.com", "--env-file", str(env_file)], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["token"].startswith("sbx-alice@example.com-")


def test_token_command_does_one_real_exchange(sandbox):
    result = run_cli(["token", "--email", "nobody@example.com"], cli_env(sandbox))
    assert result.returncode == 0 and json.loads(result.stdout) == {"token": ""}
    assert len(sandbox.requests()) == 1
    result = run_cli(["token", "--phone", "+380501234567"], cli_env(sandbox))
    assert json.loads(result.stdout)["token"].startswith("sbx-+380501234567-")
    sandbox.fault(kind="401")
    result = run_cli(["token", "--email", "alice@example.com"], cli_env(sandbox))
    assert result.returncode == 1 and json.loads(result.stdout)["error"] == "upstream_auth_failed"


def test_version_help_and_usage_errors():
    env = {"PATH": os.environ["PATH"]}
    version = run_cli(["--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("app-inbox-fcgi ")
    help_text = run_cli(["--help"], env)
    assert help_text.returncode == 0 and "--listen" in help_text.stdout and "check-config" in help_text.stdout
    assert run_cli(["--bogus"], env).returncode == 2
    assert run_cli(["--listen", "nowhere"], env | {"APP_INBOX_API_KEY": "k"}).returncode == 2
    assert run_cli([], env | {"APP_INBOX_API_KEY": "k"}, stdin=subprocess.DEVNULL).returncode == 2


def test_port_in_use_is_a_clear_error(sandbox):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["--listen", f"127.0.0.1:{port}"], cli_env(sandbox))
    assert result.returncode == 2 and "cannot bind" in result.stderr


def test_sigterm_lets_the_slow_request_finish_then_exits_0(start_app, sandbox):
    app = start_app()
    sandbox.fault(latency_ms=1500)
    result = {}
    client = threading.Thread(target=lambda: result.update(answer=app.token("alice@example.com")))
    client.start()
    time.sleep(0.5)
    app.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = app.proc.wait(timeout=10)
    client.join()
    assert code == 0
    assert result["answer"][0] == 200 and result["answer"][1]["token"].startswith("sbx-alice@")
    assert time.monotonic() - started < 3
    assert "stopping" in app.log() and "stopped" in app.log()


def test_sigterm_when_idle_exits_0_promptly(start_app):
    app = start_app()
    assert app.get("/app-inbox/healthz")[0] == 200  # leaves a kept connection parked in a worker
    started = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 1


def test_client_abort_does_not_kill_the_process(app, sandbox):
    sandbox.fault(latency_ms=500)
    with socket.create_connection(("127.0.0.1", app.port)) as client:
        client.sendall(b"GET /app-inbox/token HTTP/1.1\r\nHost: x\r\nX-Test-Email: alice@example.com\r\n\r\n")
        time.sleep(0.1)
    time.sleep(0.8)
    sandbox.reset()
    assert app.proc.poll() is None
    assert app.token("alice@example.com")[0] == 200


def test_unix_socket_with_mode_removed_on_exit(start_app):
    app = start_app(listen="unix", env={"APP_INBOX_SOCKET_MODE": "666"})
    assert os.stat(app.socket_path).st_mode & 0o777 == 0o666
    status, body = app.token("alice@example.com")
    assert status == 200 and body["token"].startswith("sbx-alice@")
    assert app.stop() == 0
    assert not os.path.exists(app.socket_path)


def test_keep_conn_off(start_app):
    app = start_app(keep_conn=False)
    for _ in range(5):
        assert app.token("alice@example.com")[0] == 200


def test_socket_on_fd_0_under_spawn_fcgi(start_app):
    app = start_app(launcher="spawn-fcgi")
    status, body = app.token("alice@example.com")
    assert status == 200 and body["token"].startswith("sbx-alice@")
    assert app.stop() == 0


def test_plain_cgi_request(sandbox):
    env = cli_env(sandbox) | {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
                               "REQUEST_URI": "/app-inbox/token", "SCRIPT_NAME": "/app-inbox/token",
                               "INBOX_EMAIL": "alice@example.com", "APP_INBOX_LOG_LEVEL": "warn"}
    result = subprocess.run([str(APP_BIN)], env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.decode().partition("\r\n\r\n")
    assert head.splitlines()[0] == "Status: 200 OK"
    assert "Content-Type: application/json" in head
    assert json.loads(body)["token"].startswith("sbx-alice@example.com-")
    no_identity = run_cli([], env | {"INBOX_EMAIL": ""}, stdin=subprocess.DEVNULL)
    assert no_identity.stdout.startswith("Status: 401 Unauthorized")
