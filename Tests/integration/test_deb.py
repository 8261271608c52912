"""The Debian package (`make deb`, README "Deploy"): what it holds, what lintian says, and what it
does in a fresh Debian 12 root made by debootstrap (cached in .build-deb/ between runs): apt
installs it with its dependencies from Debian, the previous version's edited conffile survives
the upgrade, the responder answers a CGI request and, run as its unit runs it (the socket on fd 0,
the package's user, the key file it can read), a token through nginx; `systemctl reload`
(SIGHUP) rotates the key, and `apt-get purge` leaves only what policy says. There is no systemd
as PID 1 in the root: the unit's lines are carried out as systemd would."""

import base64
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from stack import API_KEY, ROOT, ROTATED_API_KEY, http_request, nginx_for_socket, stop

VERSION = subprocess.run(["sed", "-n", 's/.*static let version = "\\(.*\\)"/\\1/p',
                          str(ROOT / "Sources/AppInbox/Config/Config.swift")], capture_output=True, text=True).stdout.strip()
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
DEB = ROOT / "dist" / f"app-inbox-fcgi_{VERSION}-1_{ARCH}.deb"
PREVIOUS = "0.0.9-1"
CACHE = ROOT / ".build-deb" / "bookworm-minbase.tar"
ENV_FILE = "/etc/app-inbox-fcgi/app-inbox-fcgi.env"
KEY_FILE = "/etc/app-inbox-fcgi/api-key"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root")


