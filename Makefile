# Campus Twin — the two commands a new user needs: `make run` and `make test`.
# Both install what is missing (Debian packages, venv, npm packages), idempotently, as root or with sudo.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TWIN := $(BIN)/twin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := postgresql-15 postgresql-15-postgis-3 mosquitto gdal-bin chromium python3-venv fonts-noto-cjk wrk libpango-1.0-0 libpangoft2-1.0-0
PYTEST_ARGS ?=

.PHONY: setup run test bench lint fuzz audit services-up services-down clean-var

setup: .setup/apt $(VENV)/.installed static/node_modules/.installed tools/node_modules/.installed

# Debian packages: only what is missing, so a second run does nothing.
.setup/apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p .setup && touch $@

$(VENV)/.installed: pyproject.toml requirements.lock | .setup/apt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

static/node_modules/.installed: static/package.json static/package-lock.json | .setup/apt
	cd static && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# Test-only npm tools (glTF-Validator, CesiumJS, deck.gl for the 3D scene tests); never served to users.
tools/node_modules/.installed: tools/package.json tools/package-lock.json | .setup/apt
	cd tools && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

services-up: setup
	$(TWIN) services up

services-down:
	$(TWIN) services down

run: setup
	$(TWIN) services up
	$(TWIN) db upgrade
	$(TWIN) sample build
	$(TWIN) serve

test: setup
	$(BIN)/ruff check twin tests bench
	$(BIN)/mypy twin
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench

# schemathesis over every operation of the OpenAPI document as every role: ≥ 10,000 generated cases
# (FUZZ_EXAMPLES per operation, role and mode); the test run does a bounded one (TWIN_FUZZ_EXAMPLES=1).
# FUZZ_SHARDS processes share the operations; each keeps its running tally in var/fuzz/shard-<i>.json.
FUZZ_EXAMPLES ?= 12
FUZZ_SHARDS ?= 3
fuzz: setup
	@mkdir -p var/fuzz
	@pids=; for i in $$(seq 0 $$(($(FUZZ_SHARDS) - 1))); do \
	  TWIN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TWIN_FUZZ_SHARD=$$i/$(FUZZ_SHARDS) TWIN_FUZZ_PROGRESS=var/fuzz/shard-$$i.json \
	    $(BIN)/python -m pytest tests/reliability/test_fuzz.py -q -s -p no:cacheprovider > var/fuzz/shard-$$i.log 2>&1 & pids="$$pids $$!"; \
	done; status=0; for p in $$pids; do wait $$p || status=1; done; \
	$(BIN)/python -c "import json,glob; t=[json.load(open(f)) for f in sorted(glob.glob('var/fuzz/shard-*.json'))]; \
	print(sum(x['cases'] for x in t), 'cases;', 'failures:', [f for x in t for f in x['failures']] or 'none')"; \
	exit $$status

# Known vulnerabilities of the locked Python packages and of the two npm trees (docs/security.md).
audit: setup
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --progress-spinner off
	cd static && npm audit --omit=dev
	cd tools && npm audit

lint: setup
	$(BIN)/ruff check twin tests bench
	$(BIN)/mypy twin
