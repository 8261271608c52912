# app-inbox-fcgi — `make run` starts the demo, `make test` runs every test.
SWIFT ?= swift
BIN := .build/release

.PHONY: all deps build test unit integration run clean

all: build

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build -c release

# Unit tests (Swift Testing) and the integration suite (pytest) through a real nginx.
test:
	@scripts/install-deps --test
	$(SWIFT) build -c release
	$(SWIFT) test
	APP_INBOX_BIN_DIR=$(BIN) python3 -m pytest -q Tests/integration

unit:
	$(SWIFT) test

integration:
	$(SWIFT) build -c release
	APP_INBOX_BIN_DIR=$(BIN) python3 -m pytest -q Tests/integration

# nginx on 127.0.0.1:8080 in front of app-inbox-fcgi and the eSputnik sandbox; Ctrl-C stops all.
run: build
	@scripts/demo

clean:
	rm -rf .build .demo
