"""The Apache deploys of README "Deploy", each through a real Apache (Debian's apache2) with the
example files from apache/: mod_proxy_fcgi to a running responder, mod_fcgid spawning it, the
shared-hosting .htaccess (plain CGI and mod_fcgid) with the `make dist` binary, its signed-identity
variant behind a PHP-session login run by php-cgi, and that binary without a Swift toolchain.
Routing must answer the same under nginx, mod_proxy_fcgi and mod_fcgid, although they fill
SCRIPT_NAME and PATH_INFO differently."""

import base64
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from apache import Apache, apache_user, example, give_to_apache
from stack import API_KEY, APP_BIN, ROOT, App, http_request, make_tls

USER, PASSWORD = "alice@example.com", "secret"  # in the htpasswd file App writes
TOKEN = re.compile(r"sbx-alice@example\.com-\d+")


def settings(sandbox):
    """What every responder here needs besides the key: the sandbox, and the signed-in user from
    REMOTE_USER, the user name Apache (or nginx) checked."""
    return {
        "APP_INBOX_TOKEN_URL": sandbox.token_url,
        "APP_INBOX_CA_FILE": str(sandbox.ca),
        "APP_INBOX_EMAIL_PARAM": "REMOTE_USER",
        "APP_INBOX_RATE_LIMIT_PER_MIN": "0",  # the tests ask for the same user many times a minute
        "APP_INBOX_SITE_ID": "test-site",  # for the init script's loader
    }


def get(port, path, method="GET", auth=(USER, PASSWORD), headers=None, tls=None):
    """One request, as USER unless `auth` says otherwise; returns (status, headers, body)."""
    answer = http_request(port, path, method=method, headers=headers, basic=auth, tls=tls)
    return answer.status, answer.headers, answer.body


def answer(port, path, method="GET", headers=None):
    """What the client sees of the responder's answer, with the per-call token number masked."""
    status, headers, body = get(port, path, method, headers=headers)
    fields = {name: headers.get(name) for name in ("content-type", "cache-control", "allow", "etag")}
    return status, fields, TOKEN.sub("sbx-alice@example.com-N", body.decode(errors="replace"))


def processes_running(binary):
    """PIDs of processes whose executable is `binary` (a copy only these tests run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "exe") == str(binary):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def socket_peers(path):
    """Names of the processes holding connections to the unix socket at `path` (from `ss -xp`:
    the accepted ends show the path and the peer's inode, the peers show their own inode)."""
    rows = [line.split() for line in subprocess.run(["ss", "-Hxp"], capture_output=True, text=True).stdout.splitlines()]
    accepted = {row[7] for row in rows if len(row) > 7 and row[1] == "ESTAB" and row[4] == str(path)}
    return {name for row in rows if len(row) > 8 and row[5] in accepted for name in re.findall(r'"([^"]+)"', row[8])}


def private_dir(path):
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)  # Apache's children run as www-data when we are root (docs/PITFALLS.md #16)
    return path


