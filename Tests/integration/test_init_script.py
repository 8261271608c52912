"""The init.js route through nginx: headers, ETag and 304, HEAD, languages; then the served script
run in Node with a stubbed window, document and fetch (the fetch reaches the real token route)."""

import hashlib
import json
import os
import re
import subprocess

import pytest

from stack import API_KEY, APP_BIN, ROOT, App

HARNESS = ROOT / "Tests" / "integration" / "init_script_harness.js"
NODE = os.environ.get("NODE", "node")
INIT_ENV = {
    "APP_INBOX_LANGUAGES": "en,uk",
    "APP_INBOX_SITE_ID": "site-42",
    "APP_INBOX_INIT_FLAGS": "RECOMS=true,TRACKING=false",
}


@pytest.fixture(scope="module")
def site(workdir, sandbox):
    instance = App(os.path.join(workdir, "init-script"), sandbox, env=INIT_ENV)
    yield instance
    instance.stop()


def script(app, query="", headers=None):
    status, response_headers, body = app.get("/app-inbox/init.js" + query, headers=headers)
    assert status == 200, (status, body)
    return response_headers, body


def language_of(body):
    match = re.search(rb'language: "([a-z]{2})"', body)
    assert match, body
    return match.group(1).decode()


def run_in_node(app, tmp_path, body, headers=None, fail_fetch=False, runs=1, calls=2):
    path = tmp_path / "init.js"
    path.write_bytes(body)
    config = {"script": str(path), "origin": f"http://127.0.0.1:{app.port}", "headers": headers or {},
              "failFetch": fail_fetch, "runs": runs, "calls": calls}
    result = subprocess.run([NODE, str(HARNESS), json.dumps(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_script_headers_and_strong_etag(site):
    headers, body = script(site)
    assert headers["content-type"] == "application/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["vary"] == "Accept-Language"
    assert headers["etag"] == '"' + hashlib.sha256(body).hexdigest() + '"'
    assert "access-control-allow-origin" not in headers
    assert b"</" not in body and b"<!--" not in body


@pytest.mark.parametrize("query, accept_language, expected", [
    ("", None, "en"),
    ("", "uk-UA,uk;q=0.9,en;q=0.8", "uk"),
    ("", "de-DE, uk;q=0.5", "uk"),
    ("", "fr", "en"),
    ("", "en;q=0, *", "uk"),
    ("?lang=uk", "en", "uk"),
    ("?lang=en", "uk", "en"),
    ("?lang=xx", "uk", "uk"),
    ("?lang=%3Cscript%3E", None, "en"),
])
def test_language_from_lang_then_accept_language_then_default(site, query, accept_language, expected):
    headers, body = script(site, query, {"Accept-Language": accept_language} if accept_language else None)
    assert language_of(body) == expected
    assert headers["content-language"] == expected
    assert b"script%3E" not in body and b"xx" not in body


def test_each_language_has_its_own_etag(site):
    en_headers, en_body = script(site, "?lang=en")
    uk_headers, uk_body = script(site, "?lang=uk")
    assert en_body != uk_body and en_headers["etag"] != uk_headers["etag"]


def test_if_none_match_gives_304(site):
    headers, body = script(site, "?lang=uk")
    etag = headers["etag"]
    for value in (etag, "W/" + etag, f'"stale", {etag}', "*"):
        status, not_modified, rest = site.get("/app-inbox/init.js?lang=uk", headers={"If-None-Match": value})
        assert status == 304, value
        assert rest == b""
        assert not_modified["etag"] == etag
        assert not_modified["cache-control"] == "public, max-age=300"
        assert not_modified["vary"] == "Accept-Language"
    # The English script's tag does not match the Ukrainian script.
    en_etag = script(site, "?lang=en")[0]["etag"]
    status, _, again = site.get("/app-inbox/init.js?lang=uk", headers={"If-None-Match": en_etag})
    assert status == 200 and again == body
    # nginx keeps the connection usable after a 304 (keep-conn to the responder stays in step).
    for _ in range(5):
        assert site.get("/app-inbox/init.js?lang=uk", headers={"If-None-Match": etag})[0] == 304
        assert script(site, "?lang=uk")[1] == body


def test_head_has_the_headers_and_no_body(site):
    headers, body = script(site, "?lang=uk")
    status, head_headers, head_body = site.get("/app-inbox/init.js?lang=uk", method="HEAD")
    assert status == 200
    assert head_body == b""
    assert int(head_headers["content-length"]) == len(body)
    assert head_headers["etag"] == headers["etag"]


def test_other_methods_get_405(site):
    status, headers, body = site.get("/app-inbox/init.js", method="POST", body=b"")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert json.loads(body)["error"] == "method_not_allowed"


def test_script_in_node_queues_one_init_and_fetches_fresh_tokens(site, tmp_path):
    _, body = script(site, "?lang=uk")
    result = run_in_node(site, tmp_path, body, headers={"X-Test-Email": "alice@example.com"}, runs=2)
    assert result["eSIsFunction"]
    assert result["queueLength"] == 1  # included twice, initialized once
    assert result["command"] == "init"
    assert result["flags"] == {"APP_INBOX": True, "RECOMS": True, "TRACKING": False}
    assert result["language"] == "uk"
    assert result["optionKeys"] == ["getAuthTokenCallback", "language"]
    assert result["inserted"] == [{"tag": "script", "src": "https://statics.esputnik.com/scripts/site-42.js",
                                   "async": True, "beforeFirstScript": True}]
    assert [fetch["url"] for fetch in result["fetches"]] == ["/app-inbox/token", "/app-inbox/token?fresh=1"]
    assert all(fetch["options"]["credentials"] == "same-origin" for fetch in result["fetches"])
    first, second = result["tokens"]
    assert re.fullmatch(r"sbx-alice@example\.com-\d+", first) and re.fullmatch(r"sbx-alice@example\.com-\d+", second)
    assert first != second


def test_callback_resolves_empty_when_signed_out_unknown_or_failing(site, sandbox, tmp_path):
    _, body = script(site)
    signed_out = run_in_node(site, tmp_path, body)  # no identity: the route answers 401
    assert signed_out["tokens"] == ["", ""]
    assert [fetch["url"] for fetch in signed_out["fetches"]] == ["/app-inbox/token", "/app-inbox/token?fresh=1"]
    unknown = run_in_node(site, tmp_path, body, headers={"X-Test-Email": "stranger@example.com"})
    assert unknown["tokens"] == ["", ""]
    network_down = run_in_node(site, tmp_path, body, fail_fetch=True)
    assert network_down["tokens"] == ["", ""]
    sandbox.fault(kind="400")  # eSputnik rejects: the route answers 502
    upstream_error = run_in_node(site, tmp_path, body, headers={"X-Test-Email": "alice@example.com"}, calls=1)
    assert upstream_error["tokens"] == [""]


def test_loader_omitted_keeps_the_queue(start_app, tmp_path):
    app = start_app(env={"APP_INBOX_LOADER": "omit", "APP_INBOX_BASE_PATH": "/inbox/"})
    status, _, body = app.get("/inbox/init.js")
    assert status == 200
    result = run_in_node(app, tmp_path, body, headers={"X-Test-Email": "alice@example.com"}, calls=1)
    assert result["inserted"] == []
    assert result["flags"] == {"APP_INBOX": True}
    assert result["fetches"][0]["url"] == "/inbox/token"
    assert result["tokens"][0].startswith("sbx-alice@example.com-")


def test_without_site_id_init_js_is_404_and_tokens_still_work(start_app):
    app = start_app()
    status, headers, body = app.get("/app-inbox/init.js")
    assert status == 404
    error = json.loads(body)
    assert error["error"] == "not_found" and "APP_INBOX_SITE_ID" in error["message"]
    assert app.token("alice@example.com")[0] == 200
    assert "init_script_unavailable" in app.log()


def subprocess_env(sandbox, **extra):
    return {"PATH": os.environ["PATH"], "APP_INBOX_API_KEY": API_KEY, "APP_INBOX_TOKEN_URL": sandbox.token_url,
            "APP_INBOX_CA_FILE": str(sandbox.ca), **extra}


def test_render_script_prints_what_the_route_serves(site, sandbox):
    _, served = script(site, "?lang=uk")
    result = subprocess.run([str(APP_BIN), "render-script", "--lang", "uk"], env=subprocess_env(sandbox, **INIT_ENV),
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == served
    unknown = subprocess.run([str(APP_BIN), "render-script", "--lang", "fr"], env=subprocess_env(sandbox, **INIT_ENV),
                             capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and "--lang" in unknown.stderr
    no_site = subprocess.run([str(APP_BIN), "render-script"], env=subprocess_env(sandbox), capture_output=True,
                             text=True, timeout=30)
    assert no_site.returncode == 2 and "APP_INBOX_SITE_ID" in no_site.stderr


def test_bad_init_script_settings_stop_startup_naming_each_variable(sandbox):
    env = subprocess_env(sandbox, APP_INBOX_SITE_ID="bad id", APP_INBOX_DEFAULT_LANGUAGE="de",
                         APP_INBOX_INIT_FLAGS="RECOMS", APP_INBOX_SCRIPT_MAX_AGE_S="-1")
    result = subprocess.run([str(APP_BIN), "--listen", "127.0.0.1:0"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    for variable in ("APP_INBOX_SITE_ID", "APP_INBOX_DEFAULT_LANGUAGE", "APP_INBOX_INIT_FLAGS",
                     "APP_INBOX_SCRIPT_MAX_AGE_S"):
        assert any(line.startswith(f"app-inbox-fcgi: {variable}: ") for line in lines), (variable, lines)


def test_check_config_says_why_init_js_is_off(sandbox):
    result = subprocess.run([str(APP_BIN), "check-config"], env=subprocess_env(sandbox), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0
    assert "APP_INBOX_SITE_ID=(unset: init.js answers 404" in result.stdout
    assert "APP_INBOX_LANGUAGES=en" in result.stdout
