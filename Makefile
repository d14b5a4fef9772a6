# The two commands of the README. Both create .venv with a Python >= 3.12 found on this machine.
PYTHON ?= $(shell for p in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.12*/bin/python3.12; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# Every dependency pinned, with hashes that pip checks: `run` and the image install
# requirements.lock, `test` (and so CI) requirements-test.lock, which adds the test extra at the
# same versions. `make lock` writes both again after pyproject.toml changes.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.12 \
	--generate-hashes --quiet --custom-compile-command "make lock" $(LOCK_ARGS)

# Where `make run` serves: `make run PORT=8100`, `make run HOST=0.0.0.0` (every interface).
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite's processes (pytest-xdist): most tests wait on servers, brokers, browsers and child
# processes rather than compute, so a second process pays even on a busy machine (`make test TEST_PROCESSES=1`
# runs it in one). Each process has its own test databases (tests/services.py).
TEST_PROCESSES ?= 2

.PHONY: run test lint venv lock

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "csvhub needs Python 3.12 or newer (Django 6); set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

## Install csvhub and start it on the embedded default (SQLite, local files, in-process jobs).
run: venv
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@# A lock that no longer matches pyproject.toml's requirements shows here, not at run time.
	$(BIN)/pip check
	$(BIN)/csvhub serve --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8000)

## Install the test dependencies and run the whole suite.
test: venv
	$(BIN)/pip install --quiet -r $(TEST_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@# Browser tests drive Debian's chromium (never a downloaded browser build).
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not found: tests/web/test_web_e2e.py will skip (fail under CI)"
	@# The single sign-on tests run a real OpenID provider (npm's oidc-provider, pinned by
	@# tests/oidc/package-lock.json) on the machine's Node.js.
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/oidc --no-audit --no-fund --silent; else echo "npm not found: tests/sso will skip (fail under CI)"; fi
	$(BIN)/ruff check .
	@# Types checked with the settings in pyproject.toml ([tool.mypy]); cached in .mypy_cache.
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadscope $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

## Pin the dependencies of pyproject.toml for Python >= 3.12 on every platform (LOCK_ARGS=--upgrade
## moves every pin to the newest allowed release). The runtime lock takes its versions from the test lock.
lock: venv
	$(BIN)/pip install --quiet uv
	$(UV_COMPILE) --extra test -o $(TEST_LOCK)
	$(UV_COMPILE) -c $(TEST_LOCK) -o $(LOCK)