@pytest.fixture(scope="module")
def app(workdir, sandbox):
    """The responder as its own process on a unix socket, with nginx's Basic-auth server in front
    (App). Like the systemd socket unit, the socket's group is Apache's, mode 660."""
    instance = App(os.path.join(workdir, "apache-app"), sandbox, threads=32, env=settings(sandbox), listen="unix")
    if apache_user():
        os.chown(instance.socket_path, -1, apache_user()[3])
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def proxy(workdir, app):
    """apache/app-inbox-proxy.conf: mod_proxy_fcgi with enablereuse to the running responder."""
    body = example("app-inbox-proxy.conf", [("/run/app-inbox/app-inbox.sock", app.socket_path),
                                            ("/etc/apache2/app-inbox.htpasswd", app.dir / "htpasswd")])
    server = Apache(Path(workdir) / "apache-proxy", body, modules=["proxy", "proxy_fcgi"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fcgid(workdir, sandbox, app):
    """apache/app-inbox-fcgid.conf: Apache spawns the responder (a copy of the binary under test)."""
    home = private_dir(Path(workdir) / "fcgid-install")
    binary = home / "app-inbox-fcgi"
    shutil.copy(APP_BIN, binary)
    key = home / "api-key"
    key.write_text(API_KEY + "\n")
    os.chmod(key, 0o644)
    extra = "".join(f"    InitialEnv {name}={value} \\\n" for name, value in settings(sandbox).items()
                    if name != "APP_INBOX_EMAIL_PARAM")
    body = example("app-inbox-fcgid.conf", [
        ("/usr/local/bin/app-inbox-fcgi", binary), ("/etc/app-inbox/api-key", key),
        ("/etc/apache2/app-inbox.htpasswd", app.dir / "htpasswd"),
        ("    InitialEnv APP_INBOX_EMAIL_PARAM=REMOTE_USER \\\n",
         "    InitialEnv APP_INBOX_EMAIL_PARAM=REMOTE_USER \\\n" + extra)])
    server = Apache(Path(workdir) / "apache-fcgid", body, modules=["fcgid"])
    server.binary = binary
    yield server
    server.stop()
    # mod_fcgid's process manager stops what it spawned when Apache stops.
    deadline = time.monotonic() + 10
    while processes_running(binary) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_running(binary), "mod_fcgid left responders running after Apache stopped"


@pytest.fixture(scope="session")
def dist(workdir):
    """`make dist`, built once per session, unpacked as a user would."""
    result = subprocess.run(["make", "-s", "dist"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    tarball = ROOT / result.stdout.strip().splitlines()[-1]  # the last line names the tarball
    target = private_dir(Path(workdir) / "dist")
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="tar")
    [unpacked] = target.iterdir()
    return unpacked


# ---- mod_proxy_fcgi -----------------------------------------------------------------------------

def test_proxy_fcgi_token_with_basic_auth_identity(proxy, sandbox):
    status, headers, body = get(proxy.port, "/app-inbox/token")
    assert status == 200, proxy.error_log()
    assert TOKEN.fullmatch(body.decode().removeprefix('{"token":"').removesuffix('"}'))
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store, private"
    [recorded] = sandbox.requests()
    assert recorded["body"] == '{"email":"alice@example.com"}'


def test_proxy_fcgi_asks_for_the_password(proxy, sandbox):
    status, headers, _ = get(proxy.port, "/app-inbox/token", auth=None)
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    assert get(proxy.port, "/app-inbox/token", auth=(USER, "wrong"))[0] == 401
    assert sandbox.requests() == []


def test_proxy_fcgi_healthz_is_open_to_local_monitoring(proxy):
    status, headers, body = get(proxy.port, "/app-inbox/healthz", auth=None)
    assert (status, body) == (200, b"ok\n")


def test_init_js_is_open_and_status_is_local_under_proxy_fcgi_and_fcgid(proxy, fcgid):
    """Signed-out visitors' pages load init.js, so it needs no password; status is for operators:
    local addresses only (here, 127.0.0.1), without the password, as in nginx/app-inbox.conf."""
    for server, name in ((proxy, "app-inbox-proxy.conf"), (fcgid, "app-inbox-fcgid.conf")):
        status, headers, _ = get(server.port, "/app-inbox/init.js", auth=None)
        assert status == 200 and headers["content-type"].startswith("application/javascript"), (name, status)
        status, _, body = get(server.port, "/app-inbox/status", auth=None)
        assert status == 200 and b'"workers"' in body, (name, status)
        assert get(server.port, "/app-inbox/token", auth=None)[0] == 401, name
        assert re.search(r'<Location "/app-inbox/status">\s*Require local\s*</Location>', example(name)), name


def test_proxy_fcgi_reuses_its_connections(proxy, app):
    """enablereuse=on: sequential requests share kept connections and none stalls (docs/PITFALLS.md #15)."""
    started = time.monotonic()
    for _ in range(12):
        assert get(proxy.port, "/app-inbox/token")[0] == 200
    assert time.monotonic() - started < 5
    assert "apache2" in socket_peers(app.socket_path), "Apache keeps no connection to the responder"


def test_init_js_through_proxy_fcgi_answers_as_under_nginx(proxy, fcgid, app):
    """Whatever the init.js route answers (it was a 404 placeholder before issue 3), Apache passes
    the same on, conditional requests included."""
    nginx = answer(app.basic_port, "/app-inbox/init.js?lang=en")
    assert answer(proxy.port, "/app-inbox/init.js?lang=en") == nginx
    assert answer(fcgid.port, "/app-inbox/init.js?lang=en") == nginx
    if nginx[0] == 200:
        assert nginx[1]["content-type"].startswith("application/javascript")
        revalidate = {"If-None-Match": nginx[1]["etag"]}
        again = answer(app.basic_port, "/app-inbox/init.js?lang=en", headers=revalidate)
        assert again[0] == 304
        assert answer(proxy.port, "/app-inbox/init.js?lang=en", headers=revalidate)[0] == 304
        assert answer(fcgid.port, "/app-inbox/init.js?lang=en", headers=revalidate)[0] == 304


# ---- mod_fcgid ----------------------------------------------------------------------------------

def test_fcgid_spawns_the_responder_and_passes_the_identity(fcgid, sandbox):
    status, headers, body = get(fcgid.port, "/app-inbox/token")
    assert status == 200, fcgid.error_log()
    assert TOKEN.search(body.decode())
    assert headers["content-type"] == "application/json"
    assert [r["body"] for r in sandbox.requests()] == ['{"email":"alice@example.com"}']
    spawned = processes_running(fcgid.binary)
    assert 1 <= len(spawned) <= 8
    if apache_user():
        owner = Path(f"/proc/{spawned[0]}").stat().st_uid
        assert owner == apache_user()[2]  # Apache's user, not root
    assert get(fcgid.port, "/app-inbox/token", auth=None)[0] == 401
    status, _, body = get(fcgid.port, "/app-inbox/healthz", auth=None)
    assert (status, body) == (200, b"ok\n")


def test_fcgid_logs_go_to_apache_error_log(fcgid):
    get(fcgid.port, "/app-inbox/token")
    assert "route=token" in fcgid.error_log()
    assert API_KEY not in fcgid.error_log()


# ---- The same answers under every server --------------------------------------------------------

ROUTING_CASES = [
    ("GET", "/app-inbox/token"),
    ("POST", "/app-inbox/token?fresh=1"),
    ("GET", "/app-inbox/healthz"),
    ("HEAD", "/app-inbox/healthz"),
    ("GET", "/app-inbox/nope"),
    ("GET", "/app-inbox/"),
    ("GET", "/app-inbox/token/"),
    ("GET", "/app-inbox/token/extra"),
    ("GET", "/app-inbox/%74oken"),
    ("PUT", "/app-inbox/token"),
    ("DELETE", "/app-inbox/healthz"),
    ("GET", "/app-inbox/init.js"),
    ("HEAD", "/app-inbox/init.js"),
]


def test_routing_answers_the_same_under_nginx_proxy_fcgi_and_fcgid(app, proxy, fcgid):
    for method, path in ROUTING_CASES:
        nginx = answer(app.basic_port, path, method)
        assert answer(proxy.port, path, method) == nginx, (method, path, "mod_proxy_fcgi")
        assert answer(fcgid.port, path, method) == nginx, (method, path, "mod_fcgid")
    # The cases cover each kind of answer.
    statuses = {answer(app.basic_port, path, method)[0] for method, path in ROUTING_CASES}
    assert {200, 404, 405} <= statuses


# ---- Shared hosting: .htaccess only, with the release tarball's files ---------------------------

@pytest.fixture(scope="module", params=["cgi", "fcgid"])
def shared(request, workdir, sandbox, app, dist):
    """The README's shared-hosting recipe: the tarball's binary and apache/shared-hosting/ files in
    the directory that answers /app-inbox/. "cgi": a host with mod_cgid and no mod_fcgid."""
    module = "cgid" if request.param == "cgi" else "fcgid"
    server = Apache(Path(workdir) / f"apache-shared-{request.param}", "", modules=[module])
    site = private_dir(server.htdocs / "app-inbox")
    shutil.copy(dist / "app-inbox-fcgi", site)
    shutil.copy(dist / "apache/shared-hosting/app-inbox.cgi", site)
    (site / ".htaccess").write_text(example("shared-hosting/.htaccess", [
        ("/home/USER/app-inbox.htpasswd", app.dir / "htpasswd")]))
    env_file = site / "app-inbox.env"
    env_file.write_text(example("shared-hosting/app-inbox.env", [("replace-with-your-esputnik-api-key", API_KEY)])
                        + "".join(f"{name}={value}\n" for name, value in settings(sandbox).items()
                                  if name != "APP_INBOX_EMAIL_PARAM"))
    os.chmod(env_file, 0o644)  # no suEXEC here: the scripts run as Apache's user
    server.kind = request.param
    server.binary = site / "app-inbox-fcgi"
    yield server
    server.stop()


def test_shared_hosting_token_through_htaccess(shared, sandbox):
    status, headers, body = get(shared.port, "/app-inbox/token")
    assert status == 200, shared.error_log()
    assert TOKEN.search(body.decode()) and headers["content-type"] == "application/json"
    assert [r["body"] for r in sandbox.requests()] == ['{"email":"alice@example.com"}']
    assert get(shared.port, "/app-inbox/token", auth=None)[0] == 401
    if shared.kind == "fcgid":
        assert processes_running(shared.binary), "mod_fcgid keeps the responder running"
    else:
        assert not processes_running(shared.binary), "a CGI request ends its process"


def test_shared_hosting_routes_answer_like_the_responder(shared, app):
    for method, path in [("GET", "/app-inbox/healthz"), ("GET", "/app-inbox/nope"), ("PUT", "/app-inbox/token"),
                         ("POST", "/app-inbox/token")]:
        assert answer(shared.port, path, method) == answer(app.basic_port, path, method), (method, path)


def test_shared_hosting_opens_init_js_and_healthz_only(shared, sandbox):
    """init.js and healthz answer without the password (signed-out visitors' pages load init.js);
    every other route asks for it, however the request line mentions init.js; status needs the
    password and a request from the server itself (127.0.0.1 here)."""
    status, headers, _ = get(shared.port, "/app-inbox/init.js?lang=en", auth=None)
    assert status == 200 and headers["content-type"].startswith("application/javascript"), shared.error_log()
    status, _, body = get(shared.port, "/app-inbox/healthz", auth=None)
    assert (status, body) == (200, b"ok\n")
    for path in ("/app-inbox/token", "/app-inbox/token?x=/init.js", "/app-inbox/init.js/../token",
                 "/app-inbox/status"):
        assert get(shared.port, path, auth=None)[0] == 401, path
    status, _, body = get(shared.port, "/app-inbox/token/../init.js", auth=None)
    assert status == 404 and b"token" not in body, (status, body)
    status, _, body = get(shared.port, "/app-inbox/status")
    assert status == 200 and b'"workers"' in body
    assert sandbox.requests() == []


def test_shared_hosting_env_file_and_binary_cannot_be_fetched(shared):
    for name in ("app-inbox.env", "app-inbox-fcgi", ".htaccess"):
        status, _, body = get(shared.port, f"/app-inbox/{name}")
        assert status == 403, (name, status)
        assert API_KEY.encode() not in body
    for path in ("/app-inbox/app-inbox.env?x=1", "/app-inbox/APP-INBOX.ENV", "/app-inbox/app-inbox.cgi"):
        status, _, body = get(shared.port, path)
        assert API_KEY.encode() not in body and status in (403, 404), (path, status)


# ---- Shared hosting with signed identity: a PHP-session site, php-cgi, the kit's variant -----------

PHP_CGI = Path("/usr/lib/cgi-bin/php")  # Debian's php-cgi, where its Apache configuration points
COOKIE = "app_inbox_identity"

# The site's own PHP: a password check that stands in for the site's, and README "Shared
# hosting"'s lines (RECIPE) where the login succeeds, in every page, and at logout. PRIVATE is
# the account's directory outside the web root that holds issue.php and the secret.
RECIPE = """require_once 'PRIVATE/issue.php';
if (isset($_SESSION['user_email'])) {
    app_inbox_set_identity_cookie(app_inbox_identity_token(['email' => $_SESSION['user_email']],
        trim(file_get_contents('PRIVATE/identity-secret'))));
}
"""
SITE_PAGES = {
    "login.php": """<?php
declare(strict_types=1);
session_start();
$email = (string) ($_POST['email'] ?? '');
if ($email !== 'alice@example.com' || ($_POST['password'] ?? '') !== 'secret') {
    http_response_code(403);
    exit("wrong password\\n");
}
session_regenerate_id(true);
$_SESSION['user_email'] = $email;
""" + RECIPE + """echo "signed in\\n";
""",
    # Any page of the site: renews the cookie while the session lasts.
    "index.php": """<?php
declare(strict_types=1);
session_start();
""" + RECIPE + """echo isset($_SESSION['user_email']) ? "hello\\n" : "signed out\\n";
""",
    "logout.php": """<?php
declare(strict_types=1);
session_start();
$_SESSION = [];
session_destroy();
require_once 'PRIVATE/issue.php';
app_inbox_clear_identity_cookie();
echo "signed out\\n";
""",
}

# How a host runs PHP as its account's own program: php-cgi through mod_actions (Debian's
# php-cgi.conf) where scripts run as CGI, through FcgidWrapper where the host has mod_fcgid.
PHP_HOSTING = {
    "cgi": """
    ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
    <Directory "/usr/lib/cgi-bin">
        Options +ExecCGI
        Require all granted
    </Directory>
    <FilesMatch "\\.php$">
        SetHandler application/x-httpd-php
    </FilesMatch>
    Action application/x-httpd-php /cgi-bin/php
    SetEnv PHP_INI_SCAN_DIR ":{ini}"
""",
    "fcgid": """
    <Directory "{htdocs}">
        Options +ExecCGI
    </Directory>
    <FilesMatch "\\.php$">
        SetHandler fcgid-script
    </FilesMatch>
    FcgidWrapper {php} .php
    FcgidInitialEnv PHP_INI_SCAN_DIR ":{ini}"
""",
}


def processes_with_environment(entry):
    """PIDs of processes whose environment holds `entry` (NAME=value)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if entry.encode() in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module", params=["cgi", "fcgid"])
def php_site(request, workdir, sandbox):
    """A PHP-session site on shared hosting with the kit's signed-identity variant, as README
    "Shared hosting" sets it up: the site's PHP (php-cgi, run as the host runs it) signs the user
    in and sets the cookie; the responder (a copy of the binary under test, with the kit's
    app-inbox.cgi, signed-identity/.htaccess and signed-identity/app-inbox.env) verifies it. The
    secret and issue.php lie outside the web root, owned by the user scripts run as (suEXEC's
    account user; Apache's user here), mode 600. HTTPS, since the cookie is Secure."""
    if not os.access(PHP_CGI, os.X_OK):
        pytest.fail(f"{PHP_CGI} is missing: apt-get install php-cgi (scripts/install-deps --test)")
    root = Path(workdir) / f"apache-php-{request.param}"
    private_dir(root)
    _, cert, key = make_tls(private_dir(root / "tls"))
    home = private_dir(root / "home")
    private = home / "app-inbox-private"
    private.mkdir(mode=0o700)
    secret = private / "identity-secret"
    secret.write_text(base64.b64encode(secrets.token_bytes(48)).decode() + "\n")  # openssl rand -base64 48
    shutil.copy(ROOT / "examples/signed-identity/issue.php", private)
    sessions = private_dir(root / "php-sessions")
    ini = private_dir(root / "php")
    (ini / "test.ini").write_text(f'session.save_path = "{sessions}"\n')
    for path in (private, secret, private / "issue.php", sessions):
        give_to_apache(path)
    for path in (secret, private / "issue.php"):
        os.chmod(path, 0o600)
    os.chmod(sessions, 0o700)
    htdocs = private_dir(root / "htdocs")  # public_html
    for name, text in SITE_PAGES.items():
        (htdocs / name).write_text(text.replace("PRIVATE", str(private)))
    site = private_dir(htdocs / "app-inbox")
    shutil.copy(APP_BIN, site / "app-inbox-fcgi")
    shutil.copy(ROOT / "apache/shared-hosting/app-inbox.cgi", site)
    (site / ".htaccess").write_text(example("shared-hosting/signed-identity/.htaccess"))
    env_file = site / "app-inbox.env"
    env_file.write_text(example("shared-hosting/signed-identity/app-inbox.env", [
        ("replace-with-your-esputnik-api-key", API_KEY),
        ("/home/USER/app-inbox-private/identity-secret", secret)])
        + "".join(f"{name}={value}\n" for name, value in settings(sandbox).items()
                  if name != "APP_INBOX_EMAIL_PARAM"))
    give_to_apache(env_file)
    os.chmod(env_file, 0o600)
    hosting = PHP_HOSTING[request.param].format(ini=ini, php=PHP_CGI, htdocs=htdocs)
    body = f"""
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
{hosting}"""
    modules = ["ssl", "cgid", "actions"] if request.param == "cgi" else ["ssl", "fcgid"]
    server = Apache(root, body, modules=modules)
    server.kind = request.param
    server.binary = site / "app-inbox-fcgi"
    server.site = site
    server.secret = secret.read_text().strip()
    server.tls = root / "tls" / "ca.pem"
    yield server
    server.stop()
    marker = f"PHP_INI_SCAN_DIR=:{ini}"
    deadline = time.monotonic() + 10
    while (processes_running(server.binary) or processes_with_environment(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_running(server.binary), "responders left running after Apache stopped"
    assert not processes_with_environment(marker), "php-cgi left running after Apache stopped"


class Browser:
    """A client that keeps cookies as a browser does: Secure ones over HTTPS only, each sent only
    under its Path, an expired one deleted."""

    def __init__(self, server):
        self.base = f"https://127.0.0.1:{server.port}"
        self.jar = http.cookiejar.CookieJar()
        context = ssl.create_default_context(cafile=str(server.tls))
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                                  urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path, form=None, headers=None):
        """One request; returns (status, headers, body) for every status."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def cookie(self, name):
        return next((cookie for cookie in self.jar if cookie.name == name), None)

    def token(self):
        """The token route as the page's init script calls it: (status, JSON body)."""
        status, headers, body = self.open("/app-inbox/token")
        assert headers.get("Content-Type") == "application/json", (status, body)
        return status, json.loads(body)


def log_in(server):
    browser = Browser(server)
    status, headers, body = browser.open("/login.php", {"email": USER, "password": PASSWORD})
    assert (status, body) == (200, b"signed in\n"), (status, body, server.error_log()[-3000:])
    return browser, headers


def test_shared_hosting_readme_recipe_is_what_the_site_pages_run():
    """README "Shared hosting" shows the lines these tests' PHP pages run, with the account's paths."""
    shown = RECIPE.replace("PRIVATE", "/home/USER/app-inbox-private")
    readme = (ROOT / "README.md").read_text()
    assert "".join(f"   {line}\n" for line in shown.splitlines()) in readme
    assert "   app_inbox_clear_identity_cookie();\n" in readme
    for name in ("signed-identity/.htaccess", "signed-identity/app-inbox.env"):
        assert f"apache/shared-hosting/{name}" in readme, name
    assert "/home/USER/app-inbox-private/identity-secret" in example("shared-hosting/signed-identity/app-inbox.env")


def test_shared_hosting_php_session_login_signs_in_to_the_token_route(php_site, sandbox):
    browser = Browser(php_site)
    status, body = browser.token()
    assert (status, body["error"]) == (401, "unauthenticated"), php_site.error_log()[-3000:]
    assert browser.open("/login.php", {"email": USER, "password": "wrong"})[0] == 403
    assert browser.cookie(COOKIE) is None

    browser, headers = log_in(php_site)
    [set_cookie] = [value for value in headers.get_all("Set-Cookie") if value.startswith(COOKIE + "=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in set_cookie.split(";")[1:]}
    assert attributes["path"] == "path=/app-inbox/" and attributes["samesite"] == "SameSite=Lax", set_cookie
    assert {"secure", "httponly", "expires"} <= attributes.keys() and "domain" not in attributes, set_cookie
    assert browser.cookie("PHPSESSID") is not None

    status, body = browser.token()
    assert status == 200 and TOKEN.fullmatch(body["token"]), (status, body, php_site.error_log()[-3000:])
    assert [r["body"] for r in sandbox.requests()] == ['{"email":"alice@example.com"}']

    # The session, not the cookie, is what the site trusts: without the cookie the token route
    # answers 401, and the next page of the site sets it again.
    browser.jar.clear("127.0.0.1", "/app-inbox/", COOKIE)
    assert browser.token()[0] == 401
    assert browser.open("/index.php")[2] == b"hello\n"
    status, body = browser.token()
    assert status == 200 and TOKEN.fullmatch(body["token"]), (status, body)

    # Logout clears the cookie with the session; the site's pages no longer set it.
    assert browser.open("/logout.php")[:3:2] == (200, b"signed out\n")
    assert browser.cookie(COOKIE) is None
    assert browser.open("/index.php")[2] == b"signed out\n"
    assert browser.cookie(COOKIE) is None
    status, body = browser.token()
    assert (status, body["error"]) == (401, "unauthenticated"), (status, body)
    assert len(sandbox.requests()) == 2
    if php_site.kind == "fcgid":
        assert processes_running(php_site.binary), "mod_fcgid keeps the responder running"
    else:
        assert not processes_running(php_site.binary), "a CGI request ends its process"


def test_shared_hosting_php_session_tampered_cookie_is_refused(php_site, sandbox):
    browser, _ = log_in(php_site)
    token = browser.cookie(COOKIE).value
    header, claims, signature = token.split(".")
    padded = claims + "=" * (-len(claims) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(padded))
    assert decoded["email"] == USER and decoded["aud"] == "app-inbox"
    victim = base64.urlsafe_b64encode(json.dumps(decoded | {"email": "victim@example.com"}).encode())
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{header}.{victim.rstrip(b'=').decode()}.{signature}", f"{header}.{claims}.{flipped}"):
        answer = http_request(php_site.port, "/app-inbox/token", tls=php_site.tls,
                              headers={"Cookie": f"PHPSESSID=x; {COOKIE}={forged}"})
        assert answer.status == 401 and answer.json()["error"] == "invalid_identity_token", answer
    assert sandbox.requests() == []
    answer = http_request(php_site.port, "/app-inbox/token", tls=php_site.tls, headers={"Cookie": f"{COOKIE}={token}"})
    assert answer.status == 200 and TOKEN.fullmatch(answer.json()["token"]), answer


def test_shared_hosting_signed_identity_bearer_needs_cgipassauth(php_site, sandbox):
    """Apache hands Authorization to CGI and mod_fcgid programs only with CGIPassAuth On, the
    commented line of the kit's .htaccess: without it a Bearer token never arrives."""
    browser, _ = log_in(php_site)
    bearer = {"Authorization": "Bearer " + browser.cookie(COOKIE).value}
    answer = http_request(php_site.port, "/app-inbox/token", tls=php_site.tls, headers=bearer)
    assert answer.status == 401 and answer.json()["error"] == "unauthenticated", answer
    htaccess = php_site.site / ".htaccess"
    shipped = htaccess.read_text()
    assert "\n#CGIPassAuth On\n" in shipped
    htaccess.write_text(shipped.replace("\n#CGIPassAuth On\n", "\nCGIPassAuth On\n"))
    try:
        answer = http_request(php_site.port, "/app-inbox/token", tls=php_site.tls, headers=bearer)
    finally:
        htaccess.write_text(shipped)
    assert answer.status == 200 and TOKEN.fullmatch(answer.json()["token"]), (answer, php_site.error_log()[-3000:])


def test_shared_hosting_signed_identity_routes_and_files(php_site, sandbox):
    """Without a password init.js and healthz answer; status only to the server itself (here
    127.0.0.1); the secret, issue.php, the env file and the binary cannot be fetched, and a
    secret uploaded into the directory by mistake answers 403 as well."""
    status, headers, _ = get(php_site.port, "/app-inbox/init.js?lang=en", auth=None, tls=php_site.tls)
    assert status == 200 and headers["content-type"].startswith("application/javascript"), php_site.error_log()
    assert get(php_site.port, "/app-inbox/healthz", auth=None, tls=php_site.tls)[::2] == (200, b"ok\n")
    status, _, body = get(php_site.port, "/app-inbox/status", auth=None, tls=php_site.tls)
    assert status == 200 and b'"workers"' in body
    misplaced = php_site.site / "identity-secret"
    misplaced.write_text(php_site.secret + "\n")
    try:
        for path in ("/app-inbox/app-inbox.env", "/app-inbox/app-inbox-fcgi", "/app-inbox/.htaccess",
                     "/app-inbox/identity-secret", "/app-inbox/app-inbox.env?x=1"):
            status, _, body = get(php_site.port, path, auth=None, tls=php_site.tls)
            assert status == 403, (path, status)
            assert php_site.secret.encode() not in body and API_KEY.encode() not in body, path
    finally:
        misplaced.unlink()
    # The web root is htdocs/; the secret and issue.php lie in ../home/app-inbox-private/.
    for path in ("/app-inbox-private/identity-secret", "/home/app-inbox-private/identity-secret",
                 "/../home/app-inbox-private/issue.php", "/app-inbox/identity-secret",
                 "/app-inbox/%2e%2e/%2e%2e/home/app-inbox-private/identity-secret"):
        status, _, body = get(php_site.port, path, auth=None, tls=php_site.tls)
        assert status in (400, 403, 404) and php_site.secret.encode() not in body, (path, status)
        assert b"app_inbox_identity_token" not in body, path
    assert "every local user can read" not in php_site.error_log()
    assert sandbox.requests() == []


# ---- The release tarball ------------------------------------------------------------------------

SYSTEM_LIBRARIES = {"libfcgi.so.0", "libcurl.so.4", "libcrypto.so.3", "libssl.so.3", "libstdc++.so.6",
                    "libgcc_s.so.1", "libm.so.6", "libc.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def test_dist_tarball_holds_the_binary_examples_and_install_text(dist):
    for name in ("app-inbox-fcgi", "INSTALL", "README.md", "app-inbox-fcgi.8", "nginx/app-inbox.conf",
                 "apache/app-inbox-proxy.conf", "apache/app-inbox-fcgid.conf", "apache/shared-hosting/.htaccess",
                 "apache/shared-hosting/app-inbox.cgi", "apache/shared-hosting/app-inbox.env",
                 "apache/shared-hosting/signed-identity/.htaccess",
                 "apache/shared-hosting/signed-identity/app-inbox.env", "examples/signed-identity/issue.php",
                 "examples/signed-identity/README.md",
                 "systemd/app-inbox-fcgi.service", "systemd/app-inbox-fcgi.socket", "docs/SECURITY.md",
                 "docs/PITFALLS.md", "docs/ARCHITECTURE.md"):
        assert (dist / name).is_file(), name
    for executable in ("app-inbox-fcgi", "apache/shared-hosting/app-inbox.cgi"):
        assert os.access(dist / executable, os.X_OK), executable
    assert not list(dist.glob("nginx/*.in")), "the demo's nginx template is not an example"


def test_dist_binary_needs_only_system_c_libraries(dist):
    binary = dist / "app-inbox-fcgi"
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic))
    assert needed <= SYSTEM_LIBRARIES, needed - SYSTEM_LIBRARIES
    assert {"libfcgi.so.0", "libcurl.so.4", "libcrypto.so.3"} <= needed
    runpath = " ".join(re.findall(r"R(?:UN)?PATH\)\s+Library r(?:un)?path: \[(.+?)\]", dynamic))
    assert "swift" not in runpath.lower(), runpath
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env={"LD_LIBRARY_PATH": ""}).stdout
    assert "libswift" not in ldd and "not found" not in ldd, ldd


def swift_runtime_dir():
    swift = shutil.which("swift")
    if not swift:
        return None
    runtime = Path(os.path.realpath(swift)).parent.parent / "lib" / "swift" / "linux"
    return runtime if runtime.is_dir() else None


def test_dist_binary_answers_a_token_as_cgi_without_the_swift_runtime(dist, sandbox, tmp_path):
    """CGI mode, an empty LD_LIBRARY_PATH, and (where a private mount namespace is allowed) the
    toolchain's runtime directory hidden behind an empty one."""
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "", "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": "GET", "REQUEST_URI": "/app-inbox/token", "REMOTE_USER": USER,
           "APP_INBOX_API_KEY": API_KEY, **settings(sandbox)}
    command = [str(dist / "app-inbox-fcgi")]
    runtime = swift_runtime_dir()
    namespaces = shutil.which("unshare") and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0
    if runtime and namespaces:
        empty = tmp_path / "empty"
        empty.mkdir()
        hide = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"', str(empty), str(runtime)]
        # The control: the toolchain-linked build cannot start with the runtime hidden.
        control = subprocess.run([*hide, str(APP_BIN), "--version"], capture_output=True, text=True)
        assert control.returncode != 0 and "libswift" in control.stderr, control
        command = [*hide, *command]
    result = subprocess.run(command, env=env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200"), result.stdout
    assert TOKEN.fullmatch(body.decode().removeprefix('{"token":"').removesuffix('"}')), body
