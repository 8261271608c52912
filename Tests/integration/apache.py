"""A real Apache (Debian's apache2) for the deploy tests: its own ServerRoot, 127.0.0.1 and a free
high port, started in the foreground and stopped by its PID."""

import grp
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from stack import ROOT, free_port, stop, wait_for_port

APACHE = os.environ.get("APACHE") or shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path(os.environ.get("APACHE_MODULES", "/usr/lib/apache2/modules"))
EXAMPLES = ROOT / "apache"

# What the tests load; each deploy variant adds its own (proxy_fcgi, fcgid, cgid, ...).
BASE_MODULES = ["mpm_event", "authz_core", "authz_host", "authz_user", "authn_core", "authn_file", "auth_basic",
                "mime", "env", "setenvif", "dir", "alias", "rewrite", "headers"]


def apache_user():
    """As root, Apache must hand its children to an unprivileged user (docs/PITFALLS.md #16)."""
    if os.geteuid() != 0:
        return None
    for name in ("www-data", "apache", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return name, grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user for Apache's children")


def give_to_apache(path):
    """Lets Apache's children write `path` (a runtime directory) when we run as root."""
    user = apache_user()
    if user:
        os.chown(path, user[2], user[3])


def example(name, replacements=()):
    """An example config from apache/, with test paths and ports put in for production ones."""
    text = (EXAMPLES / name).read_text()
    for old, new in replacements:
        assert old in text, f"{name} no longer contains {old!r}: update the test"
        text = text.replace(old, str(new))
    return text


class Apache:
    """apache2 -DFOREGROUND with a generated httpd.conf; `body` goes into a <VirtualHost>."""

    def __init__(self, root, body, modules=(), server=""):
        self.root = Path(root)
        self.htdocs = self.root / "htdocs"
        self.run_dir = self.root / "run"
        for directory in (self.root, self.htdocs, self.run_dir, self.root / "fcgid"):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o755)
        give_to_apache(self.run_dir)
        give_to_apache(self.root / "fcgid")
        self.port = free_port()
        user = apache_user()
        user_lines = f"User {user[0]}\nGroup {user[1]}" if user else ""
        loads = "\n".join(f"LoadModule {name}_module {MODULES}/mod_{name}.so"
                          for name in dict.fromkeys([*BASE_MODULES, *modules]))
        self.conf = self.root / "httpd.conf"
        self.conf.write_text(f"""
ServerRoot "{self.root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.root}/httpd.pid"
DefaultRuntimeDir "{self.run_dir}"
ErrorLog "{self.root}/error.log"
LogLevel info
{user_lines}
{loads}
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
TypesConfig /etc/mime.types
LogFormat "%h %u \\"%r\\" %>s %b" common
CustomLog "{self.root}/access.log" common
<IfModule cgid_module>
    ScriptSock "{self.run_dir}/cgid.sock"
</IfModule>
<IfModule fcgid_module>
    FcgidIPCDir "{self.root}/fcgid"
    FcgidProcessTableFile "{self.root}/fcgid/shm"
</IfModule>
DocumentRoot "{self.htdocs}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{self.htdocs}">
    Options FollowSymLinks
    AllowOverride All
    Require all granted
</Directory>
<Files ".ht*">
    Require all denied
</Files>
{server}
<VirtualHost 127.0.0.1:{self.port}>
{body}
</VirtualHost>
""")
        check = subprocess.run([APACHE, "-t", "-f", str(self.conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([APACHE, "-f", str(self.conf), "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "stderr.log", "wb"))
        wait_for_port(self.port, proc=self.proc)

    def error_log(self):
        return (self.root / "error.log").read_text(errors="replace")

    def stop(self):
        # SIGTERM stops Apache at once; mod_fcgid's process manager then stops the processes it spawned.
        stop(self.proc, signal.SIGTERM)
