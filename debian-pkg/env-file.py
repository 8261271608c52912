#!/usr/bin/env python3
"""Writes the package's /etc/app-inbox-fcgi/app-inbox-fcgi.env to stdout: every variable of
README.md's configuration table, commented out with its default and its meaning, so that the
file an admin edits documents itself and never falls behind the responder (a unit test holds
that table to the responder's settings)."""

import re
import sys
import textwrap
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
# Set by the package's unit or not meant for this file.
SKIPPED = {"APP_INBOX_API_KEY", "APP_INBOX_API_KEY_FILE", "FCGI_WEB_SERVER_ADDRS"}


def plain(markdown):
    """Table text without Markdown: links to their text, code spans to their content."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown)
    text = text.replace("\\|", "|")
    text = text.replace("`` ` ``", "\0")  # a code span holding a backtick
    return re.sub(r"`([^`]+)`", r"\1", text).replace("\0", "`")


def rows(readme):
    table = readme.split("## Configuration", 1)[1].split("\n\n")[2]
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        variable = cells[0].strip("`")
        if variable not in SKIPPED:
            yield variable, plain(cells[1]) or "(none)", plain(cells[2])


def main():
    out = [
        "# app-inbox-fcgi's settings, read at start and on `systemctl reload app-inbox-fcgi`",
        "# (app-inbox-fcgi(8); README.md.gz in /usr/share/doc/app-inbox-fcgi). One NAME=value per line;",
        "# a commented line shows the default. The API key is not set here: it is read from",
        "# /etc/app-inbox-fcgi/api-key (mode 0640, root:app-inbox-fcgi).",
        "#",
        "# After editing: systemctl reload app-inbox-fcgi (settings marked 'restart' in",
        "# `app-inbox-fcgi check-config --env-file /etc/app-inbox-fcgi/app-inbox-fcgi.env` take a restart).",
    ]
    for variable, default, meaning in rows(README.read_text(encoding="utf-8")):
        out.append("")
        out += textwrap.wrap(f"{meaning}.", width=96, initial_indent="# ", subsequent_indent="# ",
                             break_on_hyphens=False)
        value = "" if default.startswith("(") or " " in default else default
        out.append(f"#{variable}={value}" + ("" if value or default == "(none)" else f"  # default: {default}"))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
