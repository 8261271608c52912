# app-inbox-fcgi — `make run` starts the demo, `make test` runs every test.
SWIFT ?= swift
BIN := .build/release

.PHONY: all deps build test unit integration sanitize run clean static dist deb install lint format

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build -c release

# The format check and a build in which any warning is an error, the unit tests (Swift
# Testing), the Debian package, the integration suite (pytest) through a real nginx (and the
# package in a debootstrapped Debian 12 root), the benchmark harness's quick
# mode (every contender must answer 200s; see BENCHMARKS.md), every fuzz target for 30 s, and the
# unit and hardest integration tests under ASan and TSan.
test:
	@scripts/install-deps --test --bench
	$(MAKE) --no-print-directory lint
	$(SWIFT) build -c release -Xswiftc -warnings-as-errors
	$(SWIFT) test -Xswiftc -warnings-as-errors
	$(MAKE) --no-print-directory deb
	APP_INBOX_BIN_DIR=$(BIN) python3 -m pytest -q Tests/integration
	APP_INBOX_BIN_DIR=$(BIN) bench/run --quick
	scripts/fuzz --seconds 30
	scripts/sanitize

# The unit tests and the hardest integration tests under AddressSanitizer and ThreadSanitizer.
sanitize:
	@scripts/install-deps --test
	scripts/sanitize

unit:
	$(SWIFT) test

# .swift-format's rules; `make format` applies them.
SWIFT_SOURCES := Sources Tests/AppInboxTests Package.swift Fuzz/Sources Fuzz/Package.swift
lint:
	$(SWIFT) format lint --strict --recursive $(SWIFT_SOURCES)

format:
	$(SWIFT) format format --in-place --recursive $(SWIFT_SOURCES)

integration:
	$(SWIFT) build -c release
	APP_INBOX_BIN_DIR=$(BIN) python3 -m pytest -q Tests/integration

# libFuzzer targets for the parsers (Fuzz/README.md), in .build-fuzz/: 300 s each, or 30 s each.
.PHONY: fuzz fuzz-quick
fuzz:
	scripts/fuzz --seconds 300

fuzz-quick:
	scripts/fuzz --seconds 30

# nginx on 127.0.0.1:8080 in front of app-inbox-fcgi and the eSputnik sandbox; Ctrl-C stops all.
run: build
	@scripts/demo

# The release binary with the Swift runtime linked in (--static-swift-stdlib): it needs only
# libfcgi, libcurl, OpenSSL, libstdc++ and libc from the host. Its own scratch path, so that it
# does not disturb .build/.
DIST_SCRATCH := .build-dist
STATIC_BIN := $(DIST_SCRATCH)/release/app-inbox-fcgi
VERSION := $(shell sed -n 's/.*static let version = "\(.*\)"/\1/p' Sources/AppInbox/Config/Config.swift)
DIST_NAME := app-inbox-fcgi-$(VERSION)-linux-$(shell uname -m)

static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(DIST_SCRATCH) --product app-inbox-fcgi \
		-Xlinker -z -Xlinker now
	@if ldd $(STATIC_BIN) | grep libswift; then echo "$(STATIC_BIN) needs the Swift runtime" >&2; exit 1; fi

# The issuers a site pastes into its login code (README "Signed identity", "Shared hosting").
SIGNED_IDENTITY_EXAMPLES := $(wildcard $(addprefix examples/signed-identity/*.,md php js py))

# Copies the example configs into $(1), with the binary's path rewritten for PREFIX.
define copy-examples
	install -d $(1)/nginx
	cp -R apache systemd $(1)/
	cp nginx/app-inbox.conf $(1)/nginx/
	grep -rlZ /usr/local/bin/app-inbox-fcgi $(1) | xargs -0 -r $(REPREFIX) -i
endef

# dist/$(DIST_NAME).tar.gz: the static binary, INSTALL, README.md, the man page and the examples.
dist: static
	rm -rf dist/$(DIST_NAME) && mkdir -p dist/$(DIST_NAME)
	install -m 755 $(STATIC_BIN) dist/$(DIST_NAME)/app-inbox-fcgi
	install -m 644 INSTALL README.md man/app-inbox-fcgi.8 dist/$(DIST_NAME)/
	install -d dist/$(DIST_NAME)/docs && install -m 644 docs/*.md dist/$(DIST_NAME)/docs/
	$(call copy-examples,dist/$(DIST_NAME))
	install -d dist/$(DIST_NAME)/examples/signed-identity
	install -m 644 $(SIGNED_IDENTITY_EXAMPLES) dist/$(DIST_NAME)/examples/signed-identity/
	tar -C dist --owner=0 --group=0 --sort=name -czf dist/$(DIST_NAME).tar.gz $(DIST_NAME)
	@echo "dist/$(DIST_NAME).tar.gz"

# dist/app-inbox-fcgi_<version>-1_<arch>.deb for Debian 12 and Ubuntu (README "Deploy"): the
# static binary in /usr/sbin, the socket-activated units, /etc/app-inbox-fcgi; see scripts/build-deb.
deb: static
	scripts/build-deb

# make install [PREFIX=/usr/local] [DESTDIR=]: the static binary, the man page, the systemd units
# and the example configs, with paths rewritten for PREFIX. Never touches /etc.
PREFIX ?= /usr/local
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
DOCDIR := $(PREFIX)/share/doc/app-inbox-fcgi
UNITDIR := $(PREFIX)/lib/systemd/system
REPREFIX := sed -e 's|/usr/local/bin/app-inbox-fcgi|$(BINDIR)/app-inbox-fcgi|g' \
	-e 's|/usr/local/share/doc/app\\-inbox\\-fcgi|$(subst -,\\-,$(DOCDIR))|g'

install: static
	install -D -m 755 $(STATIC_BIN) $(DESTDIR)$(BINDIR)/app-inbox-fcgi
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	$(REPREFIX) man/app-inbox-fcgi.8 > $(DESTDIR)$(MANDIR)/man8/app-inbox-fcgi.8
	$(REPREFIX) systemd/app-inbox-fcgi.service > $(DESTDIR)$(UNITDIR)/app-inbox-fcgi.service
	$(REPREFIX) systemd/app-inbox-fcgi.socket > $(DESTDIR)$(UNITDIR)/app-inbox-fcgi.socket
	chmod 644 $(DESTDIR)$(MANDIR)/man8/app-inbox-fcgi.8 $(DESTDIR)$(UNITDIR)/app-inbox-fcgi.*
	$(call copy-examples,$(DESTDIR)$(DOCDIR)/examples)
	install -d $(DESTDIR)$(DOCDIR)/examples/signed-identity
	install -m 644 $(SIGNED_IDENTITY_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/signed-identity/
	install -m 644 docs/*.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf .build .build-dist .build-fuzz .build-asan .build-tsan .build-deb dist .demo
