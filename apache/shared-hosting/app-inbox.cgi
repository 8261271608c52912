#!/bin/sh
# Starts app-inbox-fcgi from this directory with the settings in app-inbox.env beside it.
# Apache runs this script as a CGI program (one request, then exit) or, under mod_fcgid, as a
# FastCGI application with its socket on fd 0; exec hands both to the binary unchanged.
# --no-supervise: mod_fcgid watches and restarts its processes itself.
case $0 in */*) cd "${0%/*}" || exit 1 ;; esac
exec ./app-inbox-fcgi --threads 1 --env-file ./app-inbox.env --no-supervise