def run(*args, check=True, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert not check or result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def in_root(root, *args, check=True, env=None):
    """A command inside the Debian root, as root, with apt's non-interactive settings."""
    environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    return run("chroot", str(root), *args, check=check, env=environment | (env or {}))


def debian_root(directory):
    """A pristine Debian 12 minbase root: debootstrap once (about a minute from Debian's mirror),
    then a copy of that for every run."""
    if not CACHE.exists():
        CACHE.parent.mkdir(exist_ok=True)
        made = directory.parent / "debootstrap"
        run("debootstrap", "--variant=minbase", "bookworm", str(made), "http://deb.debian.org/debian")
        with tarfile.open(CACHE.with_suffix(".partial"), "w") as archive:
            archive.add(made, arcname=".")
        CACHE.with_suffix(".partial").rename(CACHE)
        shutil.rmtree(made)
    directory.mkdir()
    run("tar", "-xf", str(CACHE), "-C", str(directory))
    shutil.copy("/etc/resolv.conf", directory / "etc/resolv.conf")
    return directory


@pytest.fixture(scope="module")
def root(tmp_path_factory, sandbox):
    """The root with the previous version installed, its env file edited by the admin, the key
    set, then the package of this tree installed over it, as an upgrade."""
    assert DEB.exists(), f"{DEB} is missing: make deb (make test builds it)"
    base = tmp_path_factory.mktemp("deb")
    os.chmod(base, 0o755)
    target = debian_root(base / "root")
    # Swift's runtime reads a static binary's arguments from /proc/self/cmdline: without /proc, a
    # command in the root would run as if it had none (docs/PITFALLS.md #31).
    run("mount", "-t", "proc", "proc", str(target / "proc"))
    try:
        yield install(target, base, sandbox)
    finally:
        run("umount", str(target / "proc"))


def install(target, base, sandbox):
    previous = run(str(ROOT / "scripts/build-deb"), "--version", PREVIOUS, "--out", str(base)).stdout.strip()
    for deb in (previous, DEB):
        shutil.copy(deb, target / "tmp")
    in_root(target, "apt-get", "update", "-qq")
    in_root(target, "apt-get", "install", "-y", "-qq", f"/tmp/{Path(previous).name}")
    # The admin's edits: eSputnik's stand-in and its CA, and the key in the file made for it.
    shutil.copy(sandbox.ca, target / "etc/app-inbox-fcgi/esputnik-ca.pem")
    os.chmod(target / "etc/app-inbox-fcgi/esputnik-ca.pem", 0o644)
    with open(target / ENV_FILE.lstrip("/"), "a") as env:
        env.write(f"APP_INBOX_TOKEN_URL={sandbox.token_url}\nAPP_INBOX_CA_FILE=/etc/app-inbox-fcgi/esputnik-ca.pem\n"
                  "APP_INBOX_RATE_LIMIT_PER_MIN=0\n")
    (target / KEY_FILE.lstrip("/")).write_text(API_KEY + "\n")
    in_root(target, "apt-get", "install", "-y", "-qq", f"/tmp/{DEB.name}")
    return target


def test_package_holds_its_files_with_their_modes_conffiles_and_dependencies(tmp_path):
    listing = run("dpkg-deb", "-c", str(DEB)).stdout
    entries = {line.split()[-1]: line.split()[:2] for line in listing.splitlines()}
    expected = {
        "./usr/sbin/app-inbox-fcgi": "-rwxr-xr-x", "./usr/share/man/man8/app-inbox-fcgi.8.gz": "-rw-r--r--",
        "./lib/systemd/system/app-inbox-fcgi.service": "-rw-r--r--",
        "./lib/systemd/system/app-inbox-fcgi.socket": "-rw-r--r--",
        "./etc/app-inbox-fcgi/app-inbox-fcgi.env": "-rw-r--r--",
        "./usr/share/doc/app-inbox-fcgi/copyright": "-rw-r--r--",
        "./usr/share/doc/app-inbox-fcgi/changelog.Debian.gz": "-rw-r--r--",
        "./usr/share/doc/app-inbox-fcgi/examples/nginx/app-inbox.conf": "-rw-r--r--",
        "./usr/share/doc/app-inbox-fcgi/examples/apache/app-inbox-proxy.conf": "-rw-r--r--",
        "./usr/share/doc/app-inbox-fcgi/examples/signed-identity/issue.php": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert entries.get(path) == [mode, "root/root"], (path, entries.get(path))
    # The key is the admin's: the package ships no key file, postinst makes an empty one.
    assert not any("api-key" in path for path in entries)
    assert run("dpkg-deb", "-f", str(DEB), "Version").stdout.strip() == f"{VERSION}-1"
    depends = run("dpkg-deb", "-f", str(DEB), "Depends").stdout
    for needed in ("libcurl4 (>= 7.85.0)", "libfcgi0ldbl", "libssl3", "adduser", "procps"):
        assert needed in depends, depends
    assert "libswift" not in depends and "hiredis" not in depends, depends
    run("dpkg-deb", "-e", str(DEB), str(tmp_path / "control"))
    assert (tmp_path / "control/conffiles").read_text().split() == [ENV_FILE]
    # The examples name the package's paths, not those of a tarball in /usr/local.
    run("dpkg-deb", "-x", str(DEB), str(tmp_path / "files"))
    examples = tmp_path / "files/usr/share/doc/app-inbox-fcgi/examples"
    nginx = (examples / "nginx/app-inbox.conf").read_text()
    assert "unix:/run/app-inbox-fcgi/app-inbox-fcgi.sock" in nginx and "/run/app-inbox/" not in nginx
    assert "/usr/sbin/app-inbox-fcgi" in (examples / "apache/app-inbox-fcgid.conf").read_text()


def test_every_setting_is_in_the_env_file_commented_out():
    env = run(str(ROOT / "debian-pkg/env-file.py")).stdout
    settings = run(str(ROOT / ".build-dist/release/app-inbox-fcgi"), "check-config",
                   env={"PATH": "/usr/bin:/bin", "APP_INBOX_API_KEY": "k"}).stdout
    variables = {line.split("=", 1)[0] for line in settings.splitlines() if line.startswith("APP_INBOX_")}
    assert variables - {"APP_INBOX_API_KEY"}, settings
    for variable in variables - {"APP_INBOX_API_KEY"}:
        assert f"\n#{variable}=" in env, variable
    assert not [line for line in env.splitlines() if line and not line.startswith("#")], "a setting is not commented out"


def test_lintian_finds_no_error_and_only_the_explained_warnings():
    result = run("lintian", "--pedantic", str(DEB), check=False)
    tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:", "I:", "P:")]
    # Explained in the release note: a package made outside Debian closes no ITP bug.
    assert [tag.split()[2] for tag in tags] == ["initial-upload-closes-no-bugs"], result.stdout + result.stderr


def test_apt_installs_it_with_its_user_its_key_file_and_the_socket_enabled(root):
    assert in_root(root, "dpkg-query", "-W", "-f", "${Version} ${Status}", "app-inbox-fcgi").stdout == \
        f"{VERSION}-1 install ok installed"
    assert in_root(root, "getent", "passwd", "app-inbox-fcgi").stdout.split(":")[6].strip() == "/usr/sbin/nologin"
    key = os.stat(root / KEY_FILE.lstrip("/"))
    group = in_root(root, "getent", "group", "app-inbox-fcgi").stdout.split(":")[2]
    assert (oct(key.st_mode & 0o777), key.st_uid, key.st_gid) == ("0o640", 0, int(group))
    # Every installed file as the package's md5sums say; only the admin's edited conffile differs.
    changed = in_root(root, "dpkg", "--verify", "app-inbox-fcgi", check=False).stdout.splitlines()
    assert [line.split()[-1] for line in changed] == [ENV_FILE], changed
    wanted = root / "etc/systemd/system/sockets.target.wants/app-inbox-fcgi.socket"
    assert wanted.is_symlink() and os.readlink(wanted) == "/lib/systemd/system/app-inbox-fcgi.socket"


def test_an_upgrade_keeps_the_admins_env_file_and_key(root, sandbox):
    env = (root / ENV_FILE.lstrip("/")).read_text()
    assert f"APP_INBOX_TOKEN_URL={sandbox.token_url}" in env and "\n#APP_INBOX_LOG_LEVEL=" in env
    assert (root / KEY_FILE.lstrip("/")).read_text() == API_KEY + "\n"
    assert not list((root / "etc/app-inbox-fcgi").glob("*.dpkg-*")), "dpkg left a conffile copy: it asked"


def test_check_config_and_a_cgi_request_inside_the_root(root):
    key_env = {"APP_INBOX_API_KEY_FILE": KEY_FILE}
    checked = in_root(root, "/usr/sbin/app-inbox-fcgi", "check-config", "--env-file", ENV_FILE, env=key_env)
    assert "APP_INBOX_API_KEY=(set" in checked.stdout and API_KEY not in checked.stdout + checked.stderr
    cgi = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "REQUEST_URI": "/app-inbox/token",
           "INBOX_EMAIL": "alice@example.com"} | key_env
    answer = in_root(root, "/usr/sbin/app-inbox-fcgi", "--env-file", ENV_FILE, env=cgi).stdout
    assert "Status: 200" in answer and '{"token":"sbx-alice@example.com-' in answer, answer


def test_the_installed_units_verify(root, tmp_path):
    # On this machine's systemd (the root has none); ExecStart pointed at the root's binary, which
    # verify checks exists. ExecReload's /bin/kill comes with procps, a dependency.
    assert (root / "bin/kill").exists()
    for name in ("app-inbox-fcgi.service", "app-inbox-fcgi.socket"):
        text = (root / "lib/systemd/system" / name).read_text()
        (tmp_path / name).write_text(text.replace("ExecStart=/usr/sbin/", f"ExecStart={root}/usr/sbin/"))
    result = run("systemd-analyze", "verify", "--man=no", str(tmp_path / "app-inbox-fcgi.socket"),
                 str(tmp_path / "app-inbox-fcgi.service"), check=False)
    assert result.returncode == 0 and "app-inbox-fcgi" not in result.stderr, result.stderr


def test_the_service_as_systemd_runs_it_answers_through_nginx_and_reloads_a_new_key(root, sandbox, tmp_path):
    service = (root / "lib/systemd/system/app-inbox-fcgi.service").read_text()
    lines = [line.split("=", 1) for line in service.splitlines() if "=" in line and not line.startswith("#")]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "INVOCATION_ID": "0123456789abcdef0123456789abcdef"}
    env.update(dict(value.split("=", 1) for name, value in lines if name == "Environment"))
    command = shlex.split(next(value for name, value in lines if name == "ExecStart"))
    user = next(value for name, value in lines if name == "User")
    # The socket unit's socket, made where it says, with the mode it says (our nginx's workers
    # run as root, standing in for www-data).
    socket_path = root / "run/app-inbox-fcgi/app-inbox-fcgi.sock"
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o660)
    listener.listen(1024)
    journal = tmp_path / "journal.log"
    proc = subprocess.Popen(["chroot", f"--userspec={user}:{user}", str(root), *command], env=env,
                            stdin=listener.fileno(), stdout=open(journal, "wb"), stderr=subprocess.STDOUT)
    nginx, port = nginx_for_socket(tmp_path, socket_path)
    try:
        def token():
            answer = http_request(port, "/app-inbox/token", headers={"X-Test-Email": "alice@example.com"}, timeout=15)
            assert answer.status == 200 and answer.body.startswith(b'{"token":"sbx-alice@example.com-'), \
                (answer.status, answer.body, journal.read_text())

        token()
        # systemctl reload app-inbox-fcgi: ExecReload sends SIGHUP, and the key file is read again.
        (root / KEY_FILE.lstrip("/")).write_text(ROTATED_API_KEY + "\n")
        os.kill(proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "api_key=rotated" not in journal.read_text():
            assert time.monotonic() < deadline, journal.read_text()
            time.sleep(0.05)
        token()
        sent = base64.b64decode(sandbox.requests()[-1]["authorization"].removeprefix("Basic ")).decode()
        assert sent.partition(":")[2] == ROTATED_API_KEY
        log = journal.read_text()
        assert API_KEY not in log and ROTATED_API_KEY not in log
    finally:
        nginx.stop()
        assert stop(proc) == 0, journal.read_text()
        listener.close()
        (root / KEY_FILE.lstrip("/")).write_text(API_KEY + "\n")


def test_purge_leaves_nothing_but_the_system_user(root):
    files = [path for path in in_root(root, "dpkg", "-L", "app-inbox-fcgi").stdout.split()
             if not (root / path.lstrip("/")).is_dir()]
    in_root(root, "apt-get", "purge", "-y", "-qq", "app-inbox-fcgi")
    assert files and [path for path in files if (root / path.lstrip("/")).exists()] == []
    # The package's files and the key are gone; what the admin added there is theirs (dpkg never
    # removes files it did not install).
    assert sorted(os.listdir(root / "etc/app-inbox-fcgi")) == ["esputnik-ca.pem"]
    assert not (root / "etc/systemd/system/sockets.target.wants/app-inbox-fcgi.socket").exists()
    # Debian policy: a system user stays, as files it owned may remain (adduser's manual).
    assert in_root(root, "getent", "passwd", "app-inbox-fcgi").returncode == 0
