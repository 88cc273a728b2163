# negsim: `make run` and `make test` work on a fresh machine with only python3 and make.
# Mesa 3.5 needs Python >= 3.12; this machine's default python3 may be older, so we look
# for one. Override with `make PYTHON=/path/to/python3.12`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
CANDIDATES := python3.13 python3.12 python3 \
	$(sort $(wildcard $(PYENV_ROOT)/versions/3.1[2-9]*/bin/python3)) \
	$(wildcard /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9])
PYTHON ?= $(shell for c in $(CANDIDATES); do \
	  "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 \
	  && { command -v "$$c" 2>/dev/null || echo "$$c"; } && break; done)

.PHONY: run test install install-dev lint browser bench dashboard clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "negsim needs Python 3.12 or newer and none was found: install python3.12 (or set PYTHON=/path/to/python3.12)."; \
	  exit 1; fi
	"$(PYTHON)" -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/negsim run baseline

test: install-dev lint browser
	$(BIN)/python -m pytest

# The browser test (tests/test_browser.py) drives Debian's chromium; never `playwright install`
# (it downloads a browser). Installs chromium with apt-get when missing and we are root;
# otherwise says so in one line and goes on (the test then skips, or fails when CI=true).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium missing and cannot install it (needs root and apt-get): the browser test will skip (or fail if CI=true)."; \
	elif { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -qq chromium; } >/dev/null 2>&1; then \
	  echo "Installed chromium ($(CHROMIUM)) for the browser test."; \
	else echo "apt-get could not install chromium: the browser test will skip (or fail if CI=true)."; fi

lint: install-dev
	$(BIN)/ruff check .

dashboard: install
	$(BIN)/negsim dashboard

bench: install
	$(BIN)/python benchmarks/bench_run.py

clean:
	rm -rf $(VENV) build *.egg-info
