"""The demo site (scripts/demo, as `make run` starts it, on free ports) in headless Chromium.

For each sign-in state and language the page records what happened (the init call the demo
widget received, the page's fetches, the tokens, every error and console.error) into
#observations, which the test reads from `--dump-dom` (docs/PITFALLS.md #13). A page on another site
tries to read the token with the visitor's cookies. The signed-in page's screenshot is kept in
$APP_INBOX_ARTIFACTS (default: <temp dir>/app-inbox-fcgi-artifacts); with UPDATE_SCREENSHOT=1 it
also replaces docs/demo.png.
"""

import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from stack import BIN_DIR, ROOT, free_port, http_request, wait_for_port

CHROMIUM = shutil.which(os.environ.get("CHROMIUM", "chromium")) or shutil.which("chromium-browser")
KNOWN_TOKEN = r"sbx-alice@example\.com-\d+"
LOCALIZED_STATE = {  # the demo widget's text after a renewed token, per language
    ("token", "en"): "Token renewed", ("token", "uk"): "Токен оновлено",
    ("unknown", "en"): "Signed in, but eSputnik knows no such contact",
    ("unknown", "uk"): "Ви ввійшли, але eSputnik не знає такого контакту",
    ("signed-out", "en"): "Signed out: no inbox", ("signed-out", "uk"): "Ви не ввійшли: вхідних немає",
}

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (scripts/install-deps --test installs it)")


class Demo:
    """scripts/demo in its own process group, with its files in `directory`."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)  # nginx's workers reach the sockets and certificates (docs/PITFALLS.md #16)
        self.port, self.other_port, self.sandbox_port = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("APP_INBOX_")}
        env.update(DEMO_DIR=str(self.dir), DEMO_PORT=str(self.port), DEMO_OTHER_PORT=str(self.other_port),
                   DEMO_SANDBOX_PORT=str(self.sandbox_port), APP_INBOX_BIN_DIR=str(BIN_DIR.resolve()))
        # A file, not a pipe: the responder logs every request there, and a full pipe would block it.
        self.output = self.dir / "demo.out"
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "demo")], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.output, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while "Ctrl-C stops the demo." not in self.output.read_text(errors="replace"):
            assert self.proc.poll() is None, self.output.read_text(errors="replace")
            assert time.monotonic() < deadline, self.output.read_text(errors="replace")
            time.sleep(0.1)
        wait_for_port(self.other_port)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def access_log(self):
        return (self.dir / "nginx-access.log").read_text(errors="replace")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def demo(workdir):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (scripts/install-deps --test installs it)")
    instance = Demo(Path(workdir) / "browser-demo")
    yield instance
    instance.stop()


def chromium(url, profile, *args, budget_ms=8000):
    """One headless Chromium run; returns its stdout (the DOM with --dump-dom)."""
    command = [CHROMIUM, "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-extensions", f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *args, url]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise (docs/PITFALLS.md #13)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def element(dom, element_id):
    match = re.search(rf'<[a-z]+ id="{element_id}"[^>]*>(.*?)</[a-z]+>', dom, re.S)
    assert match, dom[-3000:]
    return match


def observations(dom):
    match = element(dom, "observations")
    assert 'data-done="1"' in match.group(0), match.group(0)[:3000]
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("email, state", [
    ("alice@example.com", "token"),
    ("stranger@example.com", "unknown"),
    (None, "signed-out"),
])
def test_demo_page_in_chromium(demo, tmp_path, email, state, language):
    # Signing in is a GET of the demo's login route, whose redirect keeps the fragment that
    # makes the page press the widget's "simulate token invalidation" button.
    start = f"/_demo/login?email={email}&lang={language}" if email else f"/?lang={language}"
    dom = chromium(demo.url(start + "#simulate-invalidation"), tmp_path / "profile", "--dump-dom")
    seen = observations(dom)

    assert seen["errors"] == []
    init = seen["widget"][0]
    assert init == {"type": "init", "flags": {"APP_INBOX": True}, "language": language}
    # The callback fetched the token route with the page's session cookie, then again with fresh=1.
    fetches = seen["fetches"]
    assert [fetch["url"] for fetch in fetches] == ["/app-inbox/token", "/app-inbox/token?fresh=1"]
    assert {fetch["credentials"] for fetch in fetches} == {"same-origin"}
    assert {fetch["status"] for fetch in fetches} == ({401} if email is None else {200})
    results = [step for step in seen["widget"] if step["type"] == "token"]
    assert [step["call"] for step in results] == [1, 2]
    assert {step["state"] for step in results} == {state}
    first, second = (step["token"] for step in results)
    if state == "token":
        assert re.fullmatch(KNOWN_TOKEN, first) and re.fullmatch(KNOWN_TOKEN, second)
        assert first != second  # the renewal got a new token
    else:
        assert first == second == ""
    assert f'data-user="{email or ""}"' in dom
    bell = re.search(r'<div id="app-inbox-bell"[^>]*>', dom).group(0)
    assert f'lang="{language}"' in bell and f'data-state="{state}"' in bell, bell
    assert LOCALIZED_STATE[(state, language)] in dom


def test_accept_language_picks_the_script_when_the_page_does_not(demo, tmp_path):
    dom = chromium(demo.url("/"), tmp_path / "profile", "--accept-lang=uk-UA,uk", "--dump-dom")
    seen = observations(dom)
    assert seen["errors"] == []
    assert seen["widget"][0]["language"] == "uk"


def test_another_site_cannot_read_the_token(demo, tmp_path):
    profile = tmp_path / "profile"
    # Sign in as alice first, so the browser holds her session cookie for the shop.
    signed_in = observations(chromium(demo.url("/_demo/login?email=alice@example.com"), profile, "--dump-dom"))
    assert re.fullmatch(KNOWN_TOKEN, signed_in["widget"][1]["token"])

    # localhost is another site than 127.0.0.1, so the browser marks the request cross-site.
    elsewhere = f"http://localhost:{demo.other_port}/"
    dom = chromium(elsewhere, profile, "--dump-dom")
    result = json.loads(html.unescape(element(dom, "result").group(1)))
    assert result["done"], result
    assert result["cors"]["readable"] is False and "token" not in json.dumps(result["cors"])
    assert result["noCors"] == {"readable": False, "type": "opaque", "status": 0, "body": ""}

    attempts = [line for line in demo.access_log().splitlines()
                if '"GET /app-inbox/token ' in line and f'"{elsewhere}"' in line]
    assert len(attempts) == 2, demo.access_log()[-3000:]
    # Whatever gets through, no answer carries a CORS header that would let the other site read it.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {}):
        answer = http_request(demo.port, "/app-inbox/token", headers={"Origin": elsewhere.rstrip("/"), **headers},
                              basic=("alice@example.com", "demo"))
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]
    guard_exists = any("cross_site" in path.read_text() for path in (ROOT / "Sources" / "AppInbox").rglob("*.swift"))
    if guard_exists:
        assert all('" 403 ' in line for line in attempts), attempts


def test_signed_in_screenshot(demo, tmp_path):
    shot = tmp_path / "demo-signed-in.png"
    chromium(demo.url("/_demo/login?email=alice@example.com&lang=en#simulate-invalidation"), tmp_path / "profile",
             "--hide-scrollbars", "--window-size=1000,760", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    artifacts = Path(os.environ.get("APP_INBOX_ARTIFACTS", Path(tempfile.gettempdir()) / "app-inbox-fcgi-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifacts / shot.name)
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "demo.png")
